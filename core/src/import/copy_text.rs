//! Rows in PostgreSQL's COPY text format: tab-separated, `\N` for NULL, and backslash escapes
//! for the four characters that would otherwise end a field or a row.

/// Appends one row's fields; `None` is NULL.
pub fn push_row<'a>(out: &mut Vec<u8>, fields: impl IntoIterator<Item = Option<&'a str>>) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match field {
            None => out.extend_from_slice(b"\\N"),
            Some(text) => push_escaped(out, text),
        }
    }
    out.push(b'\n');
}

fn push_escaped(out: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::push_row;

    #[test]
    fn escapes_what_would_split_a_row() {
        let mut out = Vec::new();
        push_row(&mut out, [Some("a\tb"), None, Some("c\\d\r\ne"), Some("")]);
        assert_eq!(out, b"a\\tb\t\\N\tc\\\\d\\r\\ne\t\n");
    }
}
