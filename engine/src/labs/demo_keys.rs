//! Demo keys: a page on another origin acting for a student.
//!
//! A browser sends a CORS preflight without cookies, and a page on another
//! origin sends none of the workbench's cookies unless it asks to, so the
//! session cannot say whose request it is. The routes a lab lists in
//! [`super::Lab::DEMO_KEY_ROUTES`] take `?key=<demo key>` instead: the key
//! names the student, whose settings answer the request and whose traces
//! show it. A key only reads: it counts for `GET`, `HEAD` and `OPTIONS`, so
//! it can never stand in for the cookie on a request that changes something.

use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};

use super::Labs;
use crate::error::ApiError;
use crate::identity::Student;
use crate::students::{StudentId, StudentKind};

/// The query parameter that carries the key.
const KEY_PARAMETER: &str = "key";

/// `student`'s demo key, made on first use and the same afterwards.
pub(crate) async fn key_of(
    pool: &crate::db::Pool,
    student: &StudentId,
    now: i64,
) -> Result<String, sqlx::Error> {
    let fresh = format!("k{:032x}", rand::random::<u128>());
    sqlx::query(
        "INSERT INTO demo_keys (student_id, key, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (student_id) DO NOTHING",
    )
    .bind(student.as_str())
    .bind(&fresh)
    .bind(now)
    .execute(pool)
    .await?;
    sqlx::query_scalar("SELECT key FROM demo_keys WHERE student_id = $1")
        .bind(student.as_str())
        .fetch_one(pool)
        .await
}

/// The student whose key `key` is, if any.
async fn student_of(pool: &crate::db::Pool, key: &str) -> Result<Option<Student>, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT s.id, s.kind FROM demo_keys k JOIN students s ON s.id = k.student_id
         WHERE k.key = $1",
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id, kind)| Student {
        id: StudentId::from_raw(id),
        kind: if kind == StudentKind::Account.as_str() {
            StudentKind::Account
        } else {
            StudentKind::Guest
        },
        is_new: false,
    }))
}

/// A keyed request to a route that takes a key is made as the key's
/// student; an unknown key is refused (the answer to send), not silently
/// made a guest's.
pub(crate) async fn attribute_keyed_request(
    labs: &Labs,
    mut request: Request,
) -> Result<Request, Response> {
    if let Some(key) = demo_key(&request) {
        match student_of(&labs.pool, &key).await {
            Ok(Some(student)) => {
                request.extensions_mut().insert(student);
            }
            Ok(None) => {
                return Err(ApiError::Forbidden(
                    "Unknown demo key: open the other site again from the lesson's link, which carries your current key.".into(),
                )
                .into_response())
            }
            Err(error) => return Err(ApiError::from(error).into_response()),
        }
    }
    Ok(request)
}

/// The request's demo key, when it has one and may use it.
fn demo_key(request: &Request) -> Option<String> {
    if !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || !super::accepts_demo_key(request.uri().path())
    {
        return None;
    }
    let query = request.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == KEY_PARAMETER)
        .map(|(_, value)| value.into_owned())
}
