//! Account routes. The `/auth/*` routes take a browser form (and answer with
//! a redirect, Post/Redirect/Get, so they work without JavaScript) or a JSON
//! body (and answer with JSON, for scripts and tests). The `/api/*` routes
//! are JSON only and guarded by role.
//!
//! Failed sign-ins say the same thing whether or not the email has an
//! account, and take as long: an unknown email is checked against a decoy
//! hash. Cross-site form posts never reach these handlers; see [`crate::csrf`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::accounts::password::check_new_password;
use crate::accounts::store::{self, NewAccount};
use crate::accounts::{check_display_name, normalize_email, Account, Role, Verdict};
use crate::classes::{self, Class};
use crate::error::extract::Path;
use crate::error::{ApiError, Challenge};
use crate::forms::{answer, safe_next, Done, FormOrJson, Retry, Style};
use crate::identity::SignedIn;
use crate::identity::{self, Visitor};
use crate::limiter::ClientAddress;
use crate::limiter::Context;
use crate::state::Engine;
use crate::students::StudentId;

/// The one answer to every failed sign-in, known email or not.
pub(crate) const SIGN_IN_FAILED: &str = "That email and password do not match an account.";
/// The answer to a sign-up that cannot go ahead because of the email. It must
/// not confirm that the email has an account.
const SIGN_UP_REFUSED: &str =
    "We could not create an account with these details. If you already have one, sign in.";

/// The account routes.
pub(crate) fn router() -> Router<Engine> {
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
    /// The join code of the class whose link brought the student here.
    #[serde(default)]
    class: Option<String>,
}

/// A class vouching for a sign-up or sign-in, and the member it charges.
struct Vouched {
    class: Class,
    /// The student whose allowance each attempt spends: a guest who joined
    /// (and so took a place), or an account already in the class.
    member: StudentId,
    /// The guest, when this request made them.
    new_guest: bool,
}

impl Vouched {
    fn context(this: &Option<Self>) -> Context<'_> {
        match this {
            Some(vouched) => Context::Class {
                id: &vouched.class.id,
                capacity: vouched.class.capacity,
            },
            None => Context::Anyone,
        }
    }
}

/// The class that vouches for a sign-up or sign-in, so a class behind one
/// network address spends its own budget there, not the address's:
/// - a guest who joined a class through its link;
/// - signing in, with the class's code, to an account already in it;
/// - with the code of a class that has room, anyone else: they join it now,
///   as a guest, and take a place, so every attempt the class vouches for
///   is tied to a place the instructor can see (and the class fills).
///
/// Each attempt then also spends the member's own small allowance.
async fn vouch(
    state: &Engine,
    session: &Session,
    address: std::net::IpAddr,
    visitor: &Visitor,
    code: Option<&str>,
    signing_in_to: Option<&StudentId>,
    name: &str,
) -> Result<Option<Vouched>, ApiError> {
    if let Visitor::Guest(guest) = visitor {
        if let Some((id, _, _)) = classes::store::classes_of(&state.pool, guest)
            .await?
            .into_iter()
            .next()
        {
            if let Some(class) = classes::store::find(&state.pool, &id).await? {
                return Ok(Some(Vouched {
                    class,
                    member: guest.clone(),
                    new_guest: false,
                }));
            }
        }
    }
    let Some(code) = code.map(classes::normalize_code).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let Some(class) = classes::store::find_by_code(&state.pool, &code).await? else {
        return Ok(None);
    };
    if let Some(account) = signing_in_to {
        if classes::store::is_member(&state.pool, &class.id, account).await? {
            return Ok(Some(Vouched {
                class,
                member: account.clone(),
                new_guest: false,
            }));
        }
    }
    if classes::store::member_count(&state.pool, &class.id).await? >= class.capacity {
        return Ok(None);
    }
    let (guest, new_guest) = match visitor {
        Visitor::Guest(guest) => (guest.clone(), false),
        Visitor::Anonymous => {
            let context = Context::Class {
                id: &class.id,
                capacity: class.capacity,
            };
            state.identities.new_guests.check(address, context).await?;
            (
                identity::create_guest(session, &state.identities).await?,
                true,
            )
        }
        Visitor::SignedIn(_) => return Ok(None),
    };
    let name = check_display_name(name).unwrap_or_else(|_| "New member".into());
    let joined =
        classes::store::join(&state.pool, &class, &guest, &name, state.clock.now()).await?;
    state.marks.wrote(&guest, None);
    match joined {
        classes::store::Joined::Full => Ok(None),
        _ => Ok(Some(Vouched {
            class,
            member: guest,
            new_guest,
        })),
    }
}

/// Spends one attempt from the address's budget (the vouching class's, if
/// any) and from the vouched-for member's own allowance.
async fn spend_attempt(
    state: &Engine,
    address: std::net::IpAddr,
    vouched: &Option<Vouched>,
) -> Result<(), ApiError> {
    state
        .accounts
        .throttle
        .check_address(address, Vouched::context(vouched))
        .await?;
    if let Some(vouched) = vouched {
        state
            .accounts
            .throttle
            .check_member(&vouched.member)
            .await?;
    }
    Ok(())
}

/// What to tell a student whose sign-up or sign-in also put them in a class.
fn joined_notice(vouched: &Option<Vouched>, code: Option<&str>) -> Option<String> {
    let vouched = vouched.as_ref()?;
    let named = code
        .map(classes::normalize_code)
        .is_some_and(|c| c == vouched.class.code);
    named.then(|| format!("You are in {}.", vouched.class.name))
}

async fn sign_up(
    State(state): State<Engine>,
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
        let vouched = vouch(
            &state,
            &session,
            address,
            &visitor,
            form.class.as_deref(),
            None,
            &form.name,
        )
        .await?;
        spend_attempt(&state, address, &vouched).await?;
        // The guest this browser is (perhaps made just now, by the class's link) becomes the account.
        let guest = match (&visitor, &vouched) {
            (_, Some(vouched)) if vouched.new_guest || matches!(visitor, Visitor::Guest(_)) => {
                Some(vouched.member.clone())
            }
            (Visitor::Guest(id), _) => Some(id.clone()),
            _ => None,
        };
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
        let account = store::create(&state.pool, guest.as_ref(), new, now)
            .await?
            .ok_or_else(|| ApiError::Unprocessable(SIGN_UP_REFUSED.into()))?;
        identity::sign_in(&session, &account, now).await?;
        crate::labs::account_signed_in(&state.labs, &account.id).await;
        tracing::info!(account = account.id.as_str(), "account created");
        Ok(Done {
            redirect: safe_next(form.next.as_deref()),
            notice: joined_notice(&vouched, form.class.as_deref()),
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
    /// The join code of the class whose link brought the student here.
    #[serde(default)]
    class: Option<String>,
}

async fn sign_in(
    State(state): State<Engine>,
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
        // A malformed email cannot have an account; it still costs a hash.
        let email =
            normalize_email(&form.email).unwrap_or_else(|_| form.email.trim().to_lowercase());
        // A class vouches for its members' accounts (and for sign-ins from
        // its link): guessing many strangers' passwords from one address
        // still spends the address's own small budget.
        let known = store::find_by_email(&state.pool, &email)
            .await?
            .map(|(a, _)| a.id);
        let vouched = vouch(
            &state,
            &session,
            address,
            &visitor,
            form.class.as_deref(),
            known.as_ref(),
            "",
        )
        .await?;
        spend_attempt(&state, address, &vouched).await?;
        state.accounts.throttle.check_account(&email).await?;
        let account = authenticate(&state, &email, &form.password).await?;
        let guest = match (&visitor, &vouched) {
            (Visitor::Guest(id), _) => Some(id.clone()),
            (_, Some(vouched)) if vouched.new_guest => Some(vouched.member.clone()),
            _ => None,
        };
        if let Some(guest) = &guest {
            store::carry_over_guest(&state.pool, guest, &account.id).await?;
            state.marks.wrote(&account.id, None);
            state.marks.wrote(guest, None);
            state.traces.adopt_everywhere(guest, &account.id).await;
            crate::labs::adopt_guest(&state.labs, guest, &account.id).await;
        }
        identity::sign_in(&session, &account, state.clock.now()).await?;
        crate::labs::account_signed_in(&state.labs, &account.id).await;
        Ok(Done {
            redirect: safe_next(form.next.as_deref()),
            notice: joined_notice(&vouched, form.class.as_deref()),
            status: StatusCode::OK,
            body: account_json(&account),
        })
    }
    .await;
    answer(&session, style, result, retry).await
}

/// Checks an email and password; on success, upgrades an outdated hash.
/// Every failure is the same [`SIGN_IN_FAILED`] after the same work.
async fn authenticate(state: &Engine, email: &str, password: &str) -> Result<Account, ApiError> {
    let passwords = &state.accounts.passwords;
    // No stored password is longer than this; refuse before hashing megabytes.
    if password.len() > 4 * crate::accounts::password::MAX_PASSWORD_CHARS {
        return Err(ApiError::Unauthorized(
            SIGN_IN_FAILED.into(),
            Challenge::Account,
        ));
    }
    let found = store::find_by_email(&state.pool, email).await?;
    let stored = found.as_ref().map(|(_, hash)| hash.clone());
    let verdict = passwords.verify(password.to_string(), stored).await?;
    let Some((account, hash)) = found.filter(|_| verdict == Verdict::Match) else {
        return Err(ApiError::Unauthorized(
            SIGN_IN_FAILED.into(),
            Challenge::Account,
        ));
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
        state.identities.account_changed(&account.id);
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
    State(state): State<Engine>,
    session: Session,
    visitor: Visitor,
    FormOrJson { value: form, style }: FormOrJson<ChangePasswordForm>,
) -> Response {
    let result = async {
        let Visitor::SignedIn(account) = visitor else {
            return Err(ApiError::Unauthorized(
                "Sign in to change your password.".into(),
                Challenge::Account,
            ));
        };
        state
            .accounts
            .throttle
            .check_account(&account.email)
            .await?;
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
                Challenge::Account,
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
        state.identities.account_changed(&account.id);
        let account = Account {
            session_epoch: epoch,
            ..Account::clone(&account)
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
    State(state): State<Engine>,
    session: Session,
    visitor: Visitor,
    style: Style,
) -> Response {
    let result = async {
        let Visitor::SignedIn(account) = visitor else {
            return Err(ApiError::Unauthorized(
                "Sign in first.".into(),
                Challenge::Account,
            ));
        };
        store::end_all_sessions(&state.pool, &account.id, state.clock.now()).await?;
        state.identities.account_changed(&account.id);
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
    State(state): State<Engine>,
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
    State(state): State<Engine>,
    SignedIn(admin): SignedIn,
    Path(email): Path<String>,
    crate::error::extract::Json(change): crate::error::extract::Json<RoleChange>,
) -> Result<Json<serde_json::Value>, ApiError> {
    admin.require(Role::Admin)?;
    let email = normalize_email(&email).map_err(unprocessable)?;
    let changed = store::set_role(&state.pool, &email, change.role, state.clock.now()).await?;
    state.identities.some_account_changed();
    if !changed {
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
