//! `GET /labs/http/negotiate`: content negotiation. The same resource in the
//! representation the `Accept` header prefers, with `Vary: Accept` so caches
//! keep the representations apart, or `406 Not Acceptable`.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::error_response;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::DeliberateResponse;

/// Representations on offer, in the server's order of preference.
const OFFERED: [&str; 4] = [
    "application/json",
    "text/html",
    "text/plain",
    "application/xml",
];

#[derive(Serialize)]
struct Negotiated {
    accept: String,
    ranked: Vec<(String, f32)>,
    chosen: Option<&'static str>,
}

impl LabEvent for Negotiated {
    const KIND: &'static str = "http.negotiate";
    fn summary(&self) -> String {
        match self.chosen {
            Some(chosen) => format!("Accept prefers {chosen}"),
            None => "nothing offered is acceptable: 406".to_string(),
        }
    }
}

/// `GET /labs/http/negotiate`: one resource, in the representation `Accept` prefers.
#[utoipa::path(get, path = "/negotiate",
    summary = "One product, in the representation your Accept header prefers",
    description = "Content negotiation: the same product as JSON, HTML, plain text or XML, whichever `Accept` ranks highest (q-values count; ties go to that order). No `Accept` means `*/*`, so JSON. When nothing offered is acceptable the answer is 406. Every answer carries `Vary: Accept`.",
    params(("Accept" = Option<String>, Header, description = "The media ranges you accept, e.g. `text/html, application/json;q=0.5`")),
    responses(
        (status = 200, description = "The product, in the chosen representation (`; charset=utf-8`)",
            content(
                (serde_json::Value = "application/json", example = json!({"id": 7, "name": "Mechanical keyboard", "price_cents": 8900})),
                (String = "text/html"),
                (String = "text/plain"),
                (String = "application/xml"),
            ),
            headers(("Vary" = String, description = "`Accept`: caches keep the representations apart"))),
        (status = 406, description = "None of the representations on offer is acceptable", body = model::ErrorBody,
            headers(("Vary" = String, description = "`Accept`"))),
    ))]
pub(super) async fn negotiate(inspector: Inspector, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*")
        .to_string();
    let ranked = parse_accept(&accept);
    let chosen = choose(&ranked);
    inspector.record(&Negotiated {
        accept: accept.clone(),
        ranked: ranked.clone(),
        chosen,
    });
    let mut response = match chosen {
        Some(media_type) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, format!("{media_type}; charset=utf-8"))],
            represent(media_type),
        )
            .into_response(),
        None => {
            let mut response = error_response(
                StatusCode::NOT_ACCEPTABLE,
                format!(
                    "None of the representations on offer matches Accept: {accept}. Offered: {}.",
                    OFFERED.join(", ")
                ),
            );
            response.extensions_mut().insert(DeliberateResponse);
            response
        }
    };
    response
        .headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("Accept"));
    response
}

/// Media ranges with their quality, most preferred first.
fn parse_accept(accept: &str) -> Vec<(String, f32)> {
    let mut ranges: Vec<(String, f32)> = accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            if media.is_empty() {
                return None;
            }
            let q = parts
                .filter_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .next()
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            Some((media, q))
        })
        .collect();
    ranges.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranges
}

/// The offered type with the highest quality; ties go to the server's preference.
fn choose(ranked: &[(String, f32)]) -> Option<&'static str> {
    let quality = |offer: &str| -> f32 {
        let (kind, _) = offer.split_once('/').unwrap_or((offer, ""));
        ranked
            .iter()
            .filter(|(range, _)| {
                range == offer || range == "*/*" || range.strip_suffix("/*") == Some(kind)
            })
            // The most specific range decides (RFC 9110 section 12.5.1).
            .max_by_key(|(range, _)| {
                if range == offer {
                    2
                } else if range == "*/*" {
                    0
                } else {
                    1
                }
            })
            .map(|(_, q)| *q)
            .unwrap_or(0.0)
    };
    OFFERED
        .iter()
        .map(|offer| (*offer, quality(offer)))
        .filter(|(_, q)| *q > 0.0)
        .fold(None::<(&'static str, f32)>, |best, (offer, q)| match best {
            Some((_, best_q)) if best_q >= q => best,
            _ => Some((offer, q)),
        })
        .map(|(offer, _)| offer)
}

fn represent(media_type: &str) -> String {
    match media_type {
        "application/json" => r#"{"id": 7, "name": "Mechanical keyboard", "price_cents": 8900}"#.to_string(),
        "text/html" => "<!doctype html><title>Product 7</title><h1>Mechanical keyboard</h1><p>Price: 89.00</p>".to_string(),
        "application/xml" => "<product id=\"7\"><name>Mechanical keyboard</name><price_cents>8900</price_cents></product>".to_string(),
        _ => "Product 7: Mechanical keyboard, 89.00".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(accept: &str) -> Option<&'static str> {
        choose(&parse_accept(accept))
    }

    #[test]
    fn the_highest_quality_offer_wins() {
        assert_eq!(pick("text/plain;q=0.5, text/html"), Some("text/html"));
        assert_eq!(
            pick("application/xml, application/json;q=0.9"),
            Some("application/xml")
        );
    }

    #[test]
    fn wildcards_fall_back_to_the_servers_preference() {
        assert_eq!(pick("*/*"), Some("application/json"));
        assert_eq!(pick("text/*"), Some("text/html"));
    }

    #[test]
    fn a_specific_zero_quality_excludes_a_type_a_wildcard_allows() {
        assert_eq!(pick("application/json;q=0, */*;q=0.1"), Some("text/html"));
    }

    #[test]
    fn nothing_acceptable_means_no_choice() {
        assert_eq!(pick("image/png"), None);
    }
}
