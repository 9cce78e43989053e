//! Where a callee is: their IANA time zone and, in North America, their state or province.
//!
//! Calling hours are the callee's local hours, so every lead gets a zone at import. The tables
//! in `core/data/` (sources and regeneration in its README) come from libphonenumber (area code
//! and calling-code prefixes to zones) and the USPS ZIP prefix allocation.
//!
//! For a +1 number the most specific location wins: a postal code's state, else the state
//! column, else the area code's. The number's own zone (its exchange's where libphonenumber
//! knows one, else its area code's) is used when the area code belongs to that state (it is
//! finer than a state: 915 in Texas is Mountain time, 850-200 in Florida Central); otherwise
//! the state's main zone. Elsewhere the longest known prefix of the number gives the zone.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono_tz::Tz;

use crate::phone::E164;

const AREA_CODES: &str = include_str!("../data/nanp_area_codes.csv");
const EXCHANGES: &str = include_str!("../data/nanp_exchanges.csv");
const STATES: &str = include_str!("../data/us_states.csv");
const ZIP3: &str = include_str!("../data/us_zip3.csv");
const PREFIXES: &str = include_str!("../data/calling_code_time_zones.csv");

/// The callee's zone and (for NANP numbers) state or province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub time_zone: Tz,
    pub state: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeoError {
    #[error("no time zone is known for {0}")]
    UnknownZone(String),
}

struct AreaCode {
    /// ISO region: US, CA, or a Caribbean member of the NANP.
    region: &'static str,
    state: Option<&'static str>,
    /// Every zone the area code spans, in the data's (alphabetical) order.
    zones: Vec<Tz>,
}

struct Tables {
    area_codes: HashMap<u16, AreaCode>,
    /// NANP prefixes longer than the area code (`1NPANXX` mostly) whose zones differ from it.
    exchanges: HashMap<&'static str, Vec<Tz>>,
    /// State code -> main zone.
    state_zones: HashMap<&'static str, Tz>,
    /// Lower-cased state name -> code, so "New Jersey" reads as NJ.
    state_names: HashMap<String, &'static str>,
    /// (first, last, state) over ZIP prefixes, sorted.
    zip3: Vec<(u16, u16, &'static str)>,
    prefixes: HashMap<&'static str, Tz>,
}

/// Rows of a shipped table, header skipped. The tables are part of the binary and checked by
/// tests, so a malformed row is a build defect, not input.
fn rows(table: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    table
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
}

/// The zones of a `|`-separated list that this build of chrono-tz knows.
fn zones(list: &str) -> Vec<Tz> {
    list.split('|').filter_map(|z| z.parse().ok()).collect()
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let area_codes = rows(AREA_CODES)
        .filter_map(|r| {
            let code = r.first()?.parse().ok()?;
            let state = r.get(2).filter(|s| !s.is_empty()).copied();
            let zones = zones(r.get(3)?);
            (!zones.is_empty()).then_some((
                code,
                AreaCode {
                    region: r.get(1)?,
                    state,
                    zones,
                },
            ))
        })
        .collect();
    let exchanges = rows(EXCHANGES)
        .filter_map(|r| {
            let zones = zones(r.get(1)?);
            (!zones.is_empty()).then_some((*r.first()?, zones))
        })
        .collect();
    let mut state_zones = HashMap::new();
    let mut state_names = HashMap::new();
    for r in rows(STATES) {
        if let (Some(code), Some(name), Some(zone)) =
            (r.first(), r.get(1), r.get(3).and_then(|z| z.parse().ok()))
        {
            state_zones.insert(*code, zone);
            state_names.insert(name.to_lowercase(), *code);
        }
    }
    let zip3 = rows(ZIP3)
        .filter_map(|r| {
            Some((
                r.first()?.parse().ok()?,
                r.get(1)?.parse().ok()?,
                *r.get(2)?,
            ))
        })
        .collect();
    // A prefix spanning several zones (+44: Guernsey, Isle of Man, Jersey, London) gets the
    // zone most used across the whole table, which is the country's main one (London).
    let mut uses: HashMap<Tz, usize> = HashMap::new();
    for r in rows(PREFIXES) {
        for zone in r.get(1).map(|z| zones(z)).unwrap_or_default() {
            *uses.entry(zone).or_default() += 1;
        }
    }
    let prefixes = rows(PREFIXES)
        .filter_map(|r| {
            let candidates = zones(r.get(1)?);
            let best = candidates
                .iter()
                .copied()
                .rev()
                .max_by_key(|z| uses.get(z).copied().unwrap_or(0))?;
            Some((*r.first()?, best))
        })
        .collect();
    Tables {
        area_codes,
        exchanges,
        state_zones,
        state_names,
        zip3,
        prefixes,
    }
});

/// The region of a geographic NANP area code (US, CA, JM...), None for codes not in service
/// or not geographic (toll-free, 5XX, 900).
pub fn nanp_region(area_code: u16) -> Option<&'static str> {
    TABLES.area_codes.get(&area_code).map(|a| a.region)
}

/// A state or province as a two-letter code, from a code or a full name; None when unknown.
pub fn state_code(raw: &str) -> Option<&'static str> {
    let raw = raw.trim();
    let tables = &*TABLES;
    if raw.len() == 2 {
        let upper = raw.to_ascii_uppercase();
        return tables
            .state_zones
            .get_key_value(upper.as_str())
            .map(|(k, _)| *k);
    }
    tables.state_names.get(&raw.to_lowercase()).copied()
}

/// The state or province a postal code belongs to: a US ZIP (5 or 9 digits) or a Canadian
/// postal code (its first letter names the province).
pub fn postal_state(postal: &str) -> Option<&'static str> {
    let postal = postal.trim();
    let first = postal.chars().next()?;
    if first.is_ascii_alphabetic() {
        let province = match first.to_ascii_uppercase() {
            'A' => "NL",
            'B' => "NS",
            'C' => "PE",
            'E' => "NB",
            'G' | 'H' | 'J' => "QC",
            'K' | 'L' | 'M' | 'N' | 'P' => "ON",
            'R' => "MB",
            'S' => "SK",
            'T' => "AB",
            'V' => "BC",
            'X' => "NT",
            'Y' => "YT",
            _ => return None,
        };
        return state_code(province);
    }
    let digits: String = postal.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.len() != 5 {
        return None;
    }
    let zip3: u16 = digits[..3].parse().ok()?;
    let zips = &TABLES.zip3;
    let i = zips.partition_point(|(_, last, _)| *last < zip3);
    zips.get(i)
        .filter(|(first, _, _)| *first <= zip3)
        .map(|(_, _, state)| *state)
}

/// Locates the callee of `number`, given the lead's state and postal code when the file had them.
pub fn locate(
    number: &E164,
    state: Option<&str>,
    postal_code: Option<&str>,
) -> Result<Location, GeoError> {
    let tables = &*TABLES;
    let Some(npa) = number.area_code() else {
        let digits = &number.number[1..];
        return (1..=digits.len().min(8))
            .rev()
            .find_map(|len| tables.prefixes.get(&digits[..len]))
            .map(|zone| Location {
                time_zone: *zone,
                state: None,
            })
            .ok_or_else(|| GeoError::UnknownZone(number.number.clone()));
    };
    let area = tables.area_codes.get(&npa);
    let state = postal_code
        .and_then(postal_state)
        .or_else(|| state.and_then(state_code))
        .or_else(|| area.and_then(|a| a.state));
    let state_zone = state.and_then(|s| tables.state_zones.get(s).copied());
    // The number's own zones: its exchange's, else its area code's.
    let digits = &number.number[1..];
    let exchange = (5..=7).rev().find_map(|len| {
        digits
            .get(..len)
            .and_then(|prefix| tables.exchanges.get(prefix))
    });
    let own = exchange.or(area.map(|a| &a.zones));
    let zone = match (area, own, state_zone) {
        // The area code is in the callee's state: the number's own zone, preferring the state's
        // main zone where it spans several (907: Anchorage, not Adak).
        (Some(area), Some(own), Some(main)) if area.state == state => {
            Some(if own.contains(&main) { main } else { own[0] })
        }
        (_, _, Some(main)) => Some(main),
        (_, Some(own), None) => Some(own[0]),
        (_, None, None) => None,
    };
    zone.map(|time_zone| Location { time_zone, state })
        .ok_or_else(|| GeoError::UnknownZone(number.number.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::{country, normalize};

    fn at(raw: &str, state: Option<&str>, postal: Option<&str>) -> Location {
        let n = normalize(raw, country("US").expect("US")).expect(raw);
        locate(&n, state, postal).expect(raw)
    }

    #[test]
    fn shipped_tables_load_whole() {
        assert!(TABLES.area_codes.len() > 400, "{}", TABLES.area_codes.len());
        assert!(TABLES.state_zones.len() >= 64);
        assert!(TABLES.prefixes.len() > 1000);
        assert_eq!(TABLES.zip3.len(), rows(ZIP3).count());
        assert_eq!(
            TABLES.exchanges.len(),
            rows(EXCHANGES).count(),
            "every exchange's zones are known to chrono-tz"
        );
        assert_eq!(
            TABLES.prefixes.len(),
            rows(PREFIXES).count(),
            "every prefix's zones are known to chrono-tz"
        );
    }

    #[test]
    fn exchanges_across_a_zone_line() {
        // Pensacola, in Eastern-time 850, is Central; Tallahassee is not.
        assert_eq!(
            at("850-200-0123", None, None),
            Location {
                time_zone: chrono_tz::America::Chicago,
                state: Some("FL")
            }
        );
        assert_eq!(
            at("850-200-0123", Some("FL"), Some("32501")).time_zone,
            chrono_tz::America::Chicago
        );
        assert_eq!(
            at("850-222-0123", None, None).time_zone,
            chrono_tz::America::New_York
        );
        // Chattanooga, in Central-time 423, is Eastern.
        assert_eq!(
            at("423-209-0123", None, None).time_zone,
            chrono_tz::America::New_York
        );
        // A lead in another state still gets that state's zone.
        assert_eq!(
            at("850-200-0123", Some("CA"), None).time_zone,
            chrono_tz::America::Los_Angeles
        );
    }

    #[test]
    fn area_code_alone() {
        assert_eq!(
            at("201-555-0123", None, None),
            Location {
                time_zone: chrono_tz::America::New_York,
                state: Some("NJ")
            }
        );
        assert_eq!(
            at("312-555-0123", None, None).time_zone,
            chrono_tz::America::Chicago
        );
        assert_eq!(
            at("602-555-0123", None, None).time_zone,
            chrono_tz::America::Phoenix
        );
        assert_eq!(at("416-555-0123", None, None).state, Some("ON"));
        // Finer than the state: El Paso keeps Mountain time; Alaska's main zone among several.
        assert_eq!(
            at("915-555-0123", None, None).time_zone,
            chrono_tz::America::Denver
        );
        assert_eq!(
            at("907-555-0123", None, None).time_zone,
            chrono_tz::America::Anchorage
        );
    }

    #[test]
    fn location_columns_win_over_the_area_code() {
        // A New Jersey mobile number whose owner lives in California.
        let l = at("201-555-0123", Some("CA"), None);
        assert_eq!(
            l,
            Location {
                time_zone: chrono_tz::America::Los_Angeles,
                state: Some("CA")
            }
        );
        let l = at("201-555-0123", Some("California"), None);
        assert_eq!(l.state, Some("CA"));
        // The postal code beats the state column.
        let l = at("201-555-0123", Some("CA"), Some("33101"));
        assert_eq!(
            l,
            Location {
                time_zone: chrono_tz::America::New_York,
                state: Some("FL")
            }
        );
        // An unknown state falls back to the area code.
        assert_eq!(at("201-555-0123", Some("Atlantis"), None).state, Some("NJ"));
    }

    #[test]
    fn postal_codes() {
        assert_eq!(postal_state("10001"), Some("NY"));
        assert_eq!(postal_state("99501-1234"), Some("AK"));
        assert_eq!(postal_state("M5V 3L9"), Some("ON"));
        assert_eq!(postal_state("1234"), None);
        assert_eq!(postal_state(""), None);
    }

    #[test]
    fn other_countries_by_prefix() {
        let n = normalize("+49 30 901820", country("US").expect("US")).expect("de");
        assert_eq!(
            locate(&n, None, None).expect("de").time_zone,
            chrono_tz::Europe::Berlin
        );
        let n = normalize("+61 2 9374 4000", country("US").expect("US")).expect("au");
        assert_eq!(
            locate(&n, None, None).expect("au").time_zone,
            chrono_tz::Australia::Sydney
        );
        let n = normalize("+44 20 7946 0958", country("US").expect("US")).expect("gb");
        assert_eq!(
            locate(&n, None, None).expect("gb").time_zone,
            chrono_tz::Europe::London
        );
        // The country's own zone, not libphonenumber's neighbour of the same offset whose
        // daylight saving differs (Algeria: Europe/Paris; Nicaragua: America/Chicago).
        let n = normalize("+213 21 73 12 34", country("US").expect("US")).expect("dz");
        assert_eq!(
            locate(&n, None, None).expect("dz").time_zone,
            chrono_tz::Africa::Algiers
        );
        let n = normalize("+505 2222 1234", country("US").expect("US")).expect("ni");
        assert_eq!(
            locate(&n, None, None).expect("ni").time_zone,
            chrono_tz::America::Managua
        );
        let n = normalize("+353 22 12345", country("US").expect("US")).expect("ie");
        assert_eq!(
            locate(&n, None, None).expect("ie").time_zone,
            chrono_tz::Europe::Dublin
        );
    }
}
