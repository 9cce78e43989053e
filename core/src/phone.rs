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
        (self.country_code == 1).then(|| (self.national / 10_000_000) as u16)
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
    code.parse().map_err(|_| PhoneError::UnknownCountry(code.to_string()))
}

/// Reads `raw` as a number of `default_country` unless it carries its own country code
/// (`+44...`, `0044...` dialed from the US as `011 44...`), and returns it in E.164.
pub fn normalize(raw: &str, default_country: Country) -> Result<E164, PhoneError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    let parsed = phonenumber::parse(Some(default_country), trimmed).map_err(|_| PhoneError::Unparsable(trimmed.to_string()))?;
    let region = parsed.country().id();
    if !phonenumber::is_valid(&parsed) {
        let place = region.map(|r| r.as_ref().to_string()).unwrap_or_else(|| format!("+{}", parsed.code().value()));
        return Err(PhoneError::Invalid(trimmed.to_string(), place));
    }
    let region = region.map(|r| r.as_ref().to_string()).unwrap_or_else(|| "ZZ".into());
    Ok(E164 {
        number: parsed.format().mode(Mode::E164).to_string(),
        region,
        country_code: parsed.code().value(),
        national: parsed.national().value(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> Country {
        country("US").expect("US")
    }

    #[test]
    fn national_formats_become_e164() {
        for raw in ["(201) 555-0123", "201.555.0123", "1-201-555-0123", "+1 201 555 0123", " 2015550123 "] {
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
    fn rejects_what_cannot_be_dialed() {
        assert_eq!(normalize("", us()), Err(PhoneError::Empty));
        assert!(matches!(normalize("hello", us()), Err(PhoneError::Unparsable(_))));
        // Area code 123 does not exist.
        assert!(matches!(normalize("123-456-7890", us()), Err(PhoneError::Invalid(..))));
        assert!(matches!(normalize("555-0123", us()), Err(PhoneError::Invalid(..))));
        assert!(matches!(country("XX"), Err(PhoneError::UnknownCountry(_))));
    }
}
