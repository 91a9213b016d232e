//! Classes, their members and deadlines in the platform database.

use crate::db::Pool;
use sqlx::Row;

use super::{new_code, Class, ClassSpec};
use crate::accounts::{Account, Role};
use crate::students::StudentId;

const CLASS_COLUMNS: &str =
    "id, code, name, owner_id, starts_on, ends_on, capacity, utc_offset_minutes, created_at";

fn class_from_row(row: &sqlx::any::AnyRow) -> Result<Class, sqlx::Error> {
    Ok(Class {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        owner: StudentId::from_raw(row.try_get::<String, _>("owner_id")?),
        starts_on: row.try_get("starts_on")?,
        ends_on: row.try_get("ends_on")?,
        capacity: row.try_get::<i64, _>("capacity")? as u32,
        utc_offset_minutes: row.try_get::<i64, _>("utc_offset_minutes")? as i32,
        created_at: row.try_get("created_at")?,
    })
}

/// Creates a class run by `owner`, with a fresh join code.
pub async fn create(
    pool: &Pool,
    owner: &StudentId,
    spec: &ClassSpec,
    now: i64,
) -> Result<Class, sqlx::Error> {
    let id = format!("c{:024x}", rand::random::<u128>() >> 32);
    loop {
        let code = new_code();
        let inserted = sqlx::query(
            "INSERT INTO classes (id, code, name, owner_id, starts_on, ends_on, capacity, utc_offset_minutes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (code) DO NOTHING",
        )
        .bind(&id)
        .bind(&code)
        .bind(&spec.name)
        .bind(owner.as_str())
        .bind(&spec.starts_on)
        .bind(&spec.ends_on)
        .bind(i64::from(spec.capacity))
        .bind(i64::from(spec.utc_offset_minutes))
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(find(pool, &id).await?.expect("the class was just made"));
        }
        // Another class has this code already: draw again.
    }
}

/// Gives the class a fresh join code: the old link stops working (for a
/// code that leaked). Returns the new code.
pub async fn new_code_for(pool: &Pool, class_id: &str) -> Result<String, sqlx::Error> {
    loop {
        let code = new_code();
        let changed = sqlx::query(
            "UPDATE classes SET code = $1 WHERE id = $2 AND NOT EXISTS (SELECT 1 FROM classes WHERE code = $1)",
        )
        .bind(&code)
        .bind(class_id)
        .execute(pool)
        .await?
        .rows_affected();
        if changed == 1 {
            return Ok(code);
        }
    }
}

/// The class with this id.
pub async fn find(pool: &Pool, id: &str) -> Result<Option<Class>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {CLASS_COLUMNS} FROM classes WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .map(|row| class_from_row(&row))
    .transpose()
}

/// The class with this (normalised) join code.
pub async fn find_by_code(pool: &Pool, code: &str) -> Result<Option<Class>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {CLASS_COLUMNS} FROM classes WHERE code = $1"
    ))
    .bind(code)
    .fetch_optional(pool)
    .await?
    .map(|row| class_from_row(&row))
    .transpose()
}

/// The classes `account` runs (every class, for an admin), newest first,
/// with their member counts.
pub async fn run_by(pool: &Pool, account: &Account) -> Result<Vec<(Class, u32)>, sqlx::Error> {
    let owner = (account.role < Role::Admin).then_some(&account.id);
    listed(pool, owner).await
}

/// Every class, for the command line.
pub async fn all(pool: &Pool) -> Result<Vec<(Class, u32)>, sqlx::Error> {
    listed(pool, None).await
}

/// The classes `owner` runs, or every class; newest first, with member counts.
async fn listed(pool: &Pool, owner: Option<&StudentId>) -> Result<Vec<(Class, u32)>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {CLASS_COLUMNS}, (SELECT COUNT(*) FROM class_members m WHERE m.class_id = classes.id) AS members
         FROM classes WHERE $1 IS NULL OR owner_id = $1 ORDER BY created_at DESC, name"
    ))
    .bind(owner.map(StudentId::as_str))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                class_from_row(row)?,
                row.try_get::<i64, _>("members")? as u32,
            ))
        })
        .collect()
}

/// What joining did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Joined {
    /// A new member.
    Joined,
    /// They were a member already.
    AlreadyMember,
    /// The class has no places left.
    Full,
}

/// Makes `student` a member of `class` under `display_name`, if it has room.
pub async fn join(
    pool: &Pool,
    class: &Class,
    student: &StudentId,
    display_name: &str,
    now: i64,
) -> Result<Joined, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The class's row is locked first (PostgreSQL keeps the lock to the
    // commit; SQLite's write lock is the whole database's), so two joins
    // for the last place queue here and the second counts the first's
    // member. Without it, PostgreSQL's statements would each count the
    // members committed before they began, and both would get in.
    sqlx::query("UPDATE classes SET capacity = capacity WHERE id = $1")
        .bind(&class.id)
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO class_members (class_id, student_id, display_name, joined_at)
         SELECT $1, $2, $3, $4 WHERE (SELECT COUNT(*) FROM class_members WHERE class_id = $1) < $5
         ON CONFLICT (class_id, student_id) DO NOTHING",
    )
    .bind(&class.id)
    .bind(student.as_str())
    .bind(display_name)
    .bind(now)
    .bind(i64::from(class.capacity))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    if inserted == 1 {
        return Ok(Joined::Joined);
    }
    Ok(if is_member(pool, &class.id, student).await? {
        Joined::AlreadyMember
    } else {
        Joined::Full
    })
}

/// How many members the class has.
pub async fn member_count(pool: &Pool, class_id: &str) -> Result<u32, sqlx::Error> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM class_members WHERE class_id = $1")
        .bind(class_id)
        .fetch_one(pool)
        .await?;
    Ok(count as u32)
}

/// Whether `student` is in the class.
pub async fn is_member(
    pool: &Pool,
    class_id: &str,
    student: &StudentId,
) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM class_members WHERE class_id = $1 AND student_id = $2",
    )
    .bind(class_id)
    .bind(student.as_str())
    .fetch_one(pool)
    .await?;
    Ok(count > 0)
}

/// A member as the instructor sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Their student id.
    pub id: StudentId,
    /// The account's name, or the name a guest gave.
    pub name: String,
    /// The account's email; `None` for a guest.
    pub email: Option<String>,
    /// Unix seconds.
    pub joined_at: i64,
}

/// The class's members, by name.
pub async fn members(pool: &Pool, class_id: &str) -> Result<Vec<Member>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT m.student_id, COALESCE(a.display_name, m.display_name) AS name, a.email, m.joined_at
         FROM class_members m LEFT JOIN accounts a ON a.student_id = m.student_id
         WHERE m.class_id = $1
         ORDER BY lower(COALESCE(a.display_name, m.display_name)), m.joined_at",
    )
    .bind(class_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Member {
                id: StudentId::from_raw(row.try_get::<String, _>("student_id")?),
                name: row.try_get("name")?,
                email: row.try_get("email")?,
                joined_at: row.try_get("joined_at")?,
            })
        })
        .collect()
}

/// Removes a member; `false` when they were not one.
pub async fn remove_member(
    pool: &Pool,
    class_id: &str,
    student: &StudentId,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM class_members WHERE class_id = $1 AND student_id = $2")
            .bind(class_id)
            .bind(student.as_str())
            .execute(pool)
            .await?
            .rows_affected()
            == 1,
    )
}

/// What adding members by email did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Added {
    /// Accounts that became members.
    pub added: Vec<String>,
    /// Accounts that were members already.
    pub already: Vec<String>,
    /// Emails with no account (they can join with the link once they have one).
    pub unknown: Vec<String>,
    /// Accounts left out because the class was full.
    pub no_room: Vec<String>,
}

/// Adds the accounts with these (normalised) emails.
pub async fn add_by_email(
    pool: &Pool,
    class: &Class,
    emails: &[String],
    now: i64,
) -> Result<Added, sqlx::Error> {
    let mut outcome = Added::default();
    for email in emails {
        let Some((account, _)) = crate::accounts::store::find_by_email(pool, email).await? else {
            outcome.unknown.push(email.clone());
            continue;
        };
        match join(pool, class, &account.id, &account.name, now).await? {
            Joined::Joined => outcome.added.push(email.clone()),
            Joined::AlreadyMember => outcome.already.push(email.clone()),
            Joined::Full => outcome.no_room.push(email.clone()),
        }
    }
    Ok(outcome)
}

/// Sets (or, with `None`, clears) the deadline of `module` in the class.
pub async fn set_deadline(
    pool: &Pool,
    class_id: &str,
    module: &str,
    due_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    match due_at {
        Some(due_at) => {
            sqlx::query(
                "INSERT INTO class_deadlines (class_id, module, due_at) VALUES ($1, $2, $3)
                 ON CONFLICT (class_id, module) DO UPDATE SET due_at = excluded.due_at",
            )
            .bind(class_id)
            .bind(module)
            .bind(due_at)
            .execute(pool)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM class_deadlines WHERE class_id = $1 AND module = $2")
                .bind(class_id)
                .bind(module)
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

/// The class's deadlines: `(module, due_at)`.
pub async fn deadlines(pool: &Pool, class_id: &str) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT module, due_at FROM class_deadlines WHERE class_id = $1 ORDER BY due_at",
    )
    .bind(class_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("module")?, row.try_get("due_at")?)))
        .collect()
}

/// One deadline a student has, from one of their classes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StudentDeadline {
    /// The class's name.
    pub class_name: String,
    /// The module slug.
    pub module: String,
    /// Unix seconds.
    pub due_at: i64,
    /// The class's local time.
    pub utc_offset_minutes: i32,
}

/// Every deadline of every class `student` is in, soonest first.
pub async fn deadlines_of(
    pool: &Pool,
    student: &StudentId,
) -> Result<Vec<StudentDeadline>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.name, d.module, d.due_at, c.utc_offset_minutes
         FROM class_members m
         JOIN classes c ON c.id = m.class_id
         JOIN class_deadlines d ON d.class_id = m.class_id
         WHERE m.student_id = $1 ORDER BY d.due_at, c.name",
    )
    .bind(student.as_str())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StudentDeadline {
                class_name: row.try_get("name")?,
                module: row.try_get("module")?,
                due_at: row.try_get("due_at")?,
                utc_offset_minutes: row.try_get::<i64, _>("utc_offset_minutes")? as i32,
            })
        })
        .collect()
}

/// The classes `student` is in: `(id, name, capacity)`.
pub async fn classes_of(
    pool: &Pool,
    student: &StudentId,
) -> Result<Vec<(String, String, u32)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.id, c.name, c.capacity FROM class_members m JOIN classes c ON c.id = m.class_id
         WHERE m.student_id = $1 ORDER BY m.joined_at",
    )
    .bind(student.as_str())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("id")?,
                row.try_get("name")?,
                row.try_get::<i64, _>("capacity")? as u32,
            ))
        })
        .collect()
}
