//! Entity tags and conditional requests (RFC 9110 section 13), for labs
//! whose resources have versions: `ETag` on reads, `If-None-Match` for
//! revalidation, `If-Match` to refuse writes based on a stale read.

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};

/// A strong entity tag for a representation: the first 8 bytes of its
/// SHA-256, quoted. Any change to the bytes changes the tag.
pub(crate) fn etag_of(representation: &[u8]) -> String {
    let digest = Sha256::digest(representation);
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether `If-None-Match` names `current` (or `*`): the client's copy is
/// current and a `304 Not Modified` will do. Weak comparison, as for GET.
pub(crate) fn none_match_hits(request: &HeaderMap, current: &str) -> bool {
    header_tags(request, header::IF_NONE_MATCH)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == current)
}

/// What `If-Match` says about a write to a resource whose tag is `current`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Precondition {
    /// The request has no `If-Match`: a blind write.
    Missing,
    /// It names the current version (or `*`): go ahead.
    Matches,
    /// It names only other versions: someone wrote in between.
    Stale,
}

/// Judges `If-Match` against the current tag. Strong comparison, as the
/// RFC requires for `If-Match`: a weak tag (`W/"…"`) never matches.
pub(crate) fn if_match(request: &HeaderMap, current: &str) -> Precondition {
    let mut tags = header_tags(request, header::IF_MATCH).peekable();
    if tags.peek().is_none() {
        return Precondition::Missing;
    }
    if tags.any(|tag| tag == "*" || tag == current) {
        Precondition::Matches
    } else {
        Precondition::Stale
    }
}

/// The tags in every instance of a list-valued header.
fn header_tags(request: &HeaderMap, name: header::HeaderName) -> impl Iterator<Item = &str> + '_ {
    request
        .get_all(name)
        .into_iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn tags_change_with_the_bytes() {
        assert_eq!(etag_of(b"a"), etag_of(b"a"));
        assert_ne!(etag_of(b"a"), etag_of(b"b"));
        assert!(etag_of(b"a").starts_with('"') && etag_of(b"a").len() == 18);
    }

    #[test]
    fn if_match_compares_strongly_and_reads_lists_and_the_wildcard() {
        let current = "\"abc\"";
        assert_eq!(if_match(&HeaderMap::new(), current), Precondition::Missing);
        assert_eq!(
            if_match(&with(header::IF_MATCH, "\"abc\""), current),
            Precondition::Matches
        );
        assert_eq!(
            if_match(&with(header::IF_MATCH, "\"old\", \"abc\""), current),
            Precondition::Matches
        );
        assert_eq!(
            if_match(&with(header::IF_MATCH, "*"), current),
            Precondition::Matches
        );
        assert_eq!(
            if_match(&with(header::IF_MATCH, "W/\"abc\""), current),
            Precondition::Stale
        );
        assert_eq!(
            if_match(&with(header::IF_MATCH, "\"old\""), current),
            Precondition::Stale
        );
    }

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(none_match_hits(
            &with(header::IF_NONE_MATCH, "W/\"abc\""),
            "\"abc\""
        ));
        assert!(none_match_hits(
            &with(header::IF_NONE_MATCH, "*"),
            "\"abc\""
        ));
        assert!(!none_match_hits(
            &with(header::IF_NONE_MATCH, "\"x\""),
            "\"abc\""
        ));
        assert!(!none_match_hits(&HeaderMap::new(), "\"abc\""));
    }
}
