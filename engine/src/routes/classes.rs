//! Class routes. The instructor's take a browser form (and redirect back to
//! the class page with a message) or JSON (and answer JSON); all check on
//! the server that the caller runs the class.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /api/instructor/classes` | the caller's classes (every class, for an admin) |
//! | `POST /api/instructor/classes` | creates one: `{name, starts_on?, ends_on?, capacity?, utc_offset?}` |
//! | `GET /api/instructor/classes/{id}` | one class: members and deadlines |
//! | `POST /api/instructor/classes/{id}/members` | adds accounts by email: `{emails}` |
//! | `DELETE /api/instructor/classes/{id}/members/{student}` | removes a member (form: `POST .../remove`) |
//! | `POST /api/instructor/classes/{id}/deadlines` | sets deadlines: `{module: "YYYY-MM-DDTHH:MM" or ""}` in class time |
//! | `POST /api/instructor/classes/{id}/code` | a fresh join code; the old link stops working |
//! | `POST /join/{code}` | joins the class: `{name?}` (a guest's name; made a guest if need be) |

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use model::{
    ClassMemberView, ClassSummaryView, ClassView, ClassesView, JoinView, ModuleDeadlineView,
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::accounts::{Account, Role};
use crate::classes::store::{self, Joined};
use crate::classes::{dates, normalize_code, Class, NewClass, MAX_CAPACITY};
use crate::error::extract::Path;
use crate::error::ApiError;
use crate::forms::{answer, Done, FormOrJson, Retry};
use crate::identity::SignedIn;
use crate::identity::{self, StudentId, Visitor};
use crate::limiter::{ClientAddress, Context};
use crate::state::Engine;

/// The class routes.
pub fn router() -> Router<Engine> {
    Router::new()
        .route("/api/instructor/classes", get(list).post(create))
        .route("/api/instructor/classes/{id}", get(show))
        .route("/api/instructor/classes/{id}/members", post(add_members))
        .route(
            "/api/instructor/classes/{id}/members/{student}",
            axum::routing::delete(remove_member),
        )
        .route(
            "/api/instructor/classes/{id}/members/{student}/remove",
            post(remove_member),
        )
        .route(
            "/api/instructor/classes/{id}/deadlines",
            post(set_deadlines),
        )
        .route("/api/instructor/classes/{id}/code", post(new_code))
        .route("/join/{code}", post(join))
}

/// The class page's path.
fn page_of(class: &Class) -> String {
    format!("/instructor/classes/{}", class.id)
}

/// What the list and the class page show about a class.
pub fn summary_of(class: &Class, members: u32) -> ClassSummaryView {
    ClassSummaryView {
        id: class.id.clone(),
        name: class.name.clone(),
        code: class.code.clone(),
        join_path: format!("/join/{}", class.code),
        join_url: String::new(),
        members,
        capacity: class.capacity,
        dates: class.dates(),
        time_zone: dates::describe_offset(class.utc_offset_minutes),
    }
}

/// The classes `account` runs.
pub async fn classes_view(state: &Engine, account: &Account) -> Result<ClassesView, ApiError> {
    account.require(Role::Instructor)?;
    let classes = store::run_by(&state.pool, account).await?;
    Ok(ClassesView {
        classes: classes
            .iter()
            .map(|(class, members)| summary_of(class, *members))
            .collect(),
    })
}

/// The class with `id`, if `account` runs it (403 if another instructor does, 404 if none).
pub async fn class_run_by(state: &Engine, account: &Account, id: &str) -> Result<Class, ApiError> {
    account.require(Role::Instructor)?;
    let class = store::find(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("There is no class {id}.")))?;
    class.require_runner(account)?;
    Ok(class)
}

/// One class as its page shows it.
pub async fn class_view(
    state: &Engine,
    account: &Account,
    id: &str,
) -> Result<ClassView, ApiError> {
    let class = class_run_by(state, account, id).await?;
    let members = store::members(&state.pool, &class.id).await?;
    let deadlines: HashMap<String, i64> = store::deadlines(&state.pool, &class.id)
        .await?
        .into_iter()
        .collect();
    let outline = state.course.current().outline();
    Ok(ClassView {
        class: summary_of(&class, members.len() as u32),
        members: members
            .into_iter()
            .map(|m| ClassMemberView {
                id: m.id.as_str().to_string(),
                name: m.name,
                email: m.email,
                joined: dates::format_local(m.joined_at, class.utc_offset_minutes)[..10]
                    .to_string(),
            })
            .collect(),
        deadlines: outline
            .modules
            .iter()
            .map(|module| ModuleDeadlineView {
                module: module.slug.clone(),
                title: module.title.clone(),
                due_local: deadlines
                    .get(&module.slug)
                    .map(|due| dates::format_local(*due, class.utc_offset_minutes)),
            })
            .collect(),
    })
}

/// What the join page shows `visitor` for `code`.
pub async fn join_view(
    state: &Engine,
    visitor: &Visitor,
    code: &str,
) -> Result<JoinView, ApiError> {
    let typed = code.to_string();
    let Some(class) = store::find_by_code(&state.pool, &normalize_code(code)).await? else {
        return Ok(JoinView {
            code: typed,
            ..JoinView::default()
        });
    };
    let members = store::member_count(&state.pool, &class.id).await?;
    let already_member = match visitor.student_id() {
        Some(me) => store::is_member(&state.pool, &class.id, me).await?,
        None => false,
    };
    let instructor = crate::accounts::store::find(&state.pool, &class.owner)
        .await?
        .map_or_else(|| "an instructor".to_string(), |(owner, _)| owner.name);
    let dates = class.dates();
    Ok(JoinView {
        code: class.code.clone(),
        class_name: Some(class.name.clone()),
        instructor,
        dates,
        already_member,
        full: !already_member && members >= class.capacity,
    })
}

async fn list(
    State(state): State<Engine>,
    SignedIn(account): SignedIn,
) -> Result<Json<ClassesView>, ApiError> {
    Ok(Json(classes_view(&state, &account).await?))
}

async fn show(
    State(state): State<Engine>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<ClassView>, ApiError> {
    Ok(Json(class_view(&state, &account, &id).await?))
}

async fn create(
    State(state): State<Engine>,
    session: Session,
    SignedIn(account): SignedIn,
    FormOrJson { value: new, style }: FormOrJson<NewClass>,
) -> Response {
    let result = async {
        account.require(Role::Instructor)?;
        let spec = new.check()?;
        let class = store::create(&state.pool, &account.id, &spec, state.clock.now()).await?;
        tracing::info!(
            class = class.id,
            owner = account.id.as_str(),
            "class created"
        );
        Ok(Done {
            redirect: page_of(&class),
            notice: Some(format!(
                "Class created. Send your students the join link, or the code {}.",
                class.code
            )),
            status: StatusCode::CREATED,
            body: serde_json::to_value(summary_of(&class, 0)).unwrap_or_default(),
        })
    }
    .await;
    let retry = Retry {
        page: "/instructor/classes",
        next: None,
        email: None,
        name: Some(new.name.clone()),
    };
    answer(&session, style, result, retry).await
}

/// Emails, as a list (JSON) or as text with one or more per line (a form).
#[derive(Deserialize)]
#[serde(untagged)]
enum Emails {
    List(Vec<String>),
    Text(String),
}

#[derive(Deserialize)]
struct AddMembers {
    emails: Emails,
}

async fn add_members(
    State(state): State<Engine>,
    session: Session,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
    FormOrJson { value, style }: FormOrJson<AddMembers>,
) -> Response {
    let page = format!("/instructor/classes/{}", safe_segment(&id));
    let result = async {
        let class = class_run_by(&state, &account, &id).await?;
        let typed: Vec<String> = match value.emails {
            Emails::List(list) => list,
            Emails::Text(text) => text
                .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                .map(str::to_string)
                .collect(),
        };
        let emails = normalized_emails(&typed)?;
        let added = store::add_by_email(&state.pool, &class, &emails, state.clock.now()).await?;
        state.marks.wrote_all();
        Ok(Done {
            redirect: page_of(&class),
            notice: Some(describe_added(&added)),
            status: StatusCode::OK,
            body: serde_json::json!({
                "added": added.added, "already": added.already,
                "unknown": added.unknown, "no_room": added.no_room,
            }),
        })
    }
    .await;
    answer(&session, style, result, retry_to(&page)).await
}

/// The typed emails, normalised and without repeats, or the first bad one named.
pub fn normalized_emails(typed: &[String]) -> Result<Vec<String>, ApiError> {
    let mut emails = Vec::new();
    for raw in typed.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let email = crate::accounts::normalize_email(raw)
            .map_err(|why| ApiError::Unprocessable(format!("{raw:?}: {why}")))?;
        if !emails.contains(&email) {
            emails.push(email);
        }
    }
    if emails.is_empty() {
        return Err(ApiError::Unprocessable(
            "List the students' emails, one per line or separated by commas.".into(),
        ));
    }
    if emails.len() > MAX_CAPACITY as usize {
        return Err(ApiError::Unprocessable(format!(
            "At most {} emails at once.",
            MAX_CAPACITY
        )));
    }
    Ok(emails)
}

/// One sentence about what adding members did.
pub fn describe_added(added: &store::Added) -> String {
    let mut parts = vec![format!("{} added", added.added.len())];
    if !added.already.is_empty() {
        parts.push(format!("{} already members", added.already.len()));
    }
    if !added.unknown.is_empty() {
        parts.push(format!(
            "no account yet for {} (they can join with the link once they sign up)",
            added.unknown.join(", ")
        ));
    }
    if !added.no_room.is_empty() {
        parts.push(format!("no room for {}", added.no_room.join(", ")));
    }
    format!("{}.", parts.join("; "))
}

fn retry_to(page: &str) -> Retry<'_> {
    Retry {
        page,
        next: None,
        email: None,
        name: None,
    }
}

async fn remove_member(
    State(state): State<Engine>,
    session: Session,
    style: crate::forms::Style,
    SignedIn(account): SignedIn,
    Path((id, student)): Path<(String, String)>,
) -> Response {
    let page = format!("/instructor/classes/{}", safe_segment(&id));
    let result = async {
        let class = class_run_by(&state, &account, &id).await?;
        let member = StudentId::from_raw(student.clone());
        let removed = store::remove_member(&state.pool, &class.id, &member).await?;
        state.marks.wrote(&member, None);
        if !removed {
            return Err(ApiError::NotFound(format!(
                "{student} is not a member of this class."
            )));
        }
        Ok(Done {
            redirect: page_of(&class),
            notice: Some("Removed from the class; their work stays theirs.".into()),
            status: StatusCode::NO_CONTENT,
            body: serde_json::Value::Null,
        })
    }
    .await;
    answer(&session, style, result, retry_to(&page)).await
}

async fn set_deadlines(
    State(state): State<Engine>,
    session: Session,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
    FormOrJson { value, style }: FormOrJson<HashMap<String, Option<String>>>,
) -> Response {
    let page = format!("/instructor/classes/{}", safe_segment(&id));
    let result = async {
        let class = class_run_by(&state, &account, &id).await?;
        let outline = state.course.current().outline();
        let mut changes = Vec::new();
        for (module, due) in &value {
            if !outline.modules.iter().any(|m| &m.slug == module) {
                return Err(ApiError::Unprocessable(format!("There is no module {module:?} in the course.")));
            }
            let due = match due.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                None => None,
                // Due at the end of the minute named: 23:59 still takes work at 23:59:30.
                Some(text) => Some(59 + dates::parse_local(text, class.utc_offset_minutes).ok_or_else(|| {
                    ApiError::Unprocessable(format!(
                        "The deadline of {module} must be a date and time written YYYY-MM-DDTHH:MM, not {text:?}."
                    ))
                })?),
            };
            changes.push((module, due));
        }
        for (module, due) in changes {
            store::set_deadline(&state.pool, &class.id, module, due).await?;
        }
        // Every member's pages show the deadlines.
        state.marks.wrote_all();
        Ok(Done {
            redirect: page_of(&class),
            notice: Some(format!(
                "Deadlines saved ({}).",
                dates::describe_offset(class.utc_offset_minutes)
            )),
            status: StatusCode::OK,
            body: serde_json::to_value(class_view(&state, &account, &id).await?.deadlines)
                .unwrap_or_default(),
        })
    }
    .await;
    answer(&session, style, result, retry_to(&page)).await
}

async fn new_code(
    State(state): State<Engine>,
    session: Session,
    style: crate::forms::Style,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let class = class_run_by(&state, &account, &id).await?;
        let code = store::new_code_for(&state.pool, &class.id).await?;
        Ok(Done {
            redirect: page_of(&class),
            notice: Some(format!(
                "The class's code is now {code}: the old link and code no longer work. Members stay members."
            )),
            status: StatusCode::OK,
            body: serde_json::json!({ "code": code, "join_path": format!("/join/{code}") }),
        })
    }
    .await;
    answer(&session, style, result, retry_to("/instructor/classes")).await
}

/// A guest's name as they give it when joining.
#[derive(Deserialize, Default)]
struct JoinForm {
    #[serde(default)]
    name: Option<String>,
}

async fn join(
    State(state): State<Engine>,
    ClientAddress(address): ClientAddress,
    session: Session,
    visitor: Visitor,
    Path(code): Path<String>,
    FormOrJson { value, style }: FormOrJson<JoinForm>,
) -> Response {
    let page = format!("/join/{}", normalize_code(&code));
    let result = async {
        let class = store::find_by_code(&state.pool, &normalize_code(&code))
            .await?
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "No class has the code {code:?}; check the link with your instructor."
                ))
            })?;
        let (student, name) = match &visitor {
            Visitor::SignedIn(account) => (account.id.clone(), account.name.clone()),
            Visitor::Guest(id) => (id.clone(), guest_name(value.name.as_deref())?),
            Visitor::Anonymous => {
                if store::member_count(&state.pool, &class.id).await? >= class.capacity {
                    return Err(full(&class));
                }
                let name = guest_name(value.name.as_deref())?;
                let context = Context::Class {
                    id: &class.id,
                    capacity: class.capacity,
                };
                state.identities.new_guests.check(address, context).await?;
                (
                    identity::create_guest(&session, &state.identities).await?,
                    name,
                )
            }
        };
        let joined = store::join(&state.pool, &class, &student, &name, state.clock.now()).await?;
        state.marks.wrote(&student, None);
        if joined == Joined::Full {
            return Err(full(&class));
        }
        Ok(Done {
            redirect: "/".into(),
            notice: Some(match joined {
                Joined::AlreadyMember => format!("You are in {} already.", class.name),
                _ => format!(
                    "You joined {}. Your work is now part of the class.",
                    class.name
                ),
            }),
            status: if joined == Joined::Joined {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            body: serde_json::json!({ "class": class.name, "joined": joined == Joined::Joined }),
        })
    }
    .await;
    answer(&session, style, result, retry_to(&page)).await
}

/// A path segment typed by the caller, with only what ids are made of.
fn safe_segment(typed: &str) -> String {
    typed.chars().filter(char::is_ascii_alphanumeric).collect()
}

fn full(class: &Class) -> ApiError {
    ApiError::Conflict(format!(
        "{} is full ({} places); ask your instructor to make room.",
        class.name, class.capacity
    ))
}

/// The name a guest gives, checked like an account's.
fn guest_name(typed: Option<&str>) -> Result<String, ApiError> {
    crate::accounts::check_display_name(typed.unwrap_or_default()).map_err(|why| {
        ApiError::Unprocessable(format!(
            "{} Your instructor sees this name in the class.",
            why.replace("on your account", "for the class")
        ))
    })
}
