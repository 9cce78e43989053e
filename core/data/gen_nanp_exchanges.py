#!/usr/bin/env python3
"""Regenerate nanp_exchanges.csv from libphonenumber data.

Usage (needs the PyPI package `phonenumbers` installed):

    python3 gen_nanp_exchanges.py > nanp_exchanges.csv

libphonenumber gives most NANP area codes one time zone, and overrides it for the exchanges
(1NPANXX, sometimes 1NPAN or 1NPANX) that lie across a zone line: 850's Panhandle exchanges
are Central time while the area code is Eastern. nanp_area_codes.csv holds the area-code
value; this file holds every longer prefix of phonenumbers.tzdata.TIMEZONE_DATA whose zones
differ from its area code's row there, with the data's zones in its order, joined by "|".

Diagnostics go to stderr; the CSV goes to stdout.
"""
import csv
import sys

from phonenumbers.timezone import UNKNOWN_TIMEZONE
from phonenumbers.tzdata import TIMEZONE_DATA

area_zones = {}
with open("nanp_area_codes.csv", newline="") as f:
    for row in csv.DictReader(f):
        area_zones[row["area_code"]] = row["time_zones"].split("|")

out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["prefix", "time_zones"])
kept = skipped = 0
for prefix in sorted(TIMEZONE_DATA):
    if not prefix.startswith("1") or len(prefix) <= 4:
        continue
    zones = [z for z in TIMEZONE_DATA[prefix] if z != UNKNOWN_TIMEZONE]
    area = area_zones.get(prefix[1:4])
    if not zones or area is None:
        skipped += 1
        continue
    if zones != area:
        out.writerow([prefix, "|".join(zones)])
        kept += 1
print(f"{kept} exchange prefixes differ from their area code; {skipped} skipped", file=sys.stderr)
