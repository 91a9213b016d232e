//! Accounts in the platform database.

use crate::db::Pool;
use sqlx::Row;

use super::{Account, Role};
use crate::students::StudentId;

const ACCOUNT_COLUMNS: &str =
    "student_id, email, display_name, role, session_epoch, created_at, password_hash";

fn account_from_row(row: &sqlx::any::AnyRow) -> Result<(Account, String), sqlx::Error> {
    let role: String = row.try_get("role")?;
    let role = Role::parse(&role).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: "role".into(),
        source: format!("unknown role {role:?}").into(),
    })?;
    let account = Account {
        id: StudentId::from_raw(row.try_get::<String, _>("student_id")?),
        email: row.try_get("email")?,
        name: row.try_get("display_name")?,
        role,
        session_epoch: row.try_get("session_epoch")?,
        created_at: row.try_get("created_at")?,
    };
    Ok((account, row.try_get("password_hash")?))
}

/// The account with this (normalised) email and its password hash.
pub async fn find_by_email(
    pool: &Pool,
    email: &str,
) -> Result<Option<(Account, String)>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1"
    ))
    .bind(email)
    .fetch_optional(pool)
    .await?
    .map(|row| account_from_row(&row))
    .transpose()
}

/// The account with this student id and its password hash.
pub async fn find(pool: &Pool, id: &StudentId) -> Result<Option<(Account, String)>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE student_id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(pool)
    .await?
    .map(|row| account_from_row(&row))
    .transpose()
}

/// Every account, oldest first.
pub async fn list(pool: &Pool) -> Result<Vec<Account>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY created_at, email"
    ))
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| account_from_row(row).map(|(account, _)| account))
    .collect()
}

/// The details of an account to create.
pub struct NewAccount<'a> {
    /// Normalised email.
    pub email: &'a str,
    /// Checked display name.
    pub name: &'a str,
    /// PHC string.
    pub password_hash: &'a str,
    /// Role to start with.
    pub role: Role,
}

/// Creates an account. When `guest` names a guest student, the account takes
/// over that student's id, and with it everything the guest did. Returns
/// `None` when the email is taken.
pub async fn create(
    pool: &Pool,
    guest: Option<&StudentId>,
    new: NewAccount<'_>,
    now: i64,
) -> Result<Option<Account>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let promoted_guest = match guest {
        Some(guest) => {
            sqlx::query("UPDATE students SET kind = 'account' WHERE id = $1 AND kind = 'guest'")
                .bind(guest.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1
        }
        None => false,
    };
    let id = match guest {
        Some(guest) if promoted_guest => guest.clone(),
        _ => {
            let id = StudentId::new_random();
            sqlx::query("INSERT INTO students (id, kind, created_at) VALUES ($1, 'account', $2)")
                .bind(id.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            id
        }
    };
    let inserted = sqlx::query(
        "INSERT INTO accounts (student_id, email, display_name, password_hash, role, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (email) DO NOTHING",
    )
    .bind(id.as_str())
    .bind(new.email)
    .bind(new.name)
    .bind(new.password_hash)
    .bind(new.role.as_str())
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        // Taken: roll back, so a promoted guest stays a guest.
        return Ok(None);
    }
    tx.commit().await?;
    Ok(Some(Account {
        id,
        email: new.email.to_string(),
        name: new.name.to_string(),
        role: new.role,
        session_epoch: 0,
        created_at: now,
    }))
}

/// Replaces the password hash; with `end_sessions`, also voids every session
/// signed in so far. Returns the account's session epoch afterwards.
pub async fn set_password_hash(
    pool: &Pool,
    id: &StudentId,
    password_hash: &str,
    end_sessions: bool,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE accounts SET password_hash = $1, updated_at = $2,
             session_epoch = session_epoch + $3
         WHERE student_id = $4 RETURNING session_epoch",
    )
    .bind(password_hash)
    .bind(now)
    .bind(i64::from(end_sessions))
    .bind(id.as_str())
    .fetch_one(pool)
    .await
}

/// Voids every session of the account.
pub async fn end_all_sessions(pool: &Pool, id: &StudentId, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE accounts SET session_epoch = session_epoch + 1, updated_at = $1 WHERE student_id = $2",
    )
    .bind(now)
    .bind(id.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives the account with this email a new role. Returns `false` when there
/// is no such account. An account that is no longer an instructor loses its
/// API tokens for good: they were made for a role it no longer has.
pub async fn set_role(pool: &Pool, email: &str, role: Role, now: i64) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let changed = sqlx::query("UPDATE accounts SET role = $1, updated_at = $2 WHERE email = $3")
        .bind(role.as_str())
        .bind(now)
        .bind(email)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if role < Role::Instructor {
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1
             WHERE revoked_at IS NULL AND created_by IN (SELECT student_id FROM accounts WHERE email = $2)",
        )
        .bind(now)
        .bind(email)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(changed == 1)
}

/// Attaches what a guest did to the account they signed in to, then forgets
/// the guest: lab settings (where both changed the same lab's, the newer
/// wins), exercise attempts, opened hints, lessons read and class
/// memberships. What labs keep in the student's shop moves with the shop
/// (see `labs::adopt_guest`).
///
/// Every platform table keyed by student id joins this function, so
/// nothing a guest made is lost when they sign in.
pub async fn carry_over_guest(
    pool: &Pool,
    guest: &StudentId,
    account: &StudentId,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let is_guest: Option<String> =
        sqlx::query_scalar("SELECT kind FROM students WHERE id = $1 AND kind = 'guest'")
            .bind(guest.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    if is_guest.is_none() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO lab_settings (student_id, lab, settings, updated_at)
         SELECT $1, lab, settings, updated_at FROM lab_settings WHERE student_id = $2
         ON CONFLICT (student_id, lab) DO UPDATE SET
             settings = excluded.settings, updated_at = excluded.updated_at
         WHERE excluded.updated_at >= lab_settings.updated_at",
    )
    .bind(account.as_str())
    .bind(guest.as_str())
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE attempts SET student_id = $1 WHERE student_id = $2")
        .bind(account.as_str())
        .bind(guest.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO hints_opened (student_id, exercise, opened)
         SELECT $1, exercise, opened FROM hints_opened WHERE student_id = $2
         ON CONFLICT (student_id, exercise) DO UPDATE SET
             opened = CASE WHEN excluded.opened > hints_opened.opened
                 THEN excluded.opened ELSE hints_opened.opened END",
    )
    .bind(account.as_str())
    .bind(guest.as_str())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO lessons_read (student_id, lesson, read_at)
         SELECT $1, lesson, read_at FROM lessons_read WHERE student_id = $2
         ON CONFLICT DO NOTHING",
    )
    .bind(account.as_str())
    .bind(guest.as_str())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO class_members (class_id, student_id, display_name, joined_at)
         SELECT class_id, $1, display_name, joined_at FROM class_members WHERE student_id = $2
         ON CONFLICT DO NOTHING",
    )
    .bind(account.as_str())
    .bind(guest.as_str())
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM students WHERE id = $1")
        .bind(guest.as_str())
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
