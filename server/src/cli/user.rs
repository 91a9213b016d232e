//! `workbench user add EMAIL --role ROLE`: creates an account, or gives an
//! existing one a new role, straight in the platform database.

use std::io::{BufRead, IsTerminal};

use crate::accounts::password::check_new_password;
use crate::accounts::store::{self, NewAccount};
use crate::accounts::{check_display_name, normalize_email, Passwords};
use crate::config::UserAddArgs;
use crate::db::{self, unix_now};

/// What `user add` did, for the message it prints.
#[derive(Debug, PartialEq, Eq)]
pub enum UserAdded {
    /// A new account.
    Created,
    /// An existing account got the role.
    RoleChanged,
}

/// Why `user add` failed; printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum UserAddError {
    /// The email, name or password broke a rule.
    #[error("{0}")]
    Invalid(String),
    /// The database could not be opened.
    #[error(transparent)]
    Database(#[from] db::DatabaseError),
    /// A query failed.
    #[error("database: {0}")]
    Query(#[from] sqlx::Error),
    /// Reading the password failed.
    #[error("cannot read the password: {0}")]
    Input(#[from] std::io::Error),
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] crate::error::InternalError),
}

/// Runs `workbench user add`. The password is asked for only when the
/// account is new.
pub async fn add_user(args: &UserAddArgs) -> Result<UserAdded, UserAddError> {
    let email = normalize_email(&args.email).map_err(|e| UserAddError::Invalid(e.into()))?;
    let pool = db::connect(&args.database.url()).await?;
    let now = unix_now();
    if store::set_role(&pool, &email, args.role, now).await? {
        return Ok(UserAdded::RoleChanged);
    }
    let default_name = email.split('@').next().unwrap_or_default().to_string();
    let name = check_display_name(args.name.as_deref().unwrap_or(&default_name))
        .map_err(|e| UserAddError::Invalid(e.into()))?;
    let password = read_new_password(&email)?;
    check_new_password(&password, &email)
        .map_err(|rule| UserAddError::Invalid(rule.to_string()))?;
    let password_hash = Passwords::owasp().hash(password).await?;
    let new = NewAccount {
        email: &email,
        name: &name,
        password_hash: &password_hash,
        role: args.role,
    };
    match store::create(&pool, None, new, now).await? {
        Some(_) => Ok(UserAdded::Created),
        // Created by someone else between the two statements: set the role on theirs.
        None if store::set_role(&pool, &email, args.role, now).await? => Ok(UserAdded::RoleChanged),
        None => Err(UserAddError::Invalid(format!("could not create {email}"))),
    }
}

/// Reads the password from a hidden prompt (typed twice), or from the first
/// line of standard input when a script pipes it in.
fn read_new_password(email: &str) -> Result<String, UserAddError> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {email}: "))?;
        let again = rpassword::prompt_password("Type it again: ")?;
        if first != again {
            return Err(UserAddError::Invalid("the two passwords differ".into()));
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}
