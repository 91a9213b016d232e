//! The auth lab's wire types: demo users and their stored hashes, and the
//! lab's settings with the permission matrix (roles × actions).

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
        }
    }
}

/// `POST /labs/auth/users`: a demo user to register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// 1 to 32 letters, digits, `.`, `-` or `_`.
    pub username: String,
    /// 1 to 128 characters (weak ones welcome: this is a demo).
    pub password: String,
    /// `buyer` (when left out), `seller` or `admin`.
    #[serde(default = "default_role")]
    pub role: String,
}

/// The role of a registration that names none.
fn default_role() -> String {
    "buyer".into()
}

/// A stored PHC string taken apart, as the hash widget shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
