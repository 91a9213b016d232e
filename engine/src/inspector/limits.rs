//! What one trace may hold, in bytes: a student chooses their requests'
//! headers, bodies and SQL, and every trace is kept in memory (and, for
//! `http` exercises, graded and stored), so each part is cut to a size a
//! person would read and the whole trace has a ceiling.
//!
//! | part | kept |
//! |---|---|
//! | path and query | [`MAX_PATH_BYTES`] |
//! | one header value | [`MAX_HEADER_VALUE_BYTES`] |
//! | all headers | [`MAX_HEADERS_BYTES`], then a note of how many were left out |
//! | body | [`MAX_BODY_BYTES`] |
//! | one event field, one summary | [`MAX_FIELD_BYTES`] |
//! | all events | [`MAX_EVENTS_BYTES`] (and at most 256 events), then a note |
//!
//! So a trace holds at most about [`MAX_TRACE_BYTES`].

use std::borrow::Cow;
use std::fmt::Write as _;

/// Path and query kept.
pub const MAX_PATH_BYTES: usize = 2 * 1024;
/// One header value kept.
pub const MAX_HEADER_VALUE_BYTES: usize = 1024;
/// All request headers kept (names and values).
pub const MAX_HEADERS_BYTES: usize = 8 * 1024;
/// Request body kept.
pub const MAX_BODY_BYTES: usize = 4 * 1024;
/// One event field value or summary kept.
pub const MAX_FIELD_BYTES: usize = 2 * 1024;
/// All events of one trace.
pub const MAX_EVENTS_BYTES: usize = 64 * 1024;
/// The most one trace can hold, as [`super::RecordedTrace::size`] counts it.
pub const MAX_TRACE_BYTES: usize = MAX_PATH_BYTES
    + MAX_HEADERS_BYTES
    + MAX_BODY_BYTES
    + MAX_EVENTS_BYTES
    + 2 * MAX_FIELD_BYTES
    + 1024;

/// Bookkeeping each event and header costs besides its text (vectors, lengths).
pub(crate) const PER_ITEM_OVERHEAD: usize = 48;

/// `text`, cut to at most `max` bytes (on a character boundary) with a note
/// of how much was left out.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [cut: {} more bytes]", &text[..end], text.len() - end)
}

/// [`cut`] for text the caller owns: short text is kept as it is, not copied.
pub fn cut_owned(text: String, max: usize) -> String {
    if text.len() <= max {
        text
    } else {
        cut(&text, max)
    }
}

/// The longest start of `text` that fits in `max` bytes, on a character boundary.
pub fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Request headers as a trace keeps them, as `name: value` lines in one
/// string: values cut, and once the headers budget is spent, one line saying
/// how many more there were.
pub fn kept_headers<'a>(headers: impl Iterator<Item = (&'a str, Cow<'a, str>)>) -> String {
    let mut kept = String::new();
    let mut left_out = 0;
    for (name, value) in headers {
        let value = prefix_noted(&value, MAX_HEADER_VALUE_BYTES);
        let size = name.len() + value.len();
        if left_out > 0
            || kept.len() + size > MAX_HEADERS_BYTES
            || name.len() > MAX_HEADER_VALUE_BYTES
        {
            left_out += 1;
            continue;
        }
        // Pushed piece by piece: `writeln!` would go through the formatter
        // for every header of every lab request.
        kept.reserve(size + 3);
        kept.push_str(name);
        kept.push_str(": ");
        kept.push_str(&value);
        kept.push('\n');
    }
    if left_out > 0 {
        let _ = writeln!(
            kept,
            "…: {left_out} more headers not kept (a trace keeps {} KiB of headers)",
            MAX_HEADERS_BYTES / 1024
        );
    }
    kept
}

/// [`cut`] without copying text that already fits.
fn prefix_noted(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(cut(text, max))
    }
}

/// The `name: value` lines of [`kept_headers`] as pairs.
pub fn header_pairs(lines: &str) -> Vec<(String, String)> {
    lines
        .lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_a_character_boundary_with_a_note() {
        assert_eq!(cut("short", 10), "short");
        let cut_text = cut(&"é".repeat(10), 5);
        assert!(cut_text.starts_with("éé…"), "{cut_text}");
        assert!(cut_text.ends_with("[cut: 16 more bytes]"), "{cut_text}");
    }

    #[test]
    fn padded_headers_are_kept_within_the_budget() {
        let padded: Vec<_> = (0..100)
            .map(|i| (format!("x-pad-{i}"), "a".repeat(50_000)))
            .collect();
        let kept = header_pairs(&kept_headers(
            padded
                .iter()
                .map(|(n, v)| (n.as_str(), Cow::Borrowed(v.as_str()))),
        ));
        let bytes: usize = kept.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(bytes <= MAX_HEADERS_BYTES + 200, "{bytes}");
        assert!(kept.last().unwrap().1.contains("more headers not kept"));
        assert!(kept[0].1.contains("[cut: "));
    }

    #[test]
    fn kept_headers_read_back_as_they_came() {
        let lines = kept_headers(
            [
                ("accept", Cow::Borrowed("*/*")),
                ("x-empty", Cow::Borrowed("")),
            ]
            .into_iter(),
        );
        assert_eq!(
            header_pairs(&lines),
            vec![
                ("accept".to_string(), "*/*".to_string()),
                ("x-empty".to_string(), String::new())
            ]
        );
    }
}
