//! One CSV record to one staged lead, or the reason it cannot be a lead.

use serde_json::{Map, Value};

use super::columns::{ColumnMap, Field};
use super::copy_text;
use crate::{geo, phone};

/// The staging table's columns, in the order [`stage`] writes them.
pub const STAGE_COLUMNS: &str = "line_no, phone, alt_phone, country, time_zone, state, postal_code, first_name, last_name, \
                                 email, address1, address2, city, vendor_code, source, comments, priority, custom";

/// Turns a record into a COPY row appended to `out`, or says why the line is rejected.
/// Returns the lead's number in E.164.
pub fn stage(
    out: &mut Vec<u8>,
    line: u64,
    record: &csv::ByteRecord,
    map: &ColumnMap,
    phones: &mut phone::Normalizer,
) -> Result<String, String> {
    if record.len() != map.headers.len() {
        return Err(format!(
            "has {} fields, the header has {}",
            record.len(),
            map.headers.len()
        ));
    }
    let mut text: Vec<&str> = Vec::with_capacity(record.len());
    for (i, raw) in record.iter().enumerate() {
        let value = std::str::from_utf8(raw).map_err(|e| {
            format!(
                "column '{}' is not valid UTF-8 (byte {} of the cell); save the file as UTF-8",
                map.headers[i],
                e.valid_up_to() + 1
            )
        })?;
        // PostgreSQL's text and jsonb cannot hold NUL: staged, it would fail the whole batch.
        if let Some(at) = raw.iter().position(|&b| b == 0) {
            return Err(format!(
                "column '{}' holds a NUL byte (byte {} of the cell): binary data, not text",
                map.headers[i],
                at + 1
            ));
        }
        text.push(value.trim());
    }
    let get = |field: Field| {
        map.index_of(field)
            .map(|i| text[i])
            .filter(|v| !v.is_empty())
    };

    // A number never starts with an apostrophe: one is what a report or export of ours (or a
    // spreadsheet) put before a cell starting with + so that it reads as text.
    fn unquote(raw: &str) -> &str {
        raw.strip_prefix('\'').unwrap_or(raw)
    }
    let phone_raw = get(Field::Phone)
        .map(unquote)
        .ok_or("the phone number is empty")?;
    let number = phones.normalize(phone_raw).map_err(|e| e.to_string())?;
    let alt = get(Field::AltPhone)
        .map(unquote)
        .map(|raw| phones.normalize(raw).map_err(|e| format!("alt phone: {e}")))
        .transpose()?;
    let postal = get(Field::PostalCode);
    if postal.is_some_and(|p| p.len() > 16) {
        return Err("postal code is longer than 16 characters".into());
    }
    let location = geo::locate(&number, get(Field::State), postal).map_err(|e| e.to_string())?;
    let priority = get(Field::Priority)
        .map(|p| {
            p.parse::<i16>()
                .ok()
                .filter(|p| (-100..=100).contains(p))
                .ok_or(format!(
                    "priority '{p}' is not a whole number from -100 to 100"
                ))
        })
        .transpose()?;

    let mut custom = Map::new();
    for (i, field) in map.fields.iter().enumerate() {
        if *field == Field::Custom && !text[i].is_empty() {
            custom.insert(map.headers[i].clone(), Value::String(text[i].to_string()));
        }
    }
    let custom = Value::Object(custom).to_string();
    let line = line.to_string();
    let priority = priority.unwrap_or(0).to_string();
    let zone = location.time_zone.name();
    let or_empty = |field| Some(get(field).unwrap_or(""));
    copy_text::push_row(
        out,
        [
            Some(line.as_str()),
            Some(number.number.as_str()),
            alt.as_ref().map(|a| a.number.as_str()),
            Some(number.region.as_str()),
            Some(zone),
            location.state,
            postal,
            or_empty(Field::FirstName),
            or_empty(Field::LastName),
            or_empty(Field::Email),
            or_empty(Field::Address1),
            or_empty(Field::Address2),
            or_empty(Field::City),
            or_empty(Field::VendorCode),
            or_empty(Field::Source),
            or_empty(Field::Comments),
            Some(priority.as_str()),
            Some(custom.as_str()),
        ],
    );
    Ok(number.number)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn map() -> ColumnMap {
        let headers = ["phone", "first_name", "state", "priority", "colour"]
            .map(String::from)
            .to_vec();
        ColumnMap::new(headers, &HashMap::new()).expect("maps")
    }

    /// The staged number and COPY row.
    fn run(fields: &[&str]) -> Result<(String, String), String> {
        let mut out = Vec::new();
        let record = csv::ByteRecord::from(fields.to_vec());
        let number = stage(
            &mut out,
            7,
            &record,
            &map(),
            &mut phone::Normalizer::new(phone::country("US").expect("US")),
        )?;
        Ok((number, String::from_utf8(out).expect("utf8")))
    }

    #[test]
    fn stages_a_good_row() {
        let (number, row) = run(&["(305) 555-0100", " Ana ", "", "5", "blue"]).expect("good");
        assert_eq!(number, "+13055550100");
        let cells: Vec<&str> = row.trim_end().split('\t').collect();
        assert_eq!(cells.len(), STAGE_COLUMNS.split(',').count());
        assert_eq!(
            &cells[..7],
            &[
                "7",
                "+13055550100",
                "\\N",
                "US",
                "America/New_York",
                "FL",
                "\\N"
            ]
        );
        assert_eq!(cells[7], "Ana");
        assert_eq!(cells[16], "5");
        assert_eq!(cells[17], r#"{"colour":"blue"}"#);
        // As a report of ours wrote it, for a spreadsheet.
        let (number, _) = run(&["'+1 (305) 555-0100", "Ana", "", "5", ""]).expect("quoted");
        assert_eq!(number, "+13055550100");
    }

    #[test]
    fn says_why_a_row_is_refused() {
        assert_eq!(
            run(&["", "Ana", "", "", ""]),
            Err("the phone number is empty".into())
        );
        assert!(run(&["123", "Ana", "", "", ""])
            .expect_err("bad")
            .contains("'123'"));
        assert!(run(&["3055550100", "Ana", "", "high", ""])
            .expect_err("bad")
            .contains("priority 'high'"));
        assert!(run(&["3055550100", "Ana"])
            .expect_err("short")
            .contains("has 2 fields, the header has 5"));
        let mut out = Vec::new();
        let latin1 = csv::ByteRecord::from(vec![&b"3055550100"[..], b"Jos\xe9", b"", b"", b""]);
        let err = stage(
            &mut out,
            3,
            &latin1,
            &map(),
            &mut phone::Normalizer::new(phone::country("US").expect("US")),
        )
        .expect_err("latin1");
        assert!(err.contains("'first_name' is not valid UTF-8"), "{err}");
        assert!(out.is_empty(), "a refused row writes nothing");
    }
}
