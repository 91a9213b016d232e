//! Content-Security-Policy for every HTML page: scripts only from this
//! origin, plus the page's own inline scripts by their SHA-256 hash.
//!
//! Only the page's own scripts are hashed: those in its `<head>`, which is
//! the app shell's (the theme boot script, Leptos's hydration loader, dev
//! mode's reload script), rendered from constants and the build's options,
//! never from a lesson, a query or anything a student wrote; and those
//! carrying the random nonce Leptos gave this render (its resource
//! bootstrap at the end of the body), which no content written before the
//! render can know. Any other `<script>` in the body, wherever it came
//! from, is never allowed. Lab responses carry their own sandbox policy
//! (`labs::containment`), which this one never replaces.
//!
//! Hashes, not nonces: course pages are cached and served as the same bytes
//! to every reader, and a nonce repeated to everyone protects nothing. The
//! inline scripts (the theme boot script, Leptos's hydration loader) are the
//! same on every page, so their hashes are stable; the policy is computed
//! from the page itself, once per rendered page (cached pages keep it).

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};

use crate::page_html::{attribute, inline_scripts};
use crate::page_wasm::PageBundles;

/// Largest page the policy is computed for; larger ones pass through with
/// the strictest policy (no inline scripts at all).
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// Middleware: fits the page's wasm loader to its islands
/// ([`PageBundles::fit`]), then adds the policy to HTML responses.
pub(crate) async fn content_security_policy(
    State(bundles): State<Arc<PageBundles>>,
    request: Request,
    next: Next,
) -> Response {
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
            let html = String::from_utf8_lossy(&bytes);
            match bundles.fit(&html) {
                Some(fitted) => {
                    let hashes = inline_script_hashes(&fitted);
                    (fitted.into(), hashes)
                }
                None => {
                    let hashes = inline_script_hashes(&html);
                    (bytes, hashes)
                }
            }
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
    let scripts: String = hashes
        .iter()
        .map(|h| format!(" {}", hash_source(h)))
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{scripts}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    )
}

/// Base64 SHA-256 of the page's own inline scripts: every inline `<script>`
/// (one without `src`) in the `<head>`, and, anywhere in the page, those
/// carrying the nonce Leptos gave this render (its resource bootstrap at the
/// end of the body). None if there is no head.
fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let Some(head_end) = html.find("</head>") else {
        return hashes;
    };
    let render_nonce = inline_scripts(&html[..head_end]).find_map(|s| attribute(s.tag, "nonce"));
    for script in inline_scripts(html) {
        let ours = script.whole.start < head_end
            || render_nonce.is_some_and(|nonce| attribute(script.tag, "nonce") == Some(nonce));
        if ours && !script.content.is_empty() {
            let hash = base64(&Sha256::digest(script.content.as_bytes()));
            if !hashes.contains(&hash) {
                hashes.push(hash);
            }
        }
    }
    hashes
}

/// The `script-src` entry allowing one inline script whose content is
/// `script` (tests use it to ask whether a policy allows a script).
pub fn script_source(script: &str) -> String {
    hash_source(&base64(&Sha256::digest(script.as_bytes())))
}

fn hash_source(base64_digest: &str) -> String {
    format!("'sha256-{base64_digest}'")
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
        let html = r#"<html><head><script>alert(1)</script><script src="/pkg/x.js"></script><script nonce="n">alert(1)</script><script type="module">go()</script></head><body></body></html>"#;
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
    fn body_scripts_are_allowed_only_with_the_renders_nonce() {
        let injected = r#"<html><head><script>boot()</script><script type="module" nonce="r4nd0m">hydrate()</script></head><body><p>hi</p><script>steal()</script><script nonce="guess">steal()</script><script nonce="r4nd0m">__RESOURCES=[]</script></body></html>"#;
        let hashes = inline_script_hashes(injected);
        let expected: Vec<_> = ["boot()", "hydrate()", "__RESOURCES=[]"]
            .iter()
            .map(|s| base64(&Sha256::digest(s.as_bytes())))
            .collect();
        assert_eq!(
            hashes, expected,
            "the head's scripts and the render's own, never steal()"
        );
        assert!(
            inline_script_hashes("<script>steal()</script>").is_empty(),
            "a body with no head (a lab's HTML, say) allows nothing"
        );
    }

    #[test]
    fn base64_pads_like_the_standard() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }
}
