"""Writes calling_code_time_zones.csv: E.164 prefix (country code and leading national digits,
outside the NANP) -> IANA time zones, from libphonenumber's data in the `phonenumbers` package.

Run: python3 gen_calling_code_time_zones.py > calling_code_time_zones.csv
"""
import csv
import sys

from phonenumbers.timezone import UNKNOWN_TIMEZONE
from phonenumbers.tzdata import TIMEZONE_DATA

out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["prefix", "time_zones"])
for prefix in sorted(TIMEZONE_DATA):
    if prefix.startswith("1"):
        continue  # NANP: nanp_area_codes.csv
    zones = [z for z in TIMEZONE_DATA[prefix] if z != UNKNOWN_TIMEZONE]
    if zones:
        out.writerow([prefix, "|".join(zones)])
