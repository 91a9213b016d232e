//! Content-Security-Policy for every HTML page: scripts only from this
//! origin, plus the page's own inline scripts by their SHA-256 hash.
//!
//! Hashes, not nonces: course pages are cached and served as the same bytes
//! to every reader, and a nonce repeated to everyone protects nothing. The
//! inline scripts (the theme boot script, Leptos's hydration loader) are the
//! same on every page, so their hashes are stable; the policy is computed
//! from the page itself, once per rendered page (cached pages keep it).

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};

/// Largest page the policy is computed for; larger ones pass through with
/// the strictest policy (no inline scripts at all).
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// Middleware: adds the policy to HTML responses.
pub async fn content_security_policy(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html
        || response
            .headers()
            .contains_key(header::CONTENT_SECURITY_POLICY)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let (bytes, hashes) = match to_bytes(body, MAX_PAGE_BYTES).await {
        Ok(bytes) => {
            let hashes = inline_script_hashes(&String::from_utf8_lossy(&bytes));
            (bytes, hashes)
        }
        Err(_) => (Default::default(), Vec::new()),
    };
    if let Ok(value) = HeaderValue::from_str(&policy(&hashes)) {
        parts.headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The policy allowing exactly these inline scripts.
fn policy(hashes: &[String]) -> String {
    let scripts: String = hashes.iter().map(|h| format!(" 'sha256-{h}'")).collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{scripts}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    )
}

/// Base64 SHA-256 of every inline `<script>` (one without `src`).
fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find("<script") {
        let after = &rest[open..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body_start = tag_end + 1;
        let Some(close) = after[body_start..].find("</script>") else {
            break;
        };
        let content = &after[body_start..body_start + close];
        if !tag.contains("src=") && !content.is_empty() {
            let hash = base64(&Sha256::digest(content.as_bytes()));
            if !hashes.contains(&hash) {
                hashes.push(hash);
            }
        }
        rest = &after[body_start + close..];
    }
    hashes
}

/// Standard base64 with padding, as CSP hash sources are written.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_hashed_and_external_ones_are_not() {
        let html = r#"<script>alert(1)</script><script src="/pkg/x.js"></script><script nonce="n">alert(1)</script><script type="module">go()</script>"#;
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 2, "the same script once, external ones never");
        // echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64
        assert_eq!(hashes[0], "bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=");
        let csp = policy(&hashes);
        assert!(csp.contains("'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"));
        assert!(csp.contains("object-src 'none'"));
        assert!(
            !csp.contains("unsafe-inline'; img")
                || csp.contains("style-src 'self' 'unsafe-inline'")
        );
    }

    #[test]
    fn base64_pads_like_the_standard() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }
}
