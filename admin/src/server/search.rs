//! Paging, sorting and prefix search, as every list of records in the admin does them.

use crate::model::PER_PAGE;

/// The least digit string above every string of digits that starts with `digits`: `19` → `2`;
/// none for no digits or only nines.
pub(crate) fn digits_successor(digits: &str) -> Option<String> {
    let kept = digits.trim_end_matches('9');
    let last = kept.chars().last()?;
    let raised = char::from_digit(last.to_digit(10)? + 1, 10)?;
    Some(format!("{}{raised}", &kept[..kept.len() - last.len_utf8()]))
}

/// Text to match literally inside a LIKE pattern: its backslash, `%` and `_` lose their meaning.
pub(crate) fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The least string above every string that starts with `prefix`, in code point order: the
/// prefix with its last character raised by one (a last character that cannot be raised is
/// dropped and the one before raised).
pub(crate) fn prefix_successor(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32) {
            chars.push(next);
            return chars.into_iter().collect();
        }
    }
    // Only U+10FFFF characters: nothing is above their range but the longer strings themselves.
    format!("{prefix}{}", char::MAX)
}

pub(crate) fn offset(page: u32) -> i64 {
    i64::from(page.max(1) - 1) * i64::from(PER_PAGE)
}

/// `sort` is a key of a table's sorts (`CAMPAIGN_SORTS`...), with `-` in front for descending.
pub(crate) fn order_by(sort: &str, allowed: &[(&str, &str)], default: &str) -> String {
    let (column, desc) = pick_sort(sort, allowed).unwrap_or((default, sort.starts_with('-')));
    format!("{column} {}", if desc { "DESC" } else { "ASC" })
}

/// The column a `sort` key names in `allowed` and whether it is descending; `None` for an empty
/// or unknown key (the table's default order). The column is always our own text, never the
/// user's.
pub(crate) fn pick_sort<'a>(sort: &str, allowed: &[(&str, &'a str)]) -> Option<(&'a str, bool)> {
    let (desc, key) = sort.strip_prefix('-').map_or((false, sort), |k| (true, k));
    allowed
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, c)| (*c, desc))
}

/// Orders that no index serves sort only this many matches, taken in the index's order, so a
/// click on a column header never sorts millions of rows.
pub const SORT_WINDOW: i64 = 10_000;

pub(crate) fn direction(desc: bool) -> &'static str {
    if desc {
        "DESC"
    } else {
        "ASC"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_ranges() {
        assert_eq!(digits_successor("1300").as_deref(), Some("1301"));
        assert_eq!(digits_successor("19").as_deref(), Some("2"));
        assert_eq!(digits_successor("1399").as_deref(), Some("14"));
        assert_eq!(digits_successor("99"), None);
        assert_eq!(digits_successor(""), None);
    }

    #[test]
    fn prefix_ranges() {
        assert_eq!(prefix_successor("silv"), "silw");
        assert_eq!(prefix_successor("o'b"), "o'c");
        // The surrogate gap is skipped, and a last character at the top is dropped.
        assert_eq!(prefix_successor("a\u{D7FF}"), "a\u{E000}");
        assert_eq!(prefix_successor("ab\u{10FFFF}"), "ac");
        for name in ["silva", "silvaé", "silv\u{10FFFF}x"] {
            assert!(
                name >= "silv" && name < prefix_successor("silv").as_str(),
                "{name}"
            );
        }
        assert!("silw" >= prefix_successor("silv").as_str());
    }
}
