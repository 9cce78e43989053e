"""Writes calling_code_time_zones.csv: E.164 prefix (country code and leading national digits,
outside the NANP) -> IANA time zones, from libphonenumber's data in the `phonenumbers` package.

libphonenumber names a zone with the same offset for some countries rather than the country's
own: Algeria is Europe/Paris, Libya Europe/Bucharest, Morocco Atlantic/Canary, Nicaragua
America/Chicago. Their daylight-saving rules differ, so calling hours would be an hour off for
half the year. A prefix none of whose zones belongs to its country (by name, or through a
link: tzdata.zi's `L` lines) gets the country's own zone from tzdata's zone.tab when the
country has only one; one with several is left as it is. Both are reported on stderr. The
tzdata used is the system's (/usr/share/zoneinfo; 2025b when this was generated).

Run: python3 gen_calling_code_time_zones.py > calling_code_time_zones.csv
"""
import csv
import sys

import phonenumbers
from phonenumbers.timezone import UNKNOWN_TIMEZONE
from phonenumbers.tzdata import TIMEZONE_DATA

ZONEINFO = "/usr/share/zoneinfo"

# ISO region -> its zones, in zone.tab's order.
region_zones = {}
with open(f"{ZONEINFO}/zone.tab") as f:
    for line in f:
        if line.startswith("#") or not line.strip():
            continue
        fields = line.rstrip("\n").split("\t")
        region_zones.setdefault(fields[0], []).append(fields[2])


# Link name -> the zone it names.
links = {}
with open(f"{ZONEINFO}/tzdata.zi") as f:
    for line in f:
        if line.startswith("L "):
            _, target, name = line.split()
            links[name] = target


def canonical(zone):
    while zone in links:
        zone = links[zone]
    return zone


def country_code(prefix):
    for n in range(1, 4):
        if int(prefix[:n]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return int(prefix[:n])
    return None


out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["prefix", "time_zones"])
for prefix in sorted(TIMEZONE_DATA):
    if prefix.startswith("1"):
        continue  # NANP: nanp_area_codes.csv and nanp_exchanges.csv
    zones = [z for z in TIMEZONE_DATA[prefix] if z != UNKNOWN_TIMEZONE]
    if not zones:
        continue
    cc = country_code(prefix)
    regions = [r for r in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc, ()) if r in region_zones]
    own = {canonical(z) for r in regions for z in region_zones[r]}
    if own and not any(canonical(z) in own for z in zones):
        main = region_zones.get(phonenumbers.region_code_for_country_code(cc), [])
        if len(main) == 1:
            print(f"{prefix} ({'/'.join(regions)}): {'|'.join(zones)} -> {main[0]}", file=sys.stderr)
            zones = main
        else:
            print(f"{prefix} ({'/'.join(regions)}): {'|'.join(zones)} left: the country has several zones", file=sys.stderr)
    out.writerow([prefix, "|".join(zones)])
