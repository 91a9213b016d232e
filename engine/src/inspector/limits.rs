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

use model::{TraceEventView, TraceView};

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
/// The most one trace can hold, as [`approximate_size`] counts it.
pub const MAX_TRACE_BYTES: usize = MAX_PATH_BYTES
    + MAX_HEADERS_BYTES
    + MAX_BODY_BYTES
    + MAX_EVENTS_BYTES
    + 2 * MAX_FIELD_BYTES
    + 1024;

/// Bookkeeping each event and header costs besides its text (vectors, lengths).
const PER_ITEM_OVERHEAD: usize = 48;

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

/// Request headers as a trace keeps them: values cut, and once the headers
/// budget is spent, one line saying how many more there were.
pub fn kept_headers(headers: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut kept = Vec::new();
    let (mut bytes, mut left_out) = (0, 0);
    for (name, value) in headers {
        let value = cut_owned(value, MAX_HEADER_VALUE_BYTES);
        let size = name.len() + value.len();
        if left_out > 0 || bytes + size > MAX_HEADERS_BYTES || name.len() > MAX_HEADER_VALUE_BYTES {
            left_out += 1;
            continue;
        }
        bytes += size;
        kept.push((name, value));
    }
    if left_out > 0 {
        kept.push((
            "…".to_string(),
            format!(
                "{left_out} more headers not kept (a trace keeps {} KiB of headers)",
                MAX_HEADERS_BYTES / 1024
            ),
        ));
    }
    kept
}

/// An event with its summary and field values cut to size.
pub fn bounded_event(mut event: TraceEventView) -> TraceEventView {
    event.summary = cut_owned(std::mem::take(&mut event.summary), MAX_FIELD_BYTES);
    for (name, value) in &mut event.fields {
        let mut end = name.len().min(64);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
        if value.len() > MAX_FIELD_BYTES {
            *value = cut(value, MAX_FIELD_BYTES);
        }
    }
    event
}

/// What an event costs the trace's events budget.
pub fn event_size(event: &TraceEventView) -> usize {
    PER_ITEM_OVERHEAD
        + event.kind.len()
        + event.summary.len()
        + event
            .fields
            .iter()
            .map(|(n, v)| PER_ITEM_OVERHEAD + n.len() + v.len())
            .sum::<usize>()
}

/// Roughly what a trace occupies in memory.
pub fn approximate_size(trace: &TraceView) -> usize {
    std::mem::size_of::<TraceView>()
        + trace.trace_id.len()
        + trace.method.len()
        + trace.path.len()
        + trace.request_body.len()
        + trace
            .request_headers
            .iter()
            .map(|(n, v)| PER_ITEM_OVERHEAD + n.len() + v.len())
            .sum::<usize>()
        + trace.events.iter().map(event_size).sum::<usize>()
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
        let padded = (0..100).map(|i| (format!("x-pad-{i}"), "a".repeat(50_000)));
        let kept = kept_headers(padded);
        let bytes: usize = kept.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(bytes <= MAX_HEADERS_BYTES + 200, "{bytes}");
        assert!(kept.last().unwrap().1.contains("more headers not kept"));
        assert!(kept[0].1.contains("[cut: "));
    }

    #[test]
    fn event_fields_and_summaries_are_cut() {
        let event = bounded_event(TraceEventView {
            kind: "sql.query".into(),
            summary: "s".repeat(10_000),
            fields: vec![("statement".into(), "q".repeat(100_000))],
            ..TraceEventView::default()
        });
        assert!(event.summary.len() < MAX_FIELD_BYTES + 40);
        assert!(event.fields[0].1.len() < MAX_FIELD_BYTES + 40);
        assert!(event_size(&event) < 2 * MAX_FIELD_BYTES + 300);
    }
}
