//! The gateway's front door: what an API gateway decides once for every
//! service behind it, before any replica is chosen. First the API key
//! (who is asking), then the rate limit (how often they may ask), by the
//! rate-limit lab's own algorithms. A request refused here costs the
//! replicas nothing; one let in reaches them with `X-Consumer` naming who
//! sent it, and no replica checks the key again.
//!
//! The load generator enters behind this door: it measures balancing and
//! resilience, which a rate limit in front would hide.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use model::labs::gateway::{ApiKey, GatewaySettings};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, Challenge};
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::ratelimit::{self, Limiters, Passage};
use crate::limiter::ClientAddress;

/// The request header that carries the key.
const KEY_HEADER: &str = "x-api-key";

/// A request let in: whose it is, and the rate limit's fields its answer
/// carries.
pub(super) struct Admitted {
    pub(super) consumer: Option<String>,
    passage: Option<Passage>,
}

impl Admitted {
    /// Adds what the front door says to the answer (the RateLimit fields).
    pub(super) fn stamp(self, response: &mut Response) {
        if let Some(passage) = self.passage {
            passage.stamp(response);
        }
    }
}

/// How the key check went.
#[derive(Serialize)]
struct KeyChecked {
    /// `accepted`, `missing` or `unknown`.
    outcome: &'static str,
    consumer: Option<String>,
}

impl LabEvent for KeyChecked {
    const KIND: &'static str = "gateway.auth";
    fn summary(&self) -> String {
        match (self.outcome, &self.consumer) {
            ("accepted", Some(consumer)) => format!(
                "API key accepted: consumer {consumer}; the replica is told so in X-Consumer and checks nothing"
            ),
            ("missing", _) => "no X-Api-Key: refused at the door (401), no replica asked".into(),
            _ => "X-Api-Key is not one of the gateway's keys: refused at the door (401), no replica asked".into(),
        }
    }
}

/// Lets a request in, or answers it at the door: `401` without a known
/// key when keys are required, `429` when the rate limit says so.
pub(super) async fn admit(
    limiters: &Limiters,
    settings: &GatewaySettings,
    student: &Student,
    address: &ClientAddress,
    headers: &HeaderMap,
    inspector: &Inspector,
) -> Result<Admitted, Response> {
    let consumer = if settings.require_api_key {
        Some(
            check_key(&settings.api_keys, headers, inspector)
                .map_err(IntoResponse::into_response)?,
        )
    } else {
        None
    };
    let passage = match &settings.rate_limit {
        Some(limit) => {
            Some(ratelimit::pass(limiters, student, limit, address, headers, inspector).await?)
        }
        None => None,
    };
    Ok(Admitted { consumer, passage })
}

/// The consumer whose key the request carries, traced either way.
fn check_key(
    keys: &[ApiKey],
    headers: &HeaderMap,
    inspector: &Inspector,
) -> Result<String, ApiError> {
    let Some(sent) = headers.get(KEY_HEADER) else {
        inspector.record(&KeyChecked {
            outcome: "missing",
            consumer: None,
        });
        return Err(ApiError::Unauthorized(
            "Your gateway lets in only requests with an API key: send an X-Api-Key header with one of the keys in your settings' api_keys (a new gateway knows web-shop-key-1).".into(),
            Challenge::LabApiKey,
        ));
    };
    match consumer_of(keys, sent.as_bytes()) {
        Some(consumer) => {
            inspector.record(&KeyChecked {
                outcome: "accepted",
                consumer: Some(consumer.clone()),
            });
            Ok(consumer)
        }
        None => {
            inspector.record(&KeyChecked {
                outcome: "unknown",
                consumer: None,
            });
            Err(ApiError::Unauthorized(
                "This X-Api-Key is not one of your gateway's api_keys.".into(),
                Challenge::LabApiKey,
            ))
        }
    }
}

/// The consumer of `sent`, compared by digest: how long a comparison takes
/// then says nothing about how much of a real key a guess got right.
fn consumer_of(keys: &[ApiKey], sent: &[u8]) -> Option<String> {
    let sent = Sha256::digest(sent);
    keys.iter()
        .find(|known| Sha256::digest(known.key.as_bytes()) == sent)
        .map(|known| known.consumer.clone())
}

/// Whether `keys` are ones the gateway can hold: at most [`ApiKey::MAX`],
/// well formed, no key twice.
pub(super) fn validate_keys(keys: &[ApiKey]) -> Result<(), String> {
    if keys.len() > ApiKey::MAX {
        return Err(format!(
            "api_keys may hold at most {} keys, not {}",
            ApiKey::MAX,
            keys.len()
        ));
    }
    for (index, known) in keys.iter().enumerate() {
        let consumer_ok = (1..=32).contains(&known.consumer.len())
            && known
                .consumer
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !consumer_ok {
            return Err(format!(
                "api_keys[{index}].consumer must be 1 to 32 of a-z, 0-9 and -, not {:?}",
                known.consumer
            ));
        }
        if !(8..=64).contains(&known.key.len()) || !known.key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(format!(
                "api_keys[{index}].key must be 8 to 64 printable ASCII characters without spaces"
            ));
        }
        if keys[..index].iter().any(|earlier| earlier.key == known.key) {
            return Err(format!(
                "api_keys[{index}].key is already another consumer's key"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_names_its_consumer_and_nothing_else_does() {
        let keys = ApiKey::examples();
        assert_eq!(
            consumer_of(&keys, b"web-shop-key-1").as_deref(),
            Some("web-shop")
        );
        assert_eq!(
            consumer_of(&keys, b"mobile-app-key-1").as_deref(),
            Some("mobile-app")
        );
        assert_eq!(consumer_of(&keys, b"web-shop-key-"), None);
        assert_eq!(consumer_of(&keys, b""), None);
    }

    #[test]
    fn malformed_or_repeated_keys_are_refused_with_the_field() {
        assert_eq!(validate_keys(&ApiKey::examples()), Ok(()));
        let mut keys = ApiKey::examples();
        keys[1].key = keys[0].key.clone();
        assert!(validate_keys(&keys)
            .unwrap_err()
            .starts_with("api_keys[1].key"));
        let mut keys = ApiKey::examples();
        keys[0].consumer = "Web Shop".into();
        assert!(validate_keys(&keys)
            .unwrap_err()
            .starts_with("api_keys[0].consumer"));
        let mut keys = ApiKey::examples();
        keys[0].key = "short".into();
        assert!(validate_keys(&keys)
            .unwrap_err()
            .starts_with("api_keys[0].key"));
        let six = vec![ApiKey::examples()[0].clone(); 6];
        assert!(validate_keys(&six).unwrap_err().contains("at most 5"));
    }
}
