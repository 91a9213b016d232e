//! The auth lab's wire types: demo users and their stored hashes, password
//! checks, signing in (sessions, JWTs, two-factor codes, OAuth), the demo
//! shop's products, and the lab's settings with the permission matrix
//! (roles × actions).
//!
//! Objects the lab used to build as JSON maps (the session sign-in, the
//! signed-in user, a decoded token, a purchase) keep their fields in
//! alphabetical order, so they serialise exactly as before.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything a demo user might do, in the order the matrix shows them.
pub const ACTIONS: [&str; 6] = [
    "browse",
    "buy",
    "add_product",
    "delete_any_product",
    "delete_own_product",
    "ban_user",
];

/// The demo roles.
pub const ROLES: [&str; 3] = ["buyer", "seller", "admin"];

/// The matrix a student starts with. Deliberately loose: sellers may delete
/// any product, which the lessons ask the student to fix.
pub fn default_policy() -> BTreeMap<String, Vec<String>> {
    let grant = |actions: &[&str]| actions.iter().map(|a| a.to_string()).collect();
    BTreeMap::from([
        ("buyer".to_string(), grant(&["browse", "buy"])),
        (
            "seller".to_string(),
            grant(&["browse", "buy", "add_product", "delete_any_product"]),
        ),
        ("admin".to_string(), grant(&ACTIONS)),
    ])
}

/// How the demo shop remembers a signed-in user.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Mechanism {
    /// A random id in a cookie, mapped to a record on the server.
    #[default]
    Session,
    /// A signed access token the client sends back, plus a refresh token.
    Jwt,
}

/// What a student may change in the auth lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Sessions or JWTs.
    pub mechanism: Mechanism,
    /// How long an access token (JWT mode) lives, in seconds (10 to 3600).
    pub access_token_secs: u32,
    /// How long a session or refresh token lives, in seconds (60 to 86400).
    pub session_secs: u32,
    /// The permission matrix: for each role, the actions it may take.
    pub policy: BTreeMap<String, Vec<String>>,
    /// argon2id memory cost in KiB (8192 to 65536).
    pub argon2_m_kib: u32,
    /// argon2id iterations (1 to 4).
    pub argon2_t: u32,
    /// argon2id lanes (1 or 2).
    pub argon2_p: u32,
    /// Whether `POST /labs/auth/products` refuses requests a browser marks as
    /// coming from another origin (on by default). Off, a forged form post
    /// from another page adds a product as the signed-in demo user: the CSRF
    /// demo.
    pub csrf_check: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            mechanism: Mechanism::Session,
            access_token_secs: 300,
            session_secs: 3600,
            policy: default_policy(),
            argon2_m_kib: 19 * 1024,
            argon2_t: 2,
            argon2_p: 1,
            csrf_check: true,
        }
    }
}

/// `POST /labs/auth/users`: a demo user to register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// 1 to 32 letters, digits, `.`, `-` or `_`.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z0-9._-]{1,32}$"))]
    pub username: String,
    /// 1 to 128 characters (weak ones welcome: this is a demo).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 128))]
    pub password: String,
    /// `buyer` (when left out), `seller` or `admin`.
    #[serde(default = "default_role")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^(buyer|seller|admin)$"))]
    pub role: String,
}

/// The role of a registration that names none.
fn default_role() -> String {
    "buyer".into()
}

/// A stored PHC string taken apart, as the hash widget shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HashParts {
    /// The whole stored string.
    pub phc: String,
    /// `argon2id`.
    pub algorithm: String,
    /// The argon2 version (19 is 0x13).
    pub version: Option<u32>,
    /// Memory in KiB.
    pub m_kib: Option<u32>,
    /// Iterations.
    pub t: Option<u32>,
    /// Lanes.
    pub p: Option<u32>,
    /// The salt, base64 without padding.
    pub salt: String,
    /// The hash output, base64 without padding.
    pub hash: String,
}

/// A demo user as `GET /labs/auth/users` lists them and `POST` answers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemoUser {
    /// The user's name.
    pub username: String,
    /// `buyer`, `seller` or `admin`.
    pub role: String,
    /// The stored hash taken apart (`None` if it is not a PHC string).
    pub stored: Option<HashParts>,
    /// How long hashing took, when this answer made the hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_ms: Option<u64>,
}

/// `POST /labs/auth/verify`'s body: a password to check against a demo user's hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordAttempt {
    /// The demo user.
    pub username: String,
    /// The password to check.
    pub password: String,
}

/// `POST /labs/auth/verify`'s answer: whether the password matched, and
/// how long the check took (an unknown user is checked against a decoy, so
/// the time does not tell who exists).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordVerification {
    /// Whether the password matches the user's stored hash.
    pub matched: bool,
    /// How long the check took, in milliseconds.
    pub took_ms: u64,
}

/// `GET /labs/auth/hash-race`'s answer: guesses per second against unsalted
/// SHA-256 and against argon2id, measured on the server just now.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HashRace {
    /// SHA-256 guesses per second.
    pub sha256_guesses_per_second: f64,
    /// argon2id guesses per second, at the student's settings.
    pub argon2id_guesses_per_second: f64,
    /// The argon2id parameters used, e.g. `m=19456 KiB, t=2, p=1`.
    pub argon2id_params: String,
    /// How many times slower argon2id guessing is.
    pub argon2id_slower_by: f64,
    /// Hours one core needs to try every 8-letter lowercase password:
    /// against SHA-256, then against argon2id.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<f64>, min_items = 2, max_items = 2))]
    pub eight_lowercase_letters_hours: (f64, f64),
}

/// `POST /labs/auth/login`'s body: a password, and a code when the user
/// has two-factor sign-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The demo user.
    pub username: String,
    /// Their password.
    pub password: String,
    /// The six-digit code from their authenticator, when they enrolled one.
    pub code: Option<String>,
}

/// `POST /labs/auth/login`'s answer in session mode (the session id itself
/// travels in the `lab_session` cookie). Fields in alphabetical order, as
/// the JSON map it used to be.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionStarted {
    /// When the session ends, in Unix seconds.
    pub expires_at: i64,
    /// Always [`Mechanism::Session`].
    pub mechanism: Mechanism,
    /// The user's role.
    pub role: String,
    /// The user signed in.
    pub username: String,
}

/// `POST /labs/auth/login`'s answer in JWT mode, and `POST
/// /labs/auth/refresh`'s: an access token, a refresh token, and what the
/// access token says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenPair {
    /// Always [`Mechanism::Jwt`].
    pub mechanism: Mechanism,
    /// `Bearer`.
    pub token_type: String,
    /// The signed HS256 access token.
    pub access_token: String,
    /// How long the access token lives, in seconds.
    pub expires_in: u32,
    /// The one-use refresh token.
    pub refresh_token: String,
    /// The access token's header and claims, decoded.
    pub decoded: DecodedToken,
}

/// An access token's header and claims, as a [`TokenPair`] shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecodedToken {
    /// What the token says.
    pub claims: AccessClaims,
    /// How it is signed.
    pub header: TokenHeader,
}

/// The header of a lab access token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenHeader {
    /// The signing algorithm: `HS256`.
    pub alg: String,
    /// The token's type: `JWT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
}

/// What the lab's access tokens say (a JWT's claims). Fields in alphabetical
/// order, as the decoded view's JSON map had them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessClaims {
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// The demo user's role.
    pub role: String,
    /// The student whose sandbox the user lives in.
    pub stu: String,
    /// The demo user.
    pub sub: String,
}

/// `POST /labs/auth/refresh`'s body, and `POST /labs/auth/logout`'s in JWT mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token a [`TokenPair`] gave.
    pub refresh_token: String,
}

/// `GET /labs/auth/me`'s answer: who the request is signed in as.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedInUser {
    /// Their role.
    pub role: String,
    /// The demo user.
    pub username: String,
}

/// `GET /labs/auth/products`' items, and `POST /labs/auth/products`' answer:
/// a product of the demo shop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The demo user who added it.
    pub owner: String,
}

/// `POST /labs/auth/products`' body: a product to add.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    /// Its name (1 to 80 characters, not counting spaces around it).
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 80, pattern = r"\S")
    )]
    pub name: String,
}

/// `POST /labs/auth/products/{id}/buy`'s answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Purchase {
    /// The product bought.
    pub bought: i64,
    /// The demo user who bought it.
    pub by: String,
}

/// `POST /labs/auth/totp/enrol`'s answer: a new secret, three ways.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrolment {
    /// The shared secret, base32 without padding.
    pub secret: String,
    /// The `otpauth://` URI authenticator apps read.
    pub otpauth_uri: String,
    /// That URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// `POST /labs/auth/totp/confirm`'s body: a first code, to confirm the
/// authenticator holds the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmation {
    /// The six-digit code the authenticator shows.
    pub code: String,
}

/// `POST /labs/auth/totp/confirm`'s answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorEnabled {
    /// Whether two-factor sign-in is now on (always `true`).
    pub two_factor: bool,
}

/// `GET /labs/auth/oauth/authorize`'s query: the client's authorization request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct OAuthAuthorizationRequest {
    /// `code`.
    #[cfg_attr(feature = "openapi", param(pattern = "^code$"))]
    pub response_type: String,
    /// The client asking: the lab knows one, `demo-shop`.
    #[cfg_attr(feature = "openapi", param(pattern = "^demo-shop$"))]
    pub client_id: String,
    /// Where to send the code; must be the one registered,
    /// `/labs/auth/oauth/callback`.
    #[cfg_attr(feature = "openapi", param(pattern = "^/labs/auth/oauth/callback$"))]
    pub redirect_uri: String,
    /// The client's random value, carried back unchanged (at most 512
    /// bytes; RFC 6749 allows printable ASCII).
    #[cfg_attr(feature = "openapi", param(pattern = r"^[\x20-\x7E]{0,512}$"))]
    pub state: String,
    /// The S256 PKCE challenge: 43 to 128 characters of `A-Z a-z 0-9 - . _ ~`.
    #[cfg_attr(feature = "openapi", param(pattern = "^[A-Za-z0-9._~-]{43,128}$"))]
    pub code_challenge: String,
    /// `S256`.
    #[cfg_attr(feature = "openapi", param(pattern = "^S256$"))]
    pub code_challenge_method: String,
}

/// `POST /labs/auth/oauth/token`'s body: a code to exchange for a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthTokenRequest {
    /// `authorization_code`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^authorization_code$"))]
    pub grant_type: String,
    /// The one-time code the authorization gave.
    pub code: String,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// The client of the authorization request.
    pub client_id: String,
    /// The PKCE verifier whose SHA-256 is the challenge.
    pub code_verifier: String,
}

/// `POST /labs/auth/oauth/token`'s answer: an access token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthTokenResponse {
    /// The signed access token.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// How long it lives, in seconds.
    pub expires_in: u32,
    /// The demo user it was issued for.
    pub username: String,
}

/// `GET /labs/auth/oauth/callback`'s query: the authorization server's
/// answer, as it reaches the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct OAuthCallbackQuery {
    /// The one-time code.
    pub code: String,
    /// The `state` the client sent.
    pub state: String,
}

/// `GET /labs/auth/oauth/callback`'s answer: the shop signed the user in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthSignedIn {
    /// The demo user.
    pub signed_in_as: String,
    /// `Workbench ID`.
    pub via: String,
}

/// The body of a refused OAuth request (`/labs/auth/oauth/authorize`,
/// `/token` and `/callback`), as RFC 6749 writes errors.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthError {
    /// The error code, e.g. `invalid_grant`.
    pub error: String,
    /// What went wrong, in words.
    pub error_description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a JSON map (which orders its keys alphabetically) makes of `value`.
    fn as_map<T: Serialize>(value: &T) -> String {
        serde_json::to_value(value).unwrap().to_string()
    }

    #[test]
    fn answers_once_built_as_json_maps_serialise_as_they_used_to() {
        let session = SessionStarted {
            expires_at: 60,
            mechanism: Mechanism::Session,
            role: "buyer".into(),
            username: "ada".into(),
        };
        assert_eq!(
            serde_json::to_string(&session).unwrap(),
            r#"{"expires_at":60,"mechanism":"session","role":"buyer","username":"ada"}"#
        );
        let decoded = DecodedToken {
            claims: AccessClaims {
                exp: 20,
                iat: 10,
                role: "admin".into(),
                stu: "s1".into(),
                sub: "ada".into(),
            },
            header: TokenHeader {
                alg: "HS256".into(),
                typ: Some("JWT".into()),
            },
        };
        assert_eq!(serde_json::to_string(&decoded).unwrap(), as_map(&decoded));
        let user = SignedInUser {
            role: "seller".into(),
            username: "sam".into(),
        };
        assert_eq!(serde_json::to_string(&user).unwrap(), as_map(&user));
        let purchase = Purchase {
            bought: 3,
            by: "bo".into(),
        };
        assert_eq!(
            serde_json::to_string(&purchase).unwrap(),
            r#"{"bought":3,"by":"bo"}"#
        );
        let signed_in = OAuthSignedIn {
            signed_in_as: "ada".into(),
            via: "Workbench ID".into(),
        };
        assert_eq!(
            serde_json::to_string(&signed_in).unwrap(),
            as_map(&signed_in)
        );
        let error = OAuthError {
            error: "invalid_grant".into(),
            error_description: "unknown code".into(),
        };
        assert_eq!(serde_json::to_string(&error).unwrap(), as_map(&error));
    }

    #[test]
    fn a_header_without_a_type_leaves_it_out() {
        let header = TokenHeader {
            alg: "HS256".into(),
            typ: None,
        };
        assert_eq!(
            serde_json::to_string(&header).unwrap(),
            r#"{"alg":"HS256"}"#
        );
    }

    #[test]
    fn a_sign_in_needs_no_code_and_refuses_unknown_fields() {
        let sign_in: SignIn =
            serde_json::from_str(r#"{"username":"ada","password":"hunter2"}"#).unwrap();
        assert_eq!(sign_in.code, None);
        assert!(serde_json::from_str::<SignIn>(
            r#"{"username":"ada","password":"hunter2","role":"admin"}"#
        )
        .is_err());
    }
}
