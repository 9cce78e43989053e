//! Phone numbers as the dialer stores them: E.164, validated with libphonenumber's rules.

use phonenumber::country::Id as Country;
use phonenumber::Mode;

/// A valid number in E.164 form, with what the rest of the system asks of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E164 {
    /// `+` and up to 15 digits.
    pub number: String,
    /// ISO 3166 region the number belongs to (US, CA, GB...).
    pub region: String,
    pub country_code: u16,
    pub national: u64,
}

impl E164 {
    /// The NANP area code (NPA) of a +1 number.
    pub fn area_code(&self) -> Option<u16> {
        (self.country_code == 1).then_some((self.national / 10_000_000) as u16)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("no phone number")]
    Empty,
    #[error("'{0}' is not a phone number")]
    Unparsable(String),
    #[error("'{0}' is not a valid number in {1}")]
    Invalid(String, String),
    #[error("unknown country '{0}'")]
    UnknownCountry(String),
}

/// Parses a default country such as `US` for [`normalize`].
pub fn country(code: &str) -> Result<Country, PhoneError> {
    code.parse()
        .map_err(|_| PhoneError::UnknownCountry(code.to_string()))
}

/// Reads `raw` as a number of `default_country` unless it carries its own country code
/// (`+44...`, `0044...` dialed from the US as `011 44...`), and returns it in E.164.
pub fn normalize(raw: &str, default_country: Country) -> Result<E164, PhoneError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    let parsed = phonenumber::parse(Some(default_country), trimmed)
        .map_err(|_| PhoneError::Unparsable(trimmed.to_string()))?;
    let region = parsed.country().id();
    if !phonenumber::is_valid(&parsed) {
        let place = region
            .map(|r| r.as_ref().to_string())
            .unwrap_or_else(|| format!("+{}", parsed.code().value()));
        return Err(PhoneError::Invalid(trimmed.to_string(), place));
    }
    let region = region
        .map(|r| r.as_ref().to_string())
        .unwrap_or_else(|| "ZZ".into());
    Ok(E164 {
        number: parsed.format().mode(Mode::E164).to_string(),
        region,
        country_code: parsed.code().value(),
        national: parsed.national().value(),
    })
}

/// [`normalize`] for many numbers of one default country, as an import reads them.
///
/// libphonenumber takes about 8 µs a number. In the US and Canada its validity rules depend only
/// on the area code and exchange (NPA-NXX; checked over every NPA-NXX with several line numbers),
/// so a US or Canadian number in plain form (`+1`, 10 or 11 digits, usual punctuation) is
/// checked by libphonenumber once per NPA-NXX and then read from that memo. Everything else
/// goes through libphonenumber each time. The memo holds at most 800 × 800 small entries.
pub struct Normalizer {
    default_country: Country,
    nanp_default: bool,
    /// NPA-NXX -> the region libphonenumber found, or None when it found the number invalid.
    memo: std::collections::HashMap<u32, Option<&'static str>>,
}

impl Normalizer {
    pub fn new(default_country: Country) -> Self {
        let nanp_default = matches!(default_country, Country::US | Country::CA);
        Self {
            default_country,
            nanp_default,
            memo: std::collections::HashMap::new(),
        }
    }

    pub fn normalize(&mut self, raw: &str) -> Result<E164, PhoneError> {
        let Some(national) = self.plain_nanp(raw.trim()) else {
            return normalize(raw, self.default_country);
        };
        let npa = (national / 10_000_000) as u16;
        let key = (national / 10_000) as u32;
        let region = match self.memo.get(&key) {
            Some(region) => *region,
            None => {
                let region = match crate::geo::nanp_region(npa) {
                    Some(r @ ("US" | "CA")) => normalize(raw, self.default_country)
                        .ok()
                        .filter(|n| n.region == r)
                        .map(|_| r),
                    // Elsewhere in the NANP validity can depend on the line number: no memo.
                    _ => return normalize(raw, self.default_country),
                };
                self.memo.insert(key, region);
                region
            }
        };
        match region {
            Some(region) => Ok(E164 {
                number: format!("+1{national}"),
                region: region.to_string(),
                country_code: 1,
                national,
            }),
            None => normalize(raw, self.default_country),
        }
    }

    /// The 10-digit national number of `raw` when it is a +1 number written plainly.
    fn plain_nanp(&self, raw: &str) -> Option<u64> {
        let (international, rest) = match raw.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let mut digits = 0u64;
        let mut count = 0;
        for c in rest.chars() {
            match c {
                '0'..='9' => {
                    digits = digits * 10 + u64::from(c as u8 - b'0');
                    count += 1;
                    if count > 11 {
                        return None;
                    }
                }
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return None,
            }
        }
        let national = match (international, count) {
            (true, 11) if digits / 10_000_000_000 == 1 => digits % 10_000_000_000,
            (false, 11) if self.nanp_default && digits / 10_000_000_000 == 1 => {
                digits % 10_000_000_000
            }
            (false, 10) if self.nanp_default => digits,
            _ => return None,
        };
        Some(national)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> Country {
        country("US").expect("US")
    }

    #[test]
    fn national_formats_become_e164() {
        for raw in [
            "(201) 555-0123",
            "201.555.0123",
            "1-201-555-0123",
            "+1 201 555 0123",
            " 2015550123 ",
        ] {
            let n = normalize(raw, us()).expect(raw);
            assert_eq!(n.number, "+12015550123", "{raw}");
            assert_eq!(n.area_code(), Some(201));
            assert_eq!(n.region, "US");
        }
    }

    #[test]
    fn foreign_numbers_keep_their_country() {
        let n = normalize("+44 20 7946 0958", us()).expect("uk");
        assert_eq!(n.number, "+442079460958");
        assert_eq!(n.region, "GB");
        assert_eq!(n.area_code(), None);
        let n = normalize("011 44 20 7946 0958", us()).expect("uk via 011");
        assert_eq!(n.number, "+442079460958");
    }

    #[test]
    fn the_memo_agrees_with_libphonenumber() {
        let mut fast = Normalizer::new(us());
        let mut checked = 0;
        for npa in 200..1000u64 {
            if !matches!(crate::geo::nanp_region(npa as u16), Some("US" | "CA")) {
                continue;
            }
            for nxx in (100..1000u64).step_by(7) {
                for line in ["0000", "4567", "9999"] {
                    for raw in [
                        format!("({npa}) {nxx}-{line}"),
                        format!("+1{npa}{nxx}{line}"),
                        format!("1-{npa}-{nxx}-{line}"),
                    ] {
                        assert_eq!(fast.normalize(&raw), normalize(&raw, us()), "{raw}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 300_000, "{checked}");
        let uk = country("GB").expect("GB");
        let mut from_uk = Normalizer::new(uk);
        for raw in [
            "2015550123",
            "+12015550123",
            "020 7946 0958",
            "+1 246 521 5550",
            "1-800-555-0100",
            "201555012x",
        ] {
            assert_eq!(from_uk.normalize(raw), normalize(raw, uk), "{raw}");
            assert_eq!(fast.normalize(raw), normalize(raw, us()), "{raw}");
        }
    }

    #[test]
    fn rejects_what_cannot_be_dialed() {
        assert_eq!(normalize("", us()), Err(PhoneError::Empty));
        assert!(matches!(
            normalize("hello", us()),
            Err(PhoneError::Unparsable(_))
        ));
        // Area code 123 does not exist.
        assert!(matches!(
            normalize("123-456-7890", us()),
            Err(PhoneError::Invalid(..))
        ));
        assert!(matches!(
            normalize("555-0123", us()),
            Err(PhoneError::Invalid(..))
        ));
        assert!(matches!(country("XX"), Err(PhoneError::UnknownCountry(_))));
    }
}
