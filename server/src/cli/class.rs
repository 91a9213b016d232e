//! `workbench class ...`: classes from the command line, straight in the
//! platform database (for setting up a term, or exporting grades from a job).

use std::io::Write;

use crate::accounts::Role;
use crate::classes::{normalize_code, store, Class, NewClass};
use crate::config::{ClassAddMembersArgs, ClassCommand, ClassCreateArgs, ClassExportArgs};
use crate::db::{self, unix_now};
use crate::gradebook::{self, Cohort};
use engine::routes::classes::{describe_added, normalized_emails};

/// Why a `class` command failed; printed as one line, exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClassCommandError(pub String);

impl From<sqlx::Error> for ClassCommandError {
    fn from(error: sqlx::Error) -> Self {
        Self(format!("database: {error}"))
    }
}

impl From<db::DatabaseError> for ClassCommandError {
    fn from(error: db::DatabaseError) -> Self {
        Self(error.to_string())
    }
}

impl From<crate::error::ApiError> for ClassCommandError {
    fn from(error: crate::error::ApiError) -> Self {
        Self(error.to_string())
    }
}

/// Runs one `workbench class` command, writing its report to `out`.
pub async fn run(command: &ClassCommand, out: &mut impl Write) -> Result<(), ClassCommandError> {
    let write = |out: &mut dyn Write, text: String| {
        writeln!(out, "{text}").map_err(|e| ClassCommandError(e.to_string()))
    };
    match command {
        ClassCommand::Create(args) => {
            let class = create(args).await?;
            write(
                out,
                format!(
                    "created {:?} ({}): join code {}, join link /join/{}",
                    class.name, class.id, class.code, class.code
                ),
            )
        }
        ClassCommand::List(args) => {
            let pool = db::connect(&args.database.url()).await?;
            for (class, members) in store::all(&pool).await? {
                write(
                    out,
                    format!(
                        "{}\t{}\t{}/{} members\t{}",
                        class.code, class.id, members, class.capacity, class.name
                    ),
                )?;
            }
            Ok(())
        }
        ClassCommand::AddMembers(args) => {
            let text = std::fs::read_to_string(&args.csv).map_err(|e| {
                ClassCommandError(format!("cannot read {}: {e}", args.csv.display()))
            })?;
            let added = add_members(args, &text).await?;
            write(out, describe_added(&added))
        }
        ClassCommand::Export(args) => {
            let csv = export(args).await?;
            out.write_all(csv.as_bytes())
                .map_err(|e| ClassCommandError(e.to_string()))
        }
    }
}

async fn create(args: &ClassCreateArgs) -> Result<Class, ClassCommandError> {
    let pool = db::connect(&args.database.url()).await?;
    let owner =
        crate::accounts::normalize_email(&args.owner).map_err(|e| ClassCommandError(e.into()))?;
    let Some((owner, _)) = crate::accounts::store::find_by_email(&pool, &owner).await? else {
        return Err(ClassCommandError(format!(
            "no account has the email {owner}: create it first with `workbench user add {owner} --role instructor`"
        )));
    };
    if owner.role < Role::Instructor {
        return Err(ClassCommandError(format!(
            "{} is a {}; give the account the instructor role first",
            owner.email,
            owner.role.as_str()
        )));
    }
    let spec = NewClass {
        name: args.name.clone(),
        starts_on: args.starts.clone(),
        ends_on: args.ends.clone(),
        capacity: args.capacity,
        utc_offset: args.utc_offset.clone(),
    }
    .check()?;
    Ok(store::create(&pool, &owner.id, &spec, unix_now()).await?)
}

/// The class named by a join code or an id.
async fn find(pool: &db::Pool, which: &str) -> Result<Class, ClassCommandError> {
    if let Some(class) = store::find(pool, which).await? {
        return Ok(class);
    }
    store::find_by_code(pool, &normalize_code(which))
        .await?
        .ok_or_else(|| ClassCommandError(format!("no class has the code or id {which:?}")))
}

/// Emails from a CSV: every field that looks like an address, so a column
/// of emails, a roster with a header, or one per line all work.
fn emails_in(csv: &str) -> Vec<String> {
    csv.lines()
        .flat_map(|line| line.split([',', ';', '\t']))
        .map(|field| field.trim().trim_matches('"').trim())
        .filter(|field| field.contains('@'))
        .map(str::to_string)
        .collect()
}

async fn add_members(
    args: &ClassAddMembersArgs,
    csv: &str,
) -> Result<store::Added, ClassCommandError> {
    let pool = db::connect(&args.database.url()).await?;
    let class = find(&pool, &args.class).await?;
    let emails = normalized_emails(&emails_in(csv))?;
    Ok(store::add_by_email(&pool, &class, &emails, unix_now()).await?)
}

async fn export(args: &ClassExportArgs) -> Result<String, ClassCommandError> {
    let state = crate::build_state(&crate::config::ServeConfig::for_commands(
        args.course.course.clone(),
        args.database.clone(),
    ))
    .await
    .map_err(|e| ClassCommandError(e.to_string()))?;
    let class = find(&state.pool, &args.class).await?;
    let owner = crate::accounts::store::find(&state.pool, &class.owner)
        .await?
        .map(|(account, _)| account)
        .ok_or_else(|| {
            ClassCommandError("the class's instructor has no account any more".into())
        })?;
    let module = args.module.clone().filter(|m| !m.is_empty());
    let book = gradebook::build(&state, &Cohort::Class(class), module, &owner).await?;
    Ok(gradebook::to_csv(&book))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_found_in_any_roster_shape() {
        let roster = "name,email\nAda Lovelace,ada@example.com\n\"Bob, Jr.\",\"bob@example.com\"\ncy@example.com\n";
        assert_eq!(
            emails_in(roster),
            vec!["ada@example.com", "bob@example.com", "cy@example.com"]
        );
    }
}
