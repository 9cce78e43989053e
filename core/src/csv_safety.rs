//! Cells we write into CSV files that people open in spreadsheets.
//!
//! A cell starting with `=`, `+`, `-`, `@`, tab or carriage return is run as a formula by
//! Excel, LibreOffice and Google Sheets (OWASP "CSV injection"). Such a cell gets a leading
//! apostrophe, which spreadsheets show as text. Plain numbers (`+12015550123`, `-3.5`) are left
//! alone: a spreadsheet reads them as numbers, not formulas, and phone numbers stay dialable.

use std::borrow::Cow;

/// The cell as it is safe to write.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    let Some(first) = cell.chars().next() else {
        return Cow::Borrowed(cell);
    };
    let risky = matches!(first, '=' | '+' | '-' | '@' | '\t' | '\r');
    if !risky || is_plain_number(cell) {
        return Cow::Borrowed(cell);
    }
    Cow::Owned(format!("'{cell}"))
}

fn is_plain_number(cell: &str) -> bool {
    let rest = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && rest.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::neutralize;

    #[test]
    fn formulas_become_text() {
        for cell in [
            "=1+1",
            "=HYPERLINK(\"http://x\")",
            "@SUM(A1)",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "\tx",
            "\r=1",
        ] {
            assert_eq!(neutralize(cell), format!("'{cell}"), "{cell:?}");
        }
    }

    #[test]
    fn ordinary_cells_are_untouched() {
        for cell in ["", "Smith", "+12015550123", "-3.5", "42", "a=b", "O'Brien"] {
            assert_eq!(neutralize(cell), cell, "{cell:?}");
        }
    }
}
