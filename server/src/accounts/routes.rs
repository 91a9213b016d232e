//! Account routes. The `/auth/*` routes take a browser form (and answer with
//! a redirect, Post/Redirect/Get, so they work without JavaScript) or a JSON
//! body (and answer with JSON, for scripts and tests). The `/api/*` routes
//! are JSON only and guarded by role.
//!
//! Failed sign-ins say the same thing whether or not the email has an
//! account, and take as long: an unknown email is checked against a decoy
//! hash. Cross-site form posts never reach these handlers; see [`crate::csrf`].

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::password::check_new_password;
use super::store::{self, NewAccount};
use super::{check_display_name, normalize_email, Account, Role, SignedIn, Verdict};
use crate::error::extract::Path;
use crate::error::ApiError;
use crate::identity::{self, Visitor};
use crate::limiter::ClientAddress;
use crate::state::AppState;

/// The one answer to every failed sign-in, known email or not.
pub const SIGN_IN_FAILED: &str = "That email and password do not match an account.";
/// The answer to a sign-up that cannot go ahead because of the email. It must
/// not confirm that the email has an account.
const SIGN_UP_REFUSED: &str =
    "We could not create an account with these details. If you already have one, sign in.";

/// The account routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/signup", post(sign_up))
        .route("/auth/signin", post(sign_in))
        .route("/auth/signout", post(sign_out))
        .route("/auth/password", post(change_password))
        .route("/auth/signout-everywhere", post(sign_out_everywhere))
        .route("/api/me", get(me))
        .route("/api/instructor/accounts", get(list_accounts))
        .route("/api/admin/accounts/{email}/role", put(set_role))
}

/// Whether the caller sent a browser form or JSON; the answer follows suit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Form,
    Json,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Style {
    type Rejection = std::convert::Infallible;

    /// For bodiless posts (sign-out): a form post or a browser gets a
    /// redirect, anything else JSON.
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let header_has = |name, needle| {
            parts
                .headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().contains(needle))
        };
        let browser = header_has(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            || header_has(header::ACCEPT, "text/html");
        Ok(if browser { Self::Form } else { Self::Json })
    }
}

/// A body that is either `application/x-www-form-urlencoded` or JSON.
struct FormOrJson<T> {
    value: T,
    style: Style,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for FormOrJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if content_type.starts_with("application/json") {
            let crate::error::extract::Json(value) =
                crate::error::extract::Json::from_request(request, state).await?;
            Ok(Self {
                value,
                style: Style::Json,
            })
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            let axum::Form(value) = axum::Form::from_request(request, state)
                .await
                .map_err(|e| ApiError::BadRequest(e.body_text()))?;
            Ok(Self {
                value,
                style: Style::Form,
            })
        } else {
            Err(ApiError::UnsupportedMediaType(
                "Send the fields as a form (application/x-www-form-urlencoded) or as JSON (application/json).".into(),
            ))
        }
    }
}

/// What a handler achieved, said both ways.
struct Done {
    /// Where a browser goes next.
    redirect: String,
    /// A message for that page.
    notice: Option<String>,
    /// The JSON answer.
    status: StatusCode,
    body: serde_json::Value,
}

/// What a failed form was about, to show the form again with the error.
struct Retry<'a> {
    /// The form page to return to.
    page: &'static str,
    /// Where to go after the form succeeds, kept across the retry.
    next: Option<&'a str>,
    email: Option<String>,
    name: Option<String>,
}

/// Turns a handler's result into a redirect (forms) or JSON (scripts).
async fn answer(
    session: &Session,
    style: Style,
    result: Result<Done, ApiError>,
    retry: Retry<'_>,
) -> Response {
    match (style, result) {
        (Style::Json, Ok(done)) => (done.status, Json(done.body)).into_response(),
        (Style::Json, Err(error)) => error.into_response(),
        (Style::Form, Ok(done)) => {
            if done.notice.is_some() {
                let flash = app::model::Flash {
                    notice: done.notice,
                    ..Default::default()
                };
                if let Err(error) = identity::set_flash(session, flash).await {
                    return error.into_response();
                }
            }
            Redirect::to(&done.redirect).into_response()
        }
        (Style::Form, Err(error @ ApiError::TooManyRequests { .. })) => throttled_page(error),
        (Style::Form, Err(error @ ApiError::Internal(_))) => error.into_response(),
        (Style::Form, Err(error)) => {
            let flash = app::model::Flash {
                error: Some(error.to_string()),
                email: retry.email,
                name: retry.name,
                ..Default::default()
            };
            if let Err(error) = identity::set_flash(session, flash).await {
                return error.into_response();
            }
            Redirect::to(&with_next(retry.page, retry.next)).into_response()
        }
    }
}

/// A throttled form post: the real 429 and `Retry-After`, with a page a
/// person can read instead of JSON.
fn throttled_page(error: ApiError) -> Response {
    let ApiError::TooManyRequests {
        message,
        retry_after_secs,
    } = &error
    else {
        return error.into_response();
    };
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Too many attempts</title><link rel=\"stylesheet\" href=\"/pkg/workbench.css\"></head>\
         <body><main id=\"main\" class=\"auth-page\"><h1>Too many attempts</h1><p role=\"alert\">{message}</p>\
         <p><a href=\"/signin\">Back to sign in</a></p></main></body></html>"
    );
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Html(page)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    response
}

/// Only paths on this site may be redirected to after a form, never another
/// site (`//evil.example` is protocol-relative, `/\evil` is read as `//` by browsers).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.starts_with("/\\")
                && !next.chars().any(char::is_control) =>
        {
            next.to_string()
        }
        _ => "/".to_string(),
    }
}

fn with_next(page: &str, next: Option<&str>) -> String {
    match next.map(|n| safe_next(Some(n))).filter(|n| n != "/") {
        Some(next) => format!(
            "{page}?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        ),
        None => page.to_string(),
    }
}

fn account_json(account: &Account) -> serde_json::Value {
    serde_json::json!({
        "email": account.email,
        "name": account.name,
        "role": account.role,
        "created_at": account.created_at,
    })
}

/// The sign-up form.
#[derive(Deserialize)]
struct SignUpForm {
    name: String,
    email: String,
    password: String,
    next: Option<String>,
}

async fn sign_up(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    session: Session,
    visitor: Visitor,
    FormOrJson { value: form, style }: FormOrJson<SignUpForm>,
) -> Response {
    let retry = Retry {
        page: "/signup",
        next: form.next.as_deref(),
        email: Some(form.email.clone()),
        name: Some(form.name.clone()),
    };
    let result = async {
        state.accounts.throttle.check_address(address)?;
        let name = check_display_name(&form.name).map_err(unprocessable)?;
        let email = normalize_email(&form.email).map_err(unprocessable)?;
        check_new_password(&form.password, &email)?;
        // Hash before looking at the email, so a taken email answers as slowly as a new one.
        let password_hash = state.accounts.passwords.hash(form.password.clone()).await?;
        let now = state.clock.now();
        let new = NewAccount {
            email: &email,
            name: &name,
            password_hash: &password_hash,
            role: Role::Student,
        };
        let guest = match &visitor {
            Visitor::Guest(id) => Some(id),
            _ => None,
        };
        let account = store::create(&state.pool, guest, new, now)
            .await?
            .ok_or_else(|| ApiError::Unprocessable(SIGN_UP_REFUSED.into()))?;
        identity::sign_in(&session, &account, now).await?;
        tracing::info!(account = account.id.as_str(), "account created");
        Ok(Done {
            redirect: safe_next(form.next.as_deref()),
            notice: None,
            status: StatusCode::CREATED,
            body: account_json(&account),
        })
    }
    .await;
    answer(&session, style, result, retry).await
}

/// The sign-in form.
#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
    next: Option<String>,
}

async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    session: Session,
    visitor: Visitor,
    FormOrJson { value: form, style }: FormOrJson<SignInForm>,
) -> Response {
    let retry = Retry {
        page: "/signin",
        next: form.next.as_deref(),
        email: Some(form.email.clone()),
        name: None,
    };
    let result = async {
        state.accounts.throttle.check_address(address)?;
        // A malformed email cannot have an account; it still costs a hash.
        let email =
            normalize_email(&form.email).unwrap_or_else(|_| form.email.trim().to_lowercase());
        state.accounts.throttle.check_account(&email)?;
        let account = authenticate(&state, &email, &form.password).await?;
        if let Visitor::Guest(guest) = &visitor {
            store::carry_over_guest(&state.pool, guest, &account.id).await?;
            state.traces.adopt(guest, &account.id);
            crate::labs::adopt_guest(&state, guest, &account.id).await;
        }
        identity::sign_in(&session, &account, state.clock.now()).await?;
        Ok(Done {
            redirect: safe_next(form.next.as_deref()),
            notice: None,
            status: StatusCode::OK,
            body: account_json(&account),
        })
    }
    .await;
    answer(&session, style, result, retry).await
}

/// Checks an email and password; on success, upgrades an outdated hash.
/// Every failure is the same [`SIGN_IN_FAILED`] after the same work.
async fn authenticate(state: &AppState, email: &str, password: &str) -> Result<Account, ApiError> {
    let passwords = &state.accounts.passwords;
    // No stored password is longer than this; refuse before hashing megabytes.
    if password.len() > 4 * super::password::MAX_PASSWORD_CHARS {
        return Err(ApiError::Unauthorized(SIGN_IN_FAILED.into()));
    }
    let found = store::find_by_email(&state.pool, email).await?;
    let stored = found.as_ref().map(|(_, hash)| hash.clone());
    let verdict = passwords.verify(password.to_string(), stored).await?;
    let Some((account, hash)) = found.filter(|_| verdict == Verdict::Match) else {
        return Err(ApiError::Unauthorized(SIGN_IN_FAILED.into()));
    };
    if passwords.needs_rehash(&hash) {
        let upgraded = passwords.hash(password.to_string()).await?;
        store::set_password_hash(
            &state.pool,
            &account.id,
            &upgraded,
            false,
            state.clock.now(),
        )
        .await?;
        tracing::info!(
            account = account.id.as_str(),
            "password hash upgraded to current parameters"
        );
    }
    Ok(account)
}

async fn sign_out(session: Session, style: Style) -> Response {
    let result = identity::sign_out(&session).await.map(|()| Done {
        redirect: "/".into(),
        notice: None,
        status: StatusCode::OK,
        body: serde_json::json!({ "signed_in": false }),
    });
    answer(&session, style, result, no_retry("/")).await
}

fn no_retry(page: &'static str) -> Retry<'static> {
    Retry {
        page,
        next: None,
        email: None,
        name: None,
    }
}

/// The change-password form.
#[derive(Deserialize)]
struct ChangePasswordForm {
    current_password: String,
    new_password: String,
}

/// Changes the password. Every other session of the account ends; this one
/// continues under a new session id.
async fn change_password(
    State(state): State<AppState>,
    session: Session,
    visitor: Visitor,
    FormOrJson { value: form, style }: FormOrJson<ChangePasswordForm>,
) -> Response {
    let result = async {
        let Visitor::SignedIn(account) = visitor else {
            return Err(ApiError::Unauthorized(
                "Sign in to change your password.".into(),
            ));
        };
        state.accounts.throttle.check_account(&account.email)?;
        let found = store::find(&state.pool, &account.id).await?;
        let stored = found.map(|(_, hash)| hash);
        let verdict = state
            .accounts
            .passwords
            .verify(form.current_password.clone(), stored)
            .await?;
        if verdict != Verdict::Match {
            return Err(ApiError::Unauthorized(
                "Your current password is not correct.".into(),
            ));
        }
        check_new_password(&form.new_password, &account.email)?;
        let hash = state
            .accounts
            .passwords
            .hash(form.new_password.clone())
            .await?;
        let now = state.clock.now();
        let epoch = store::set_password_hash(&state.pool, &account.id, &hash, true, now).await?;
        let account = Account {
            session_epoch: epoch,
            ..account
        };
        identity::sign_in(&session, &account, now).await?;
        Ok(Done {
            redirect: "/account".into(),
            notice: Some("Password changed. Your other sessions have been signed out.".into()),
            status: StatusCode::OK,
            body: account_json(&account),
        })
    }
    .await;
    answer(&session, style, result, no_retry("/account")).await
}

/// Ends every session of the account, this one included.
async fn sign_out_everywhere(
    State(state): State<AppState>,
    session: Session,
    visitor: Visitor,
    style: Style,
) -> Response {
    let result = async {
        let Visitor::SignedIn(account) = visitor else {
            return Err(ApiError::Unauthorized("Sign in first.".into()));
        };
        store::end_all_sessions(&state.pool, &account.id, state.clock.now()).await?;
        identity::sign_out(&session).await?;
        Ok(Done {
            redirect: "/signin".into(),
            notice: None,
            status: StatusCode::OK,
            body: serde_json::json!({ "signed_in": false }),
        })
    }
    .await;
    answer(&session, style, result, no_retry("/account")).await
}

/// `GET /api/me`: the signed-in account; 401 for anyone else.
async fn me(SignedIn(account): SignedIn) -> Json<serde_json::Value> {
    Json(account_json(&account))
}

/// One account, for instructors.
#[derive(Serialize)]
struct AccountSummary {
    email: String,
    name: String,
    role: Role,
    created_at: i64,
}

/// `GET /api/instructor/accounts`: every account; instructors and admins only.
async fn list_accounts(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
) -> Result<Json<Vec<AccountSummary>>, ApiError> {
    account.require(Role::Instructor)?;
    let accounts = store::list(&state.pool).await?;
    Ok(Json(
        accounts
            .into_iter()
            .map(|a| AccountSummary {
                email: a.email,
                name: a.name,
                role: a.role,
                created_at: a.created_at,
            })
            .collect(),
    ))
}

/// The body of a role change.
#[derive(Deserialize)]
struct RoleChange {
    role: Role,
}

/// `PUT /api/admin/accounts/{email}/role`: admins only.
async fn set_role(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn,
    Path(email): Path<String>,
    crate::error::extract::Json(change): crate::error::extract::Json<RoleChange>,
) -> Result<Json<serde_json::Value>, ApiError> {
    admin.require(Role::Admin)?;
    let email = normalize_email(&email).map_err(unprocessable)?;
    if !store::set_role(&state.pool, &email, change.role, state.clock.now()).await? {
        return Err(ApiError::NotFound(format!(
            "No account has the email {email}."
        )));
    }
    tracing::info!(
        by = admin.id.as_str(),
        email,
        role = change.role.as_str(),
        "role changed"
    );
    Ok(Json(
        serde_json::json!({ "email": email, "role": change.role }),
    ))
}

fn unprocessable(message: &'static str) -> ApiError {
    ApiError::Unprocessable(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_a_form() {
        assert_eq!(
            safe_next(Some("/lessons/http/anatomy")),
            "/lessons/http/anatomy"
        );
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/a\nb")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn a_retry_keeps_the_destination_encoded() {
        assert_eq!(
            with_next("/signin", Some("/account")),
            "/signin?next=%2Faccount"
        );
        assert_eq!(with_next("/signin", Some("//evil")), "/signin");
        assert_eq!(with_next("/signin", None), "/signin");
    }
}
