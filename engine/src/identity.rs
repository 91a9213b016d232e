//! Who is asking. [`recognise_visitor`] reads the platform session once per
//! request and records a [`Visitor`]: anonymous, a guest (known only by the
//! session cookie, created on the first lab request), or a signed-in account.
//!
//! A session is signed in when it holds a [`SignInMark`] whose epoch matches
//! the account's, which is younger than the absolute lifetime, and which was
//! seen within the idle timeout. Anything else signs the session out.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::{header, request::Parts, Extensions, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::accounts::{self, Account};
use crate::clock::Clock;
use crate::error::{ApiError, Challenge, InternalError};
use crate::limiter::AddressBudget;
use crate::read_cache::ReadCache;
use crate::session_records::SessionRecords;
pub use crate::students::{StudentId, StudentKind};

/// Name of the workbench's own session cookie (labs use their own names).
pub const SESSION_COOKIE: &str = "workbench_session";

/// Extractor: the signed-in account making the request; 401 for anyone else.
#[derive(Clone, Debug)]
pub struct SignedIn(pub Account);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Visitor>() {
            Some(Visitor::SignedIn(account)) => Ok(Self(Account::clone(account))),
            Some(_) => Err(ApiError::Unauthorized(
                "Sign in to do this: send the session cookie of a signed-in account.".into(),
                Challenge::Account,
            )),
            None => Err(ApiError::Internal(crate::error::InternalError::Wiring(
                "the visitor layer is missing",
            ))),
        }
    }
}

/// The session key holding the student id.
const STUDENT_KEY: &str = "student_id";
/// The session key holding the [`SignInMark`] of a signed-in session.
const SIGNED_IN_KEY: &str = "signed_in";
/// The session key holding a message for the next page (Post/Redirect/Get).
const FLASH_KEY: &str = "flash";
/// How stale `last_seen` may get before it is written again: writing it on
/// every request would save the session on every request.
const SEEN_REFRESH_SECS: i64 = 60;
/// The session key holding when a guest's session was last written.
const GUEST_SEEN_KEY: &str = "guest_seen";
/// How often a guest's session is written back while they are busy. Each
/// write extends the session's life in the store and in the cookie by the
/// idle timeout (days), so once an hour keeps a busy guest's identity and
/// leaves every other request a read.
const GUEST_REFRESH_SECS: i64 = 60 * 60;

/// What deciding who is asking needs: the accounts and guests in the
/// database, the time, how long sessions live, and the budget for new
/// guests. Cheap to clone; any state it can be taken from works
/// (`Identities: FromRef<S>`).
#[derive(Clone)]
pub struct Identities {
    /// The platform database.
    pub pool: crate::db::Pool,
    /// The time, replaceable in tests.
    pub clock: Arc<dyn Clock>,
    /// How long sessions live.
    pub sessions: SessionPolicy,
    /// New guests per address (a class's join link has its own budget).
    pub new_guests: Arc<AddressBudget>,
    /// Signed-in accounts, read on every request they make.
    pub accounts: Arc<AccountCache>,
    /// The session records the session store keeps in memory, read here
    /// without loading the session ([`SessionView::in_memory`]).
    pub session_records: Arc<SessionRecords>,
}

/// Accounts by student id, without their password hashes. Writers in this
/// process call [`Identities::account_changed`]; other processes' changes
/// arrive through [`crate::changes`].
/// Shared, so a request takes the account without copying its strings.
pub type AccountCache = ReadCache<StudentId, Arc<Account>>;

/// Accounts kept in memory: enough for every signed-in student of a large school.
const CACHED_ACCOUNTS: u64 = 100_000;

/// An empty account cache of the usual size.
pub fn account_cache() -> Arc<AccountCache> {
    Arc::new(ReadCache::new(moka::sync::Cache::new(CACHED_ACCOUNTS)))
}

impl Identities {
    /// The account with this id, from memory when it was read before.
    pub async fn account(&self, id: &StudentId) -> Result<Option<Arc<Account>>, sqlx::Error> {
        if let Some(account) = self.accounts.get(id) {
            return Ok(Some(account));
        }
        let ticket = self.accounts.ticket();
        let found = accounts::store::find(&self.pool, id).await?;
        let account = found.map(|(account, _hash)| Arc::new(account));
        if let Some(account) = &account {
            self.accounts.fill(id.clone(), account.clone(), ticket);
        }
        Ok(account)
    }

    /// Call after changing the account's row: the next request reads it anew.
    pub fn account_changed(&self, id: &StudentId) {
        self.accounts.wrote(id, None);
    }

    /// Call after changing an account found by something other than its id.
    pub fn some_account_changed(&self) {
        self.accounts.wrote_all();
    }
}

/// How long sessions live, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A signed-in session unused for this long is signed out.
    pub idle_secs: i64,
    /// A signed-in session is signed out this long after sign-in, used or not.
    pub lifetime_secs: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_secs: 14 * 24 * 60 * 60,
            lifetime_secs: 30 * 24 * 60 * 60,
        }
    }
}

/// What a signed-in session remembers about its sign-in.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct SignInMark {
    epoch: i64,
    signed_in_at: i64,
    last_seen: i64,
}

impl SignInMark {
    fn is_valid(&self, account: &Account, now: i64, policy: &SessionPolicy) -> bool {
        self.epoch == account.session_epoch
            && now - self.signed_in_at < policy.lifetime_secs
            && now - self.last_seen < policy.idle_secs
    }
}

/// Who made a request, as decided by [`recognise_visitor`].
#[derive(Clone, Debug)]
pub enum Visitor {
    /// No session, or a session that was signed out.
    Anonymous,
    /// A guest: a student without an account.
    Guest(StudentId),
    /// A signed-in account.
    SignedIn(Arc<Account>),
}

impl Visitor {
    /// The visitor's student id, if they have one yet.
    pub fn student_id(&self) -> Option<&StudentId> {
        match self {
            Self::Anonymous => None,
            Self::Guest(id) => Some(id),
            Self::SignedIn(account) => Some(&account.id),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Visitor>()
            .cloned()
            .ok_or(ApiError::Internal(InternalError::Wiring(
                "the visitor layer is missing",
            )))
    }
}

/// Middleware: decides who the visitor is and records it in the request,
/// with what the pages need to know (the reader, a pending flash message).
pub async fn recognise_visitor(
    State(state): State<Arc<Identities>>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    // Static files and health checks never need to know who asks.
    if path.starts_with("/pkg/") || path == "/healthz" || path == "/readyz" {
        return next.run(request).await;
    }
    // Only a page shows a flash message: an API call or a lab request made
    // from a page must not take it before the next page can show it.
    let is_page = !path.starts_with("/api/") && !path.starts_with("/labs/");
    // No session cookie: an anonymous reader with nothing pending, and the
    // hot path for cached pages, so skip the session machinery entirely.
    if !has_session_cookie(request.headers()) {
        request.extensions_mut().insert(Visitor::Anonymous);
        return next.run(request).await;
    }
    let Some(session) = request.extensions().get::<Session>().cloned() else {
        return ApiError::Internal(InternalError::Wiring("the session layer is missing"))
            .into_response();
    };
    let view = match SessionView::of(&session, &state).await {
        Ok(view) => view,
        Err(error) => return error.into_response(),
    };
    let visitor = match visitor_of(&session, &view, &state).await {
        Ok(visitor) => visitor,
        Err(error) => return error.into_response(),
    };
    let signed_in = matches!(visitor, Visitor::SignedIn(_));
    // Only pages show the reader; a lab or API request has no use for a copy.
    if is_page {
        if let Visitor::SignedIn(account) = &visitor {
            request.extensions_mut().insert(account.reader());
        }
    }
    if request.method() == Method::GET && is_page && view.has_flash {
        match take_flash(&session).await {
            Ok(Some(flash)) => {
                request.extensions_mut().insert(flash);
            }
            Ok(None) => {}
            Err(error) => return error.into_response(),
        }
    }
    request.extensions_mut().insert(visitor);
    let mut response = next.run(request).await;
    if signed_in {
        // Pages for a signed-in reader carry their name: no shared cache may keep them.
        response
            .headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("private, no-cache"));
    }
    response
}

/// The flash message waiting for this session, removed as it is shown.
/// Looked at before removing: a removal marks the session changed even when
/// there was nothing to remove, and a changed session is written back to the
/// database, which would make every request with a cookie a write.
async fn take_flash(session: &Session) -> Result<Option<model::Flash>, ApiError> {
    if session.get::<model::Flash>(FLASH_KEY).await?.is_none() {
        return Ok(None);
    }
    Ok(session.remove::<model::Flash>(FLASH_KEY).await?)
}

fn has_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|cookie| {
            cookie
                .trim_start()
                .strip_prefix(SESSION_COOKIE)
                .is_some_and(|rest| rest.starts_with('='))
        })
}

async fn visitor_of(
    session: &Session,
    view: &SessionView,
    state: &Identities,
) -> Result<Visitor, ApiError> {
    let Some(id) = view.student.clone() else {
        return Ok(Visitor::Anonymous);
    };
    let now = state.clock.now();
    let Some(mark) = view.mark else {
        if view
            .guest_seen
            .is_none_or(|seen| now - seen >= GUEST_REFRESH_SECS)
        {
            session.insert(GUEST_SEEN_KEY, now).await?;
        }
        return Ok(Visitor::Guest(id));
    };
    match state.account(&id).await? {
        Some(account) if mark.is_valid(&account, now, &state.sessions) => {
            if now - mark.last_seen >= SEEN_REFRESH_SECS {
                let seen = SignInMark {
                    last_seen: now,
                    ..mark
                };
                session.insert(SIGNED_IN_KEY, seen).await?;
            }
            Ok(Visitor::SignedIn(account))
        }
        _ => {
            // Expired, revoked, or the account is gone: the session ends here.
            session.flush().await?;
            Ok(Visitor::Anonymous)
        }
    }
}

/// What the visitor layer reads from a session.
struct SessionView {
    student: Option<StudentId>,
    mark: Option<SignInMark>,
    guest_seen: Option<i64>,
    has_flash: bool,
}

impl SessionView {
    /// The session's view, from the record in memory when it is there and
    /// readable, else through the session, which loads the record.
    async fn of(session: &Session, state: &Identities) -> Result<Self, ApiError> {
        if let Some(view) = Self::in_memory(session, &state.session_records) {
            return Ok(view);
        }
        Ok(Self {
            student: session.get(STUDENT_KEY).await?,
            mark: session.get(SIGNED_IN_KEY).await?,
            guest_seen: session.get(GUEST_SEEN_KEY).await?,
            has_flash: session.get_value(FLASH_KEY).await?.is_some(),
        })
    }

    /// Read in place from the record the session store keeps in memory: no
    /// lock on the session and no copy of its record, which is what a
    /// request that only reads its session would otherwise pay. `None`
    /// when the record is not in memory, has expired, or does not parse:
    /// the session's own load then decides, as it always did.
    fn in_memory(session: &Session, records: &SessionRecords) -> Option<Self> {
        let record = records.get(&session.id()?)?;
        if record.expiry_date <= time::OffsetDateTime::now_utc() {
            return None;
        }
        let data = &record.data;
        Some(Self {
            student: read_value(data, STUDENT_KEY)?,
            mark: read_value(data, SIGNED_IN_KEY)?,
            guest_seen: read_value(data, GUEST_SEEN_KEY)?,
            has_flash: data.contains_key(FLASH_KEY),
        })
    }
}

/// `key`'s value in a session record's data: `Some(None)` when absent,
/// `None` when it does not parse.
fn read_value<T: serde::de::DeserializeOwned>(
    data: &std::collections::HashMap<String, serde_json::Value>,
    key: &str,
) -> Option<Option<T>> {
    match data.get(key) {
        None => Some(None),
        Some(value) => T::deserialize(value).ok().map(Some),
    }
}

/// Signs `account` in on this session, under a new session id so an id
/// planted before sign-in (session fixation) is worthless after it.
pub async fn sign_in(session: &Session, account: &Account, now: i64) -> Result<(), ApiError> {
    session.cycle_id().await?;
    session.insert(STUDENT_KEY, &account.id).await?;
    session
        .insert(
            SIGNED_IN_KEY,
            SignInMark {
                epoch: account.session_epoch,
                signed_in_at: now,
                last_seen: now,
            },
        )
        .await?;
    Ok(())
}

/// Ends the session: its record is deleted and the browser's cookie removed.
pub async fn sign_out(session: &Session) -> Result<(), ApiError> {
    Ok(session.flush().await?)
}

/// Leaves a message for the next page this session shows.
pub async fn set_flash(session: &Session, flash: model::Flash) -> Result<(), ApiError> {
    Ok(session.insert(FLASH_KEY, flash).await?)
}

/// Makes a new guest student and keeps them in this session (the caller
/// has spent the budget that allows it).
pub async fn create_guest(session: &Session, state: &Identities) -> Result<StudentId, ApiError> {
    let id = StudentId::new_random();
    sqlx::query("INSERT INTO students (id, kind, created_at) VALUES ($1, 'guest', $2)")
        .bind(id.as_str())
        .bind(state.clock.now())
        .execute(&state.pool)
        .await?;
    session.insert(STUDENT_KEY, &id).await?;
    session.insert(GUEST_SEEN_KEY, state.clock.now()).await?;
    Ok(id)
}

/// The student making a lab request: every visitor who uses a lab is one.
#[derive(Clone, Debug)]
pub struct Student {
    /// Their id.
    pub id: StudentId,
    /// Guest or account.
    pub kind: StudentKind,
    /// True when this request created the guest identity.
    pub is_new: bool,
}

impl Student {
    /// The student behind the request's visitor, creating a guest for an anonymous one.
    pub async fn resolve(extensions: &Extensions, state: &Identities) -> Result<Self, ApiError> {
        if let Some(student) = extensions.get::<Student>() {
            return Ok(student.clone());
        }
        let visitor =
            extensions
                .get::<Visitor>()
                .ok_or(ApiError::Internal(InternalError::Wiring(
                    "the visitor layer is missing",
                )))?;
        let (id, kind) = match visitor {
            Visitor::SignedIn(account) => (account.id.clone(), StudentKind::Account),
            Visitor::Guest(id) => (id.clone(), StudentKind::Guest),
            Visitor::Anonymous => return Self::new_guest(extensions, state).await,
        };
        Ok(Self {
            id,
            kind,
            is_new: false,
        })
    }

    /// A guest for a visitor with no identity yet. Each costs a row and a
    /// session, and a client that drops cookies is a new one every time, so
    /// an address may make only so many ([`crate::limiter::AddressBudget`];
    /// a class's join link makes them on the class's budget instead).
    async fn new_guest(extensions: &Extensions, state: &Identities) -> Result<Self, ApiError> {
        let session =
            extensions
                .get::<Session>()
                .ok_or(ApiError::Internal(InternalError::Wiring(
                    "the session layer is missing",
                )))?;
        let address =
            crate::limiter::counted_address(crate::connection::Connection::client_ip(extensions));
        state
            .new_guests
            .check(address, crate::limiter::Context::Anyone)
            .await
            .map_err(|refusal| match refusal {
                ApiError::TooManyRequests {
                    message,
                    retry_after_secs,
                } => ApiError::TooManyRequests {
                    message: format!(
                        "{message} Each request without the workbench_session cookie makes a new guest: keep the cookie (a browser does; with curl, add -c jar -b jar)."
                    ),
                    retry_after_secs,
                },
                other => other,
            })?;
        Ok(Self {
            id: create_guest(session, state).await?,
            kind: StudentKind::Guest,
            is_new: true,
        })
    }
}

impl<S> FromRequestParts<S> for Student
where
    S: Send + Sync,
    Identities: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // The recorder has usually resolved the student already: no need
        // to take a copy of the identities to find it again.
        if let Some(student) = parts.extensions.get::<Student>() {
            return Ok(student.clone());
        }
        let student = Self::resolve(&parts.extensions, &Identities::from_ref(state)).await?;
        parts.extensions.insert(student.clone());
        Ok(student)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_sessions::session::{Id, Record};
    use tower_sessions::session_store::{self, SessionStore};

    /// A store that fails every call: a session read from memory never reaches it.
    #[derive(Debug)]
    struct Unreachable;

    #[async_trait::async_trait]
    impl SessionStore for Unreachable {
        async fn save(&self, _: &Record) -> session_store::Result<()> {
            Err(session_store::Error::Backend("saved".into()))
        }
        async fn load(&self, _: &Id) -> session_store::Result<Option<Record>> {
            Err(session_store::Error::Backend("loaded".into()))
        }
        async fn delete(&self, _: &Id) -> session_store::Result<()> {
            Err(session_store::Error::Backend("deleted".into()))
        }
    }

    fn record(data: serde_json::Value, expires_in_secs: i64) -> Record {
        Record {
            id: Id::default(),
            data: serde_json::from_value(data).unwrap(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::seconds(expires_in_secs),
        }
    }

    /// The view of `record` when it is in memory, and the session it belongs to.
    fn view_of(record: Record) -> (Option<SessionView>, Session) {
        let records = SessionRecords::new();
        let session = Session::new(Some(record.id), Arc::new(Unreachable), None);
        let id = record.id;
        records.wrote(&id, Some(Arc::new(record)));
        (SessionView::in_memory(&session, &records), session)
    }

    #[tokio::test]
    async fn a_signed_in_session_in_memory_is_read_without_loading_it() {
        let (view, session) = view_of(record(
            serde_json::json!({
                "student_id": "s1",
                "signed_in": {"epoch": 2, "signed_in_at": 10, "last_seen": 20},
                "flash": {"notice": "Saved."},
            }),
            60,
        ));
        let view = view.expect("the record is in memory");
        assert_eq!(view.student.as_ref().map(StudentId::as_str), Some("s1"));
        let mark = view.mark.expect("signed in");
        assert_eq!((mark.epoch, mark.signed_in_at, mark.last_seen), (2, 10, 20));
        assert!(view.has_flash);
        // Reading it that way left the session unloaded: any load would fail.
        assert!(session.get_value(STUDENT_KEY).await.is_err());
    }

    #[tokio::test]
    async fn a_guest_session_in_memory_has_no_mark() {
        let (view, _) = view_of(record(
            serde_json::json!({"student_id": "g1", "guest_seen": 5}),
            60,
        ));
        let view = view.expect("the record is in memory");
        assert!(view.mark.is_none());
        assert_eq!(view.guest_seen, Some(5));
        assert!(!view.has_flash);
    }

    #[test]
    fn an_expired_or_unreadable_record_is_left_to_the_session_load() {
        let (expired, _) = view_of(record(serde_json::json!({"student_id": "s1"}), -1));
        assert!(expired.is_none());
        let (unreadable, _) = view_of(record(
            serde_json::json!({"student_id": "s1", "signed_in": "yes"}),
            60,
        ));
        assert!(unreadable.is_none());
        let records = SessionRecords::new();
        let elsewhere = Session::new(Some(Id::default()), Arc::new(Unreachable), None);
        assert!(SessionView::in_memory(&elsewhere, &records).is_none());
    }
}
