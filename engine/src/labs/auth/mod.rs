//! The auth lab: a small demo shop's users, in each student's own sandbox.
//! This first part teaches password storage: registering a demo user
//! stores an argon2id PHC string, and the lab shows its parts and the cost
//! of the parameters the student picked.
//!
//! | route | what it does |
//! |---|---|
//! | `POST /labs/auth/users` | registers a demo user: `{"username", "password", "role"}` |
//! | `GET /labs/auth/users` | the student's demo users, each hash taken apart |
//! | `DELETE /labs/auth/users` | empties the sandbox |
//! | `POST /labs/auth/verify` | checks a password against a demo user's hash |
//! | `GET /labs/auth/hash-race` | guesses per second: unsalted SHA-256 against argon2id, measured now |
//! | `POST /labs/auth/login` | signs a demo user in: a session cookie, or a JWT and a refresh token |
//! | `POST /labs/auth/refresh` | trades a refresh token for a new pair; a reused one revokes its family |
//! | `POST /labs/auth/logout` | ends the session, or revokes the refresh token's family |
//! | `GET /labs/auth/me` | the signed-in demo user, from the cookie or the bearer token |
//! | `GET`/`POST /labs/auth/products`, `DELETE .../{id}`, `POST .../{id}/buy` | the shop, guarded by the student's permission matrix |
//! | `POST /labs/auth/users/{username}/ban` | bans a demo user (an admin action by default) |
//! | `POST /labs/auth/totp/enrol`, `/totp/confirm` | two-factor sign-in for a demo user (see [`totp`]) |
//! | `GET /labs/auth/oauth/start`, `/authorize`, `/callback`, `POST /oauth/token` | "sign in with Workbench ID": OAuth 2.0 code flow with PKCE (see [`oauth`]) |
//!
//! The demo users have nothing to do with the workbench's own accounts:
//! their table, their routes and (later) their cookie are the lab's own.

mod checks;
mod hashing;
pub mod oauth;
pub(crate) mod pool;
pub(crate) mod rbac;
mod shop;
mod tokens;
pub mod totp;
mod users;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Lab, LabSettings};
use crate::grading::lab::LabChecks;
use crate::labs::Labs;

pub use model::labs::auth::{AuthSettings, Mechanism};

/// The auth lab.
pub struct AuthLab;

impl Lab for AuthLab {
    const NAME: &'static str = "auth";
    const TITLE: &'static str = "Authentication and authorisation";
    type Settings = AuthSettings;
    type State = pool::LabHashing;
    const SHOP_TABLES: &'static str = shop::TABLES;

    fn state(_context: &super::LabContext) -> Self::State {
        pool::LabHashing::default()
    }

    const OWN_FORGERY_CHECK_ROUTES: &'static [&'static str] = &["/products"];

    fn routes(_state: &Labs) -> OpenApiRouter<Labs> {
        described_routes()
    }

    fn checks() -> Option<LabChecks> {
        Some(LabChecks {
            lab: Self::NAME,
            load: checks::load,
        })
    }

    fn forget_idle(labs: &Labs) {
        labs.get::<Self>().forget_idle();
    }
}

/// The lab's routes, each registered with its OpenAPI description.
fn described_routes() -> OpenApiRouter<Labs> {
    OpenApiRouter::default()
        .routes(routes!(users::list, users::register, users::clear))
        .routes(routes!(users::verify))
        .routes(routes!(tokens::login))
        .routes(routes!(tokens::refresh))
        .routes(routes!(tokens::logout))
        .routes(routes!(tokens::me))
        .routes(routes!(rbac::list, rbac::add))
        .routes(routes!(rbac::delete))
        .routes(routes!(rbac::buy))
        .routes(routes!(rbac::ban))
        .routes(routes!(totp::enrol))
        .routes(routes!(totp::confirm))
        .routes(routes!(oauth::start))
        .routes(routes!(oauth::authorize))
        .routes(routes!(oauth::token))
        .routes(routes!(oauth::callback))
        .routes(routes!(hashing::race))
}

/// Bounds on what a student may set: enough to feel the cost, never enough
/// to take the server down (memory is per concurrent hash).
const M_KIB: (u32, u32) = (8 * 1024, 64 * 1024);
const T_COST: (u32, u32) = (1, 4);
const P_COST: (u32, u32) = (1, 2);

/// Whether a stored hash costs no more to check than the settings allow:
/// hashes in the shop are the student's data, written with SQL at any cost.
fn affordable(m_kib: u32, t: u32, p: u32) -> bool {
    m_kib <= M_KIB.1 && t <= T_COST.1 && p <= P_COST.1
}

impl LabSettings for AuthSettings {
    fn validate(&self) -> Result<(), String> {
        for (name, value, (low, high)) in [
            ("argon2_m_kib", self.argon2_m_kib, M_KIB),
            ("argon2_t", self.argon2_t, T_COST),
            ("argon2_p", self.argon2_p, P_COST),
            ("access_token_secs", self.access_token_secs, (10, 3600)),
            ("session_secs", self.session_secs, (60, 86_400)),
        ] {
            if !(low..=high).contains(&value) {
                return Err(format!(
                    "{name} must be between {low} and {high}, not {value}"
                ));
            }
        }
        rbac::validate_policy(&self.policy)
    }
}

/// What the lab's hashing makes of the settings.
pub trait HashingCost {
    /// The argon2 parameters these settings stand for.
    fn params(&self) -> argon2::Params;
}

impl HashingCost for AuthSettings {
    fn params(&self) -> argon2::Params {
        argon2::Params::new(self.argon2_m_kib, self.argon2_t, self.argon2_p, None)
            .expect("validated settings make valid parameters")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_settings_are_bounded_and_name_the_field() {
        assert!(AuthSettings::default().validate().is_ok());
        let too_much = AuthSettings {
            argon2_m_kib: 1 << 20,
            ..AuthSettings::default()
        };
        assert!(too_much.validate().unwrap_err().contains("argon2_m_kib"));
        let zero = AuthSettings {
            argon2_t: 0,
            ..AuthSettings::default()
        };
        assert!(zero.validate().unwrap_err().contains("argon2_t"));
        assert_eq!(AuthSettings::default().params().m_cost(), 19 * 1024);
    }

    #[test]
    fn every_route_is_described_once_with_an_operation_id_of_its_own() {
        let (_, described) = described_routes().split_for_parts();
        let mut document = crate::labs::contract::lab_part::<AuthLab>(described);
        let mut routes = Vec::new();
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in document.paths.paths.iter_mut() {
            for (method, operation) in crate::labs::contract::operations_mut(item) {
                let method = method.to_ascii_uppercase();
                routes.push(format!("{method} {path}"));
                let id = operation.operation_id.clone().unwrap_or_default();
                assert!(ids.insert(id.clone()), "{id} is used twice");
                assert!(
                    operation.summary.is_some(),
                    "{method} {path} has no summary"
                );
                assert!(
                    operation
                        .responses
                        .responses
                        .keys()
                        .any(|status| status.starts_with('2') || status.starts_with('3')),
                    "{method} {path} documents no success"
                );
            }
        }
        routes.sort();
        let mut expected = [
            "GET /users",
            "POST /users",
            "DELETE /users",
            "POST /verify",
            "POST /login",
            "POST /refresh",
            "POST /logout",
            "GET /me",
            "GET /products",
            "POST /products",
            "DELETE /products/{id}",
            "POST /products/{id}/buy",
            "POST /users/{username}/ban",
            "POST /totp/enrol",
            "POST /totp/confirm",
            "GET /oauth/start",
            "GET /oauth/authorize",
            "POST /oauth/token",
            "GET /oauth/callback",
            "GET /hash-race",
            "GET /settings",
            "PUT /settings",
            "DELETE /settings",
        ];
        expected.sort();
        assert_eq!(routes, expected);
    }
}
