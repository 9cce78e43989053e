#!/usr/bin/env python3
"""Regenerate nanp_area_codes.csv from libphonenumber data.

Usage (needs the PyPI package `phonenumbers` installed):

    python3 gen_nanp_area_codes.py > nanp_area_codes.csv

Data used (all from the `phonenumbers` package, which ships Google
libphonenumber's metadata under the Apache License 2.0):

* phonenumbers.timezone.TIMEZONE_DATA  -- prefix -> tuple of IANA zones
* phonenumbers.geocoder.GEOCODE_DATA   -- prefix -> {lang: description}
* phonenumbers.parse / is_valid_number / region_code_for_number
  -- the ISO region of a sample valid number of each area code

Rules:

* One row per NANP area code (NPA). Area codes come from the country code 1
  prefixes of exactly 4 digits ("1NPA") in TIMEZONE_DATA; area codes that
  appear in TIMEZONE_DATA only through longer prefixes ("1NPANXX...") are
  included too (their zones are the distinct zones of those longer prefixes,
  sorted alphabetically, which is the order libphonenumber itself uses
  within an entry). Prefixes whose zone is Etc/Unknown are skipped.
* time_zones: the zones of the 4-digit prefix, in the data's order, joined
  by "|". NOTE: libphonenumber may override this per exchange with longer
  prefixes; this file only carries the area-code-level value.
* region: phonenumbers.region_code_for_number() of the first valid number
  NPA-NXX-1234 found (NXX = 200..999).
* state: for PR, VI, GU, AS, MP the region code itself; for US and CA the
  USPS / Canada Post code parsed from the English geocoder description of
  the 4-digit prefix ("New Jersey" -> NJ, "Toronto, ON" -> ON). When the
  4-digit prefix has no description, the state is the one named by at least
  90% of the longer "1NPA..." descriptions. Descriptions naming several
  provinces ("Nova Scotia/Prince Edward Island") give an empty state, as do
  all other countries.

Diagnostics go to stderr; the CSV goes to stdout.
"""
import csv
import sys
from collections import Counter

import phonenumbers
from phonenumbers.geocoder import GEOCODE_DATA
from phonenumbers.timezone import TIMEZONE_DATA, UNKNOWN_TIMEZONE

NAME_TO_CODE = {
    # US states and DC
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR",
    "California": "CA", "Colorado": "CO", "Connecticut": "CT",
    "Delaware": "DE", "District of Columbia": "DC", "Washington D.C.": "DC",
    "Washington DC": "DC", "Florida": "FL", "Georgia": "GA", "Hawaii": "HI",
    "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME",
    "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI",
    "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO",
    "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM",
    "New York": "NY", "North Carolina": "NC", "North Dakota": "ND",
    "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD",
    "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington": "WA", "Washington State": "WA",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
    # US territories
    "Puerto Rico": "PR", "US Virgin Islands": "VI",
    "U.S. Virgin Islands": "VI", "Guam": "GU", "American Samoa": "AS",
    "Northern Mariana Islands": "MP",
    # Canadian provinces and territories
    "Alberta": "AB", "British Columbia": "BC",
    "British Colombia": "BC",  # misspelling present in the geocoder data
    "Manitoba": "MB", "New Brunswick": "NB",
    "Newfoundland and Labrador": "NL", "Newfoundland": "NL",
    "Nova Scotia": "NS", "Ontario": "ON", "Prince Edward Island": "PE",
    "Quebec": "QC", "Saskatchewan": "SK", "Northwest Territories": "NT",
    "Nunavut": "NU", "Yukon": "YT",
}
US_CODES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI",
    "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN",
    "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH",
    "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "PR", "VI", "GU", "AS", "MP",
}
CA_CODES = {"AB", "BC", "MB", "NB", "NL", "NS", "ON", "PE", "QC", "SK",
            "NT", "NU", "YT"}
US_TERRITORY_REGIONS = {"PR", "VI", "GU", "AS", "MP"}


def warn(msg):
    print("warning: " + msg, file=sys.stderr)


def state_from_description(desc):
    """'New Jersey' -> 'NJ'; 'Toronto, ON' -> 'ON'; else None."""
    if not desc:
        return None
    desc = desc.strip()
    if desc in NAME_TO_CODE:
        return NAME_TO_CODE[desc]
    if ", " in desc:
        suffix = desc.rsplit(", ", 1)[1].strip()
        if suffix in US_CODES or suffix in CA_CODES:
            return suffix
        if suffix in NAME_TO_CODE:
            return NAME_TO_CODE[suffix]
    return None


def english(prefix):
    entry = GEOCODE_DATA.get(prefix)
    return entry.get("en") if entry else None


def sample_region(npa):
    for nxx in range(200, 1000):
        num = phonenumbers.parse("+1" + npa + str(nxx) + "1234")
        if phonenumbers.is_valid_number(num):
            return phonenumbers.region_code_for_number(num)
    return None


def main():
    # NPA -> zones from the 4-digit prefixes
    zones = {}
    for prefix, tzs in TIMEZONE_DATA.items():
        if len(prefix) == 4 and prefix.startswith("1"):
            if UNKNOWN_TIMEZONE in tzs:
                continue
            zones[prefix[1:]] = list(tzs)
    # NPAs present only through longer prefixes
    longer = {}
    for prefix, tzs in TIMEZONE_DATA.items():
        if len(prefix) > 4 and prefix.startswith("1"):
            npa = prefix[1:4]
            if npa in zones or UNKNOWN_TIMEZONE in tzs:
                continue
            longer.setdefault(npa, set()).update(tzs)
    for npa, tzs in longer.items():
        warn("%s has no 4-digit time zone entry; using the zones of its "
             "longer prefixes: %s" % (npa, "|".join(sorted(tzs))))
        zones[npa] = sorted(tzs)

    # longer geocoder descriptions, per NPA
    sub_states = {}
    for prefix, entry in GEOCODE_DATA.items():
        if len(prefix) > 4 and prefix.startswith("1") and "en" in entry:
            st = state_from_description(entry["en"])
            if st:
                sub_states.setdefault(prefix[1:4], Counter())[st] += 1

    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["area_code", "region", "state", "time_zones"])
    for npa in sorted(zones):
        region = sample_region(npa) or ""
        if not region:
            warn("%s: no valid sample number, region unknown" % npa)
        state = ""
        if region in US_TERRITORY_REGIONS:
            state = region
        elif region in ("US", "CA"):
            allowed = US_CODES if region == "US" else CA_CODES
            desc = english("1" + npa)
            votes = sub_states.get(npa, Counter())
            if desc:
                state = state_from_description(desc) or ""
                if not state:
                    warn("%s: description %r names no single state" %
                         (npa, desc))
                elif votes and votes.most_common(1)[0][0] != state:
                    warn("%s: description %r but longer prefixes say %s" %
                         (npa, desc, dict(votes)))
            elif votes:
                top, n = votes.most_common(1)[0]
                if n >= 0.9 * sum(votes.values()):
                    state = top
                    warn("%s: no 4-digit description; state %s from %d of "
                         "%d longer prefixes" % (npa, top, n,
                                                 sum(votes.values())))
                else:
                    warn("%s: no 4-digit description; longer prefixes "
                         "disagree: %s" % (npa, dict(votes)))
            else:
                warn("%s: no description at all" % npa)
            if state and state not in allowed:
                warn("%s: state %s does not belong to region %s" %
                     (npa, state, region))
                state = ""
        out.writerow([npa, region, state, "|".join(zones[npa])])


if __name__ == "__main__":
    main()
