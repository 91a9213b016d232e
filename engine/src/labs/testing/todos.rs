//! The todos API that students' suites run against: the reference, and the
//! same code with one [`Bug`] switched on (a mutant). Each served copy has
//! its own empty store, so runs never see each other's todos.
//!
//! | route | answers |
//! |---|---|
//! | `POST /todos` | `201` with `Location: /todos/{id}` and an `ETag`; `422` for a missing, blank or over-100-character `title` or a `done` that is not a boolean; `409` past 100 todos |
//! | `GET /todos?page=&per_page=` | `200` `{items, page, per_page, total}`, the caller's own todos by id; `page` from 1, `per_page` 1 to 20 (default 5), else `400` |
//! | `GET /todos/{id}` | `200` with an `ETag`, or `404` (also for another user's todo) |
//! | `PATCH /todos/{id}` | `200`, changing only the fields sent; `412` when `If-Match` names an older version |
//! | `DELETE /todos/{id}` | `204`, or `404` |
//!
//! Every route needs `Authorization: Bearer alice` or `Bearer bob` (`401`
//! with `WWW-Authenticate: Bearer` without one); a body must be JSON
//! (`415` otherwise, `400` if it does not parse).

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use tokio::task::JoinHandle;

use super::mutants::Bug;

/// The users the API knows; each one's bearer token is their name.
pub(crate) const USERS: [&str; 2] = ["alice", "bob"];
/// The longest title, in characters.
pub(crate) const MAX_TITLE: usize = 100;
/// The largest page.
pub(crate) const MAX_PER_PAGE: usize = 20;
/// The most todos one copy of the API keeps.
pub(crate) const MAX_TODOS: usize = 100;
/// The page size when none is asked for.
const DEFAULT_PER_PAGE: usize = 5;

struct Todo {
    owner: &'static str,
    title: String,
    done: bool,
    version: u64,
}

#[derive(Default)]
struct Store {
    todos: BTreeMap<u64, Todo>,
    next_id: u64,
}

#[derive(Clone)]
struct Api {
    store: Arc<Mutex<Store>>,
    bug: Option<Bug>,
}

impl Api {
    fn has(&self, bug: Bug) -> bool {
        self.bug == Some(bug)
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The API with `bug` (none: the reference), over a new, empty store.
pub(crate) fn router(bug: Option<Bug>) -> Router {
    let api = Api {
        store: Arc::default(),
        bug,
    };
    Router::new()
        .route("/todos", get(list).post(create))
        .route("/todos/{id}", get(read).patch(update).delete(remove))
        .with_state(api)
}

/// One copy of the API served on a loopback port; stops when dropped.
pub(crate) struct Served {
    /// Where it listens, `http://127.0.0.1:<port>`.
    pub(crate) url: String,
    task: JoinHandle<()>,
}

impl Served {
    /// Serves the API with `bug` on a free loopback port.
    pub(crate) async fn start(bug: Option<Bug>) -> std::io::Result<Self> {
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router(bug)).await {
                tracing::warn!(error = %e, "a testing lab API stopped");
            }
        });
        Ok(Self { url, task })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why the API refused a request: its status and JSON body.
struct Refusal {
    status: StatusCode,
    error: &'static str,
    field: Option<&'static str>,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error,
            field: None,
            message: message.into(),
        }
    }

    fn invalid(field: &'static str, message: &str) -> Self {
        Self {
            field: Some(field),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
        }
    }

    fn not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("you have no todo {id}"),
        )
    }

    fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.error, "message": self.message });
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A handler's answer: a response, or a refusal that becomes one.
type Answer = Result<Response, Refusal>;

/// The caller, from their bearer token.
fn caller(api: &Api, headers: &HeaderMap) -> Result<&'static str, Refusal> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token {
        None if api.has(Bug::NoTokenIsAlice) => Ok(USERS[0]),
        None => Err(Refusal::unauthorized(
            "send `Authorization: Bearer alice` or `Bearer bob`",
        )),
        Some(token) => USERS
            .iter()
            .find(|user| **user == token.trim())
            .copied()
            .ok_or_else(|| Refusal::unauthorized("that token belongs to nobody")),
    }
}

/// The request body as a JSON object.
fn json_object(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, Refusal> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(Refusal::invalid("body", "the body must be a JSON object")),
        Err(e) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("the body is not JSON: {e}"),
        )),
    }
}

/// A valid title from `value`, or why it is not one.
fn title(api: &Api, value: Option<&Value>) -> Result<String, Refusal> {
    let Some(Value::String(title)) = value else {
        return Err(Refusal::invalid("title", "`title` must be a string"));
    };
    if title.trim().is_empty() && !api.has(Bug::BlankTitleAccepted) {
        return Err(Refusal::invalid("title", "`title` must not be blank"));
    }
    if title.chars().count() > MAX_TITLE {
        return Err(Refusal::invalid("title", "`title` is over 100 characters"));
    }
    Ok(title.trim().to_string())
}

fn done(value: Option<&Value>) -> Result<Option<bool>, Refusal> {
    match value {
        None => Ok(None),
        Some(Value::Bool(done)) => Ok(Some(*done)),
        Some(_) => Err(Refusal::invalid("done", "`done` must be true or false")),
    }
}

fn etag(todo: &Todo) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{}\"", todo.version)).expect("digits and quotes")
}

fn view(id: u64, todo: &Todo) -> Value {
    json!({ "id": id, "title": todo.title, "done": todo.done, "owner": todo.owner })
}

fn with_etag(status: StatusCode, id: u64, todo: &Todo) -> Response {
    let mut response = (status, Json(view(id, todo))).into_response();
    response.headers_mut().insert(header::ETAG, etag(todo));
    response
}

async fn create(State(api): State<Api>, headers: HeaderMap, body: Bytes) -> Answer {
    let user = caller(&api, &headers)?;
    let fields = json_object(&headers, &body)?;
    let todo = Todo {
        owner: user,
        title: title(&api, fields.get("title"))?,
        done: done(fields.get("done"))?.unwrap_or(false),
        version: 1,
    };
    let mut store = api.store();
    if store.todos.len() >= MAX_TODOS {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            "full",
            format!("you have {MAX_TODOS} todos, the most this API keeps; delete some"),
        ));
    }
    store.next_id += 1;
    let id = store.next_id;
    let status = if api.has(Bug::CreatedAs200) {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = with_etag(status, id, &todo);
    let location = if api.has(Bug::LocationOfCollection) {
        "/todos".to_string()
    } else {
        format!("/todos/{id}")
    };
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).expect("a path"),
    );
    store.todos.insert(id, todo);
    Ok(response)
}

/// A positive whole number from the query, or `default` when absent.
fn count(query: &HashMap<String, String>, name: &str, default: usize) -> Result<usize, Refusal> {
    match query.get(name) {
        None => Ok(default),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "bad_query",
                    format!("`{name}` must be a whole number from 1, not {text:?}"),
                )
            }),
    }
}

async fn list(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let user = caller(&api, &headers)?;
    let page = count(&query, "page", 1)?;
    let per_page = count(&query, "per_page", DEFAULT_PER_PAGE)?;
    if per_page > MAX_PER_PAGE && !api.has(Bug::PerPageUncapped) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("`per_page` is at most {MAX_PER_PAGE}, not {per_page}"),
        ));
    }
    let store = api.store();
    let own: Vec<(&u64, &Todo)> = store
        .todos
        .iter()
        .filter(|(_, t)| t.owner == user)
        .collect();
    let mut offset = (page - 1).saturating_mul(per_page);
    if api.has(Bug::PageOffByOne) && page > 1 {
        offset -= 1;
    }
    let items: Vec<Value> = own
        .iter()
        .skip(offset)
        .take(per_page)
        .map(|(id, todo)| view(**id, todo))
        .collect();
    let total = if api.has(Bug::TotalCountsPage) {
        items.len()
    } else {
        own.len()
    };
    Ok(
        Json(json!({ "items": items, "page": page, "per_page": per_page, "total": total }))
            .into_response(),
    )
}

/// The id in the path, if it is one.
fn id_of(text: &str) -> Option<u64> {
    text.parse().ok()
}

async fn read(State(api): State<Api>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let user = caller(&api, &headers)?;
    let store = api.store();
    let found = id_of(&id).and_then(|n| store.todos.get(&n).map(|todo| (n, todo)));
    match found {
        Some((n, todo)) if todo.owner == user || api.has(Bug::OthersTodoVisible) => {
            Ok(with_etag(StatusCode::OK, n, todo))
        }
        _ => Err(Refusal::not_found(&id)),
    }
}

async fn update(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let user = caller(&api, &headers)?;
    let fields = json_object(&headers, &body)?;
    let mut store = api.store();
    let (n, todo) = id_of(&id)
        .and_then(|n| store.todos.get_mut(&n).map(|todo| (n, todo)))
        .filter(|(_, todo)| todo.owner == user)
        .ok_or_else(|| Refusal::not_found(&id))?;
    let stale = headers
        .get(header::IF_MATCH)
        .is_some_and(|wanted| wanted.as_bytes() != b"*" && *wanted != etag(todo));
    if stale && !api.has(Bug::LostUpdate) {
        return Err(Refusal::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            "the todo changed since the version your If-Match names; read it again",
        ));
    }
    let new_title = match fields.get("title") {
        None => None,
        present => Some(title(&api, present)?),
    };
    let new_done = done(fields.get("done"))?;
    if api.has(Bug::PatchReplacesAll) {
        todo.title = new_title.unwrap_or_default();
        todo.done = new_done.unwrap_or(false);
    } else {
        todo.title = new_title.unwrap_or_else(|| todo.title.clone());
        todo.done = new_done.unwrap_or(todo.done);
    }
    todo.version += 1;
    Ok(with_etag(StatusCode::OK, n, todo))
}

async fn remove(State(api): State<Api>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let user = caller(&api, &headers)?;
    let mut store = api.store();
    let n = id_of(&id)
        .filter(|n| {
            store
                .todos
                .get(n)
                .is_some_and(|todo| todo.owner == user || api.has(Bug::OthersCanDelete))
        })
        .ok_or_else(|| Refusal::not_found(&id))?;
    if !api.has(Bug::DeleteKeepsTodo) {
        store.todos.remove(&n);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn send(
        app: &Router,
        method: &str,
        uri: &str,
        user: Option<&str>,
        body: Option<&str>,
    ) -> (u16, HeaderMap, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(user) = user {
            request = request.header("authorization", format!("Bearer {user}"));
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(Body::from(body.unwrap_or("").to_string()))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn the_reference_keeps_each_users_todos_apart_and_guards_updates() {
        let app = router(None);
        let (status, headers, body) = send(
            &app,
            "POST",
            "/todos",
            Some("alice"),
            Some(r#"{"title": " a "}"#),
        )
        .await;
        assert_eq!((status, body["title"].as_str()), (201, Some("a")));
        assert_eq!(headers["location"], "/todos/1");
        let first_etag = headers["etag"].clone();
        assert_eq!(
            send(&app, "GET", "/todos/1", Some("bob"), None).await.0,
            404
        );
        assert_eq!(
            send(&app, "DELETE", "/todos/1", Some("bob"), None).await.0,
            404
        );
        assert_eq!(send(&app, "GET", "/todos", None, None).await.0, 401);
        let patch = |etag: HeaderValue| {
            let app = app.clone();
            async move {
                let request = Request::patch("/todos/1")
                    .header("authorization", "Bearer alice")
                    .header("content-type", "application/json")
                    .header("if-match", etag)
                    .body(Body::from(r#"{"done": true}"#))
                    .unwrap();
                app.oneshot(request).await.unwrap().status().as_u16()
            }
        };
        assert_eq!(patch(first_etag.clone()).await, 200);
        assert_eq!(patch(first_etag).await, 412);
        let (_, _, todo) = send(&app, "GET", "/todos/1", Some("alice"), None).await;
        assert_eq!(
            (todo["title"].as_str(), todo["done"].as_bool()),
            (Some("a"), Some(true))
        );
        assert_eq!(
            send(&app, "DELETE", "/todos/1", Some("alice"), None)
                .await
                .0,
            204
        );
        assert_eq!(
            send(&app, "GET", "/todos/1", Some("alice"), None).await.0,
            404
        );
    }

    #[tokio::test]
    async fn pages_are_bounded_and_count_everything() {
        let app = router(None);
        for title in ["a", "b", "c"] {
            let body = format!(r#"{{"title": "{title}"}}"#);
            send(&app, "POST", "/todos", Some("alice"), Some(&body)).await;
        }
        send(
            &app,
            "POST",
            "/todos",
            Some("bob"),
            Some(r#"{"title": "z"}"#),
        )
        .await;
        let (_, _, page) = send(&app, "GET", "/todos?page=2&per_page=2", Some("alice"), None).await;
        assert_eq!(page["items"][0]["title"], "c");
        assert_eq!(page["total"], 3);
        assert_eq!(
            send(&app, "GET", "/todos?per_page=21", Some("alice"), None)
                .await
                .0,
            400
        );
        assert_eq!(
            send(&app, "GET", "/todos?page=0", Some("alice"), None)
                .await
                .0,
            400
        );
        let blank = send(
            &app,
            "POST",
            "/todos",
            Some("alice"),
            Some(r#"{"title": "  "}"#),
        )
        .await;
        assert_eq!(blank.0, 422);
        let long = format!(r#"{{"title": "{}"}}"#, "x".repeat(101));
        assert_eq!(
            send(&app, "POST", "/todos", Some("alice"), Some(&long))
                .await
                .0,
            422
        );
        assert_eq!(
            send(&app, "POST", "/todos", Some("alice"), Some("{"))
                .await
                .0,
            400
        );
    }

    #[tokio::test]
    async fn a_bug_changes_only_what_it_names() {
        let app = router(Some(Bug::PageOffByOne));
        for title in ["a", "b", "c"] {
            let body = format!(r#"{{"title": "{title}"}}"#);
            assert_eq!(
                send(&app, "POST", "/todos", Some("alice"), Some(&body))
                    .await
                    .0,
                201
            );
        }
        let (_, _, page) = send(&app, "GET", "/todos?page=2&per_page=2", Some("alice"), None).await;
        assert_eq!(page["items"][0]["title"], "b");
        assert_eq!(page["total"], 3);
    }
}
