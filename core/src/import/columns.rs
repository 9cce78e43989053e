//! Which lead field each CSV column fills, read from the header.

use std::collections::HashMap;

/// A lead field a column can fill; anything else goes to the lead's custom fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Phone,
    AltPhone,
    FirstName,
    LastName,
    Email,
    Address1,
    Address2,
    City,
    State,
    PostalCode,
    VendorCode,
    Source,
    Comments,
    Priority,
    /// Kept as a custom field under the column's own name.
    Custom,
    /// Dropped.
    Ignore,
}

/// Header names people use for each field, compared after [`canonical`].
const ALIASES: &[(Field, &[&str])] = &[
    (
        Field::Phone,
        &[
            "phone",
            "phone_number",
            "phonenumber",
            "number",
            "telephone",
            "tel",
            "mobile",
            "cell",
            "primary_phone",
            "phone1",
        ],
    ),
    (
        Field::AltPhone,
        &[
            "alt_phone",
            "alternate_phone",
            "alt_number",
            "phone2",
            "secondary_phone",
            "other_phone",
        ],
    ),
    (
        Field::FirstName,
        &[
            "first_name",
            "firstname",
            "first",
            "fname",
            "given_name",
            "forename",
        ],
    ),
    (
        Field::LastName,
        &[
            "last_name",
            "lastname",
            "last",
            "lname",
            "surname",
            "family_name",
        ],
    ),
    (Field::Email, &["email", "e_mail", "email_address", "mail"]),
    (
        Field::Address1,
        &[
            "address",
            "address1",
            "address_1",
            "street",
            "street_address",
            "address_line_1",
        ],
    ),
    (
        Field::Address2,
        &["address2", "address_2", "address_line_2", "apt", "suite"],
    ),
    (Field::City, &["city", "town", "locality"]),
    (
        Field::State,
        &["state", "province", "st", "state_province", "region"],
    ),
    (
        Field::PostalCode,
        &[
            "postal_code",
            "zip",
            "zipcode",
            "zip_code",
            "postcode",
            "postal",
        ],
    ),
    (
        Field::VendorCode,
        &[
            "vendor_code",
            "vendor_lead_code",
            "vendor_id",
            "external_id",
            "customer_id",
            "account",
        ],
    ),
    (Field::Source, &["source", "source_id", "lead_source"]),
    (Field::Comments, &["comments", "comment", "notes", "note"]),
    (Field::Priority, &["priority", "rank"]),
];

/// Columns of a `dialtone export` that the lead gets again on import (its id, list, status,
/// history, zone): a file exported and imported elsewhere keeps its leads' own fields and custom
/// fields, not these as custom fields. Recognised only in a file that has `lead_id`, `list_id`
/// and `last_outcome`, so another file's `status` column still becomes a custom field.
const EXPORT_SYSTEM_COLUMNS: &[&str] = &[
    "lead_id",
    "list_id",
    "status",
    "country",
    "time_zone",
    "attempt_count",
    "last_attempt_at",
    "next_attempt_at",
    "last_call_at",
    "last_outcome",
    "last_disposition",
    "last_talk_secs",
    "created_at",
];

/// The first two columns of the rejected-rows report (`line`, `error`): the mended report
/// imports as the original file would.
const REPORT_COLUMNS: [&str; 2] = ["line", "error"];

/// Lower case, with spaces, dashes and dots folded to `_`: "Phone Number" -> "phone_number".
pub fn canonical(header: &str) -> String {
    let folded: String = header
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    folded
        .split('_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// The field a header names by convention.
pub fn recognise(header: &str) -> Field {
    let name = canonical(header);
    ALIASES
        .iter()
        .find(|(_, names)| names.contains(&name.as_str()))
        .map(|(field, _)| *field)
        .unwrap_or(Field::Custom)
}

/// The field of every column, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    pub headers: Vec<String>,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("no phone column: name one of phone, phone_number, telephone, mobile... (the header has: {0})")]
    NoPhone(String),
    #[error("columns {0} and {1} both fill {2:?}; map one of them to custom or ignore")]
    Twice(String, String, Field),
    #[error("the mapping names column '{0}', which the header does not have")]
    UnknownColumn(String),
}

impl ColumnMap {
    /// Maps by header names, then applies `overrides` (header -> field) chosen by a person.
    pub fn new(
        headers: Vec<String>,
        overrides: &HashMap<String, Field>,
    ) -> Result<Self, MappingError> {
        for name in overrides.keys() {
            if !headers.iter().any(|h| h == name) {
                return Err(MappingError::UnknownColumn(name.clone()));
            }
        }
        let names: Vec<String> = headers.iter().map(|h| canonical(h)).collect();
        let exported = ["lead_id", "list_id", "last_outcome"]
            .iter()
            .all(|c| names.iter().any(|n| n == c));
        let reported = names.len() > 2 && names[..2] == REPORT_COLUMNS;
        // The export writes its own columns first and the leads' custom fields after them, so a
        // custom field named like one of them (`status`) is the later column of that name.
        let first_of_its_name = |i: usize| !names[..i].contains(&names[i]);
        let ours = |i: usize| {
            (exported && EXPORT_SYSTEM_COLUMNS.contains(&names[i].as_str()) && first_of_its_name(i))
                || (reported && i < 2)
        };
        let fields: Vec<Field> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                overrides.get(h).copied().unwrap_or_else(|| {
                    if ours(i) {
                        Field::Ignore
                    } else {
                        recognise(h)
                    }
                })
            })
            .collect();
        let mut seen: HashMap<Field, &str> = HashMap::new();
        for (header, field) in headers.iter().zip(&fields) {
            if matches!(field, Field::Custom | Field::Ignore) {
                continue;
            }
            if let Some(first) = seen.insert(*field, header) {
                return Err(MappingError::Twice(
                    first.to_string(),
                    header.clone(),
                    *field,
                ));
            }
        }
        if !seen.contains_key(&Field::Phone) {
            return Err(MappingError::NoPhone(headers.join(", ")));
        }
        Ok(Self { headers, fields })
    }

    pub fn index_of(&self, field: Field) -> Option<usize> {
        self.fields.iter().position(|f| *f == field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(headers: &[&str]) -> Result<ColumnMap, MappingError> {
        ColumnMap::new(
            headers.iter().map(|h| h.to_string()).collect(),
            &HashMap::new(),
        )
    }

    #[test]
    fn common_names_are_recognised() {
        let m = map(&[
            "Phone Number",
            "First Name",
            "SURNAME",
            "Zip",
            "favourite colour",
        ])
        .expect("maps");
        assert_eq!(
            m.fields,
            vec![
                Field::Phone,
                Field::FirstName,
                Field::LastName,
                Field::PostalCode,
                Field::Custom
            ]
        );
    }

    #[test]
    fn our_own_files_import_again_without_their_system_columns() {
        let export = map(&[
            "lead_id",
            "list_id",
            "status",
            "phone",
            "first_name",
            "time_zone",
            "last_outcome",
            "tier",
            "status",
        ])
        .expect("export");
        assert_eq!(
            export.fields,
            vec![
                Field::Ignore,
                Field::Ignore,
                Field::Ignore,
                Field::Phone,
                Field::FirstName,
                Field::Ignore,
                Field::Ignore,
                Field::Custom,
                Field::Custom
            ],
            "a custom field named status comes after the export's own"
        );
        let report = map(&["line", "error", "phone", "line"]).expect("report");
        assert_eq!(
            report.fields,
            vec![Field::Ignore, Field::Ignore, Field::Phone, Field::Custom]
        );
        // Elsewhere these names are the file's own.
        let vendor = map(&["phone", "status", "line"]).expect("vendor");
        assert_eq!(
            vendor.fields,
            vec![Field::Phone, Field::Custom, Field::Custom]
        );
    }

    #[test]
    fn a_phone_column_is_required() {
        let err = map(&["name", "email"]).expect_err("no phone");
        assert!(err.to_string().contains("name, email"), "{err}");
    }

    #[test]
    fn overrides_and_their_mistakes() {
        let headers = vec!["Tel A".to_string(), "Tel B".to_string()];
        let chosen = HashMap::from([
            ("Tel A".to_string(), Field::Phone),
            ("Tel B".to_string(), Field::AltPhone),
        ]);
        let m = ColumnMap::new(headers.clone(), &chosen).expect("maps");
        assert_eq!(m.index_of(Field::AltPhone), Some(1));
        let both = HashMap::from([
            ("Tel A".to_string(), Field::Phone),
            ("Tel B".to_string(), Field::Phone),
        ]);
        assert!(matches!(
            ColumnMap::new(headers.clone(), &both),
            Err(MappingError::Twice(..))
        ));
        let unknown = HashMap::from([("Tel C".to_string(), Field::Phone)]);
        assert!(matches!(
            ColumnMap::new(headers, &unknown),
            Err(MappingError::UnknownColumn(_))
        ));
    }
}
