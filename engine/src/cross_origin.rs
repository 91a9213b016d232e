//! Cross-site request forgery protection for every state-changing request.
//!
//! Two defences, neither of them a token:
//! 1. The session cookie is `SameSite=Lax`, so browsers do not attach it to
//!    cross-site POST, PUT or DELETE requests at all.
//! 2. The server's middleware refuses unsafe requests that a browser marks as coming
//!    from another origin: by `Sec-Fetch-Site` (sent by every current
//!    browser), else by `Origin`, else by `Referer`. That also covers what
//!    SameSite cannot: a sibling subdomain is *same-site* but not same-origin.
//!
//! Why not a synchronizer token: course pages are cached and served as
//! identical bytes to every reader, which a per-session token would break,
//! and the forms must work without JavaScript. A request with none of the
//! three headers is not from a browser page (curl, a grading script, an LMS)
//! and carries no ambient browser credentials to abuse, so it passes.
//!
//! This module is the test ([`evidence`]) and the refusal's wording; the
//! server's middleware applies it to every request, and a lab applies it to
//! the routes it guards itself (`OWN_FORGERY_CHECK_ROUTES` in the lab
//! contract), so a demo can switch its own guard off without touching the
//! rest of the workbench.

use axum::http::{header, HeaderMap, Method};

/// Methods that must not change state, so any origin may send them.
pub fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// What a refused request is told, given the [`evidence`] against it.
pub fn refusal(evidence: &str) -> String {
    format!(
        "Cross-origin request refused: {evidence}. State-changing requests must come from this site's own pages."
    )
}

/// Why the request looks cross-origin, or `None` when it does not.
pub fn evidence(headers: &HeaderMap) -> Option<String> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return match site {
            // `none`: the user typed the address or used a bookmark.
            "same-origin" | "none" => None,
            other => Some(format!("Sec-Fetch-Site is `{other}`")),
        };
    }
    let host = text(header::HOST.as_str()).unwrap_or_default();
    if let Some(origin) = text(header::ORIGIN.as_str()) {
        return (!same_host(origin, host)).then(|| format!("Origin `{origin}` is not `{host}`"));
    }
    if let Some(referer) = text(header::REFERER.as_str()) {
        return (!same_host(referer, host))
            .then(|| format!("Referer `{referer}` is not on `{host}`"));
    }
    None
}

/// Whether the URL or origin `url` names the host (and port) in `host`.
fn same_host(url: &str, host: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        // `Origin: null` (sandboxed frames, file pages) is never us.
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let default_port = match scheme {
        "https" => ":443",
        _ => ":80",
    };
    let strip = |a: &str| {
        a.strip_suffix(default_port)
            .unwrap_or(a)
            .to_ascii_lowercase()
    };
    !host.is_empty() && strip(authority) == strip(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(header::HOST, "workbench.test:3000".parse().unwrap());
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert_eq!(
            evidence(&headers(&[("sec-fetch-site", "same-origin")])),
            None
        );
        assert_eq!(evidence(&headers(&[("sec-fetch-site", "none")])), None);
        assert!(evidence(&headers(&[("sec-fetch-site", "cross-site")])).is_some());
        assert!(evidence(&headers(&[("sec-fetch-site", "same-site")])).is_some());
    }

    #[test]
    fn origin_must_match_the_host() {
        let origin = |o| evidence(&headers(&[("origin", o)]));
        assert_eq!(origin("http://workbench.test:3000"), None);
        assert!(origin("http://evil.example").is_some());
        assert!(origin("http://workbench.test:4000").is_some());
        assert!(origin("null").is_some());
    }

    #[test]
    fn referer_is_the_fallback_and_no_headers_means_no_browser() {
        let referer = |r| evidence(&headers(&[("referer", r)]));
        assert_eq!(referer("http://workbench.test:3000/signin?x=1"), None);
        assert!(referer("http://evil.example/page").is_some());
        assert_eq!(evidence(&headers(&[])), None);
    }

    #[test]
    fn default_ports_are_equivalent() {
        assert!(same_host("https://example.com", "example.com:443"));
        assert!(same_host("http://example.com", "example.com"));
        assert!(!same_host("https://example.com", "example.com:80"));
    }
}
