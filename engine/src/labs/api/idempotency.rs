//! `Idempotency-Key` on `POST /labs/api/orders`, with the semantics of
//! the IETF httpapi draft and of payment APIs:
//!
//! - the first request with a key claims it (`in_flight`, with a lease);
//! - the order and the key's stored response are written in the same
//!   transaction, so either both exist or neither does;
//! - the same key with the same body again replays the stored response
//!   (`Idempotent-Replayed: true`) and creates nothing;
//! - the same key with another body is `422`: a key names one request;
//! - the same key while the first request is still running is `409`;
//! - a claim whose request failed is released, so a retry runs afresh;
//!   one whose server died is taken over once its lease has run out.
//!
//! Keys live in the student's shop (`api_idempotency_keys`) for a day.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use model::labs::api::NewOrder;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::problem::{ApiProblem, Kind};
use super::shop::{integer, query, text};
use crate::inspector::LabEvent;
use crate::labs::sql::engine::{Db, SqlError};

/// The request header.
pub(super) const HEADER: &str = "idempotency-key";
/// The response header marking a replayed answer.
pub(super) const REPLAYED: &str = "idempotent-replayed";
/// Longest key accepted.
const MAX_KEY_CHARS: usize = 255;
/// How long a claim holds while its request runs.
const LEASE_SECS: i64 = 30;
/// How long a finished key is kept.
pub(super) const KEPT_SECS: i64 = 24 * 60 * 60;

/// The key of a request, if it sent one: unquoted, as payment APIs send
/// it, or as the draft's structured-field string (`"…"`).
pub(super) fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiProblem> {
    let mut values = headers.get_all(HEADER).into_iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let refuse = |why: &str| {
        Err(ApiProblem::new(
            Kind::InvalidIdempotencyKey,
            format!("Idempotency-Key {why}."),
        ))
    };
    if values.next().is_some() {
        return refuse("is sent twice; a request has one key");
    }
    let Ok(text) = value.to_str() else {
        return refuse("must be printable ASCII");
    };
    let text = text.trim();
    let key = text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or(text);
    if key.is_empty() || key.len() > MAX_KEY_CHARS {
        return refuse(&format!("must be 1 to {MAX_KEY_CHARS} characters long"));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return refuse("must be printable ASCII without spaces, such as a UUID");
    }
    Ok(Some(key.to_string()))
}

/// What the request asks for, whatever its key: the order it would
/// create. Two requests with the same fingerprint are the same request.
pub(super) fn fingerprint(order: &NewOrder) -> String {
    let canonical = serde_json::to_vec(order).unwrap_or_default();
    Sha256::digest(&canonical)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A response kept with its key, to be replayed.
#[derive(Clone, Debug)]
pub(super) struct Stored {
    status: u16,
    location: Option<String>,
    body: String,
    order_id: Option<i64>,
}

impl Stored {
    /// A created order's `201`, as it is stored with the key.
    pub(super) fn created(order_id: i64, body: String) -> Self {
        Self {
            status: 201,
            location: Some(format!("/labs/api/orders/{order_id}")),
            body,
            order_id: Some(order_id),
        }
    }

    /// The stored answer again, marked as a replay.
    pub(super) fn replay(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let tag = crate::labs::conditional::etag_of(self.body.as_bytes());
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body,
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert(REPLAYED, HeaderValue::from_static("true"));
        if let Ok(tag) = HeaderValue::from_str(&tag) {
            headers.insert(header::ETAG, tag);
        }
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, location);
        }
        response
    }
}

/// What looking up a key decided.
#[derive(Debug)]
pub(super) enum Claim {
    /// Nobody used the key: this request has it now.
    Fresh,
    /// The key's request ran to the end: answer what it answered.
    Replay(Stored),
    /// The key was used for another request.
    Mismatch,
    /// The key's first request is still running.
    InFlight,
}

/// Looks up `key` and claims it if nobody has, in one transaction.
pub(super) fn claim(
    db: &mut Db,
    key: &str,
    fingerprint: &str,
    now: i64,
) -> Result<Claim, SqlError> {
    query(db, "BEGIN IMMEDIATE", &[])?;
    query(
        db,
        "DELETE FROM api_idempotency_keys WHERE created_at < ?",
        &[Value::from(now - KEPT_SECS)],
    )?;
    let found = query(
        db,
        "SELECT fingerprint, state, locked_until, status, location, response_body, order_id FROM api_idempotency_keys WHERE key = ?",
        &[Value::from(key)],
    )?;
    let claim = match found.rows.first() {
        None => {
            query(
                db,
                "INSERT INTO api_idempotency_keys (key, fingerprint, state, locked_until, created_at) VALUES (?, ?, 'in_flight', ?, ?)",
                &[
                    Value::from(key),
                    Value::from(fingerprint),
                    Value::from(now + LEASE_SECS),
                    Value::from(now),
                ],
            )?;
            Claim::Fresh
        }
        Some(row) if text(row, 0)? != fingerprint => Claim::Mismatch,
        Some(row) if text(row, 1)? == "done" => {
            let stored = Stored {
                status: created_status(integer(row, 3)?)?,
                location: row.get(4).and_then(|v| v.as_str()).map(str::to_string),
                body: text(row, 5)?,
                order_id: row.get(6).and_then(|v| v.as_i64()),
            };
            // What the safe-retry check reads: this key's answer was replayed.
            query(
                db,
                "INSERT INTO api_replays (key, order_id, replayed_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
                &[Value::from(key), Value::from(stored.order_id), Value::from(now)],
            )?;
            Claim::Replay(stored)
        }
        Some(row) if integer(row, 2)? > now => Claim::InFlight,
        Some(_) => {
            // The claim's request died without finishing: take it over.
            query(
                db,
                "UPDATE api_idempotency_keys SET locked_until = ? WHERE key = ?",
                &[Value::from(now + LEASE_SECS), Value::from(key)],
            )?;
            Claim::Fresh
        }
    };
    query(db, "COMMIT", &[])?;
    Ok(claim)
}

/// A stored status read back from the student's shop: only the `201` this
/// lab stores is replayed, so an edited row cannot make our origin answer
/// with a redirect to wherever its `location` points.
fn created_status(status: i64) -> Result<u16, SqlError> {
    if status == 201 {
        Ok(201)
    } else {
        Err(SqlError::new(
            crate::labs::sql::engine::ErrorKind::Runtime,
            format!("api_idempotency_keys holds status {status}, which the lab never stores"),
        ))
    }
}

/// Stores the response with the key: call inside the transaction that
/// writes the order.
pub(super) fn store(db: &mut Db, key: &str, stored: &Stored) -> Result<(), SqlError> {
    query(
        db,
        "UPDATE api_idempotency_keys SET state = 'done', locked_until = NULL, status = ?, location = ?, response_body = ?, order_id = ? WHERE key = ?",
        &[
            Value::from(stored.status),
            Value::from(stored.location.clone()),
            Value::from(stored.body.clone()),
            Value::from(stored.order_id),
            Value::from(key),
        ],
    )?;
    Ok(())
}

/// Gives up a claim whose request failed, so a retry runs afresh.
pub(super) fn release(db: &mut Db, key: &str) -> Result<(), SqlError> {
    query(
        db,
        "DELETE FROM api_idempotency_keys WHERE key = ? AND state = 'in_flight'",
        &[Value::from(key)],
    )?;
    Ok(())
}

/// The answer to a claim that does not run the request.
pub(super) fn refusal(claim: Claim, key: &str) -> Option<Response> {
    match claim {
        Claim::Fresh => None,
        Claim::Replay(stored) => Some(stored.replay()),
        Claim::Mismatch => Some(
            ApiProblem::new(
                Kind::KeyReused,
                format!("Idempotency-Key {key:?} was used for a request with another body. Use a new key for a new request."),
            )
            .into_response(),
        ),
        Claim::InFlight => Some(
            ApiProblem::new(
                Kind::RequestInFlight,
                format!("A request with Idempotency-Key {key:?} is still running. Wait for it, then retry: you will get its answer."),
            )
            // A create takes at most a few seconds: a second is worth a try.
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            .into_response(),
        ),
    }
}

/// The inspector's record of what a key decided.
#[derive(serde::Serialize)]
pub(super) struct KeyChecked<'a> {
    pub(super) key: &'a str,
    pub(super) fingerprint: &'a str,
    pub(super) decision: &'static str,
    pub(super) order_id: Option<i64>,
}

impl LabEvent for KeyChecked<'_> {
    const KIND: &'static str = "api.idempotency";
    fn summary(&self) -> String {
        match (self.decision, self.order_id) {
            ("replayed", Some(id)) => format!(
                "key {:?} already created order {id}: its answer is replayed, nothing is written",
                self.key
            ),
            ("claimed", _) => format!("key {:?} is new: claimed for this request", self.key),
            ("reused", _) => format!(
                "key {:?} belongs to another body: refused with 422",
                self.key
            ),
            ("in_flight", _) => format!(
                "key {:?} is in use by a running request: refused with 409",
                self.key
            ),
            (decision, _) => format!("key {:?}: {decision}", self.key),
        }
    }
}

impl Claim {
    /// The decision's name in the trace, and the order it concerns.
    pub(super) fn decision(&self) -> (&'static str, Option<i64>) {
        match self {
            Self::Fresh => ("claimed", None),
            Self::Replay(stored) => ("replayed", stored.order_id),
            Self::Mismatch => ("reused", None),
            Self::InFlight => ("in_flight", None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::labs::api::NewOrderLine;

    fn headers(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(HEADER, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn keys_are_read_plain_or_quoted_and_bad_ones_refused() {
        assert_eq!(key_of(&HeaderMap::new()).ok(), Some(None));
        assert_eq!(
            key_of(&headers(&["abc-1"])).ok(),
            Some(Some("abc-1".into()))
        );
        assert_eq!(
            key_of(&headers(&["\"abc-1\""])).ok(),
            Some(Some("abc-1".into()))
        );
        let long = Box::leak("k".repeat(256).into_boxed_str());
        for bad in [
            vec![""],
            vec!["\"\""],
            vec!["a b"],
            vec!["a", "b"],
            vec![&*long],
        ] {
            assert!(key_of(&headers(&bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_fingerprint_is_the_order_not_its_key() {
        let order = |quantity| NewOrder {
            customer_id: 1,
            items: vec![NewOrderLine {
                product_id: 2,
                quantity,
            }],
        };
        assert_eq!(fingerprint(&order(1)), fingerprint(&order(1)));
        assert_ne!(fingerprint(&order(1)), fingerprint(&order(2)));
    }
}
