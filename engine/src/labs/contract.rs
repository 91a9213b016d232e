//! The labs as a contract: one OpenAPI 3.1 document for every lab route,
//! made from the same declarations that route requests, served at
//! `/api/openapi.json`.
//!
//! A lab declares each route with `#[utoipa::path]` on its handler and
//! registers it with `utoipa_axum::routes!`, so a route cannot exist
//! without its description or the other way round. This module adds what
//! every lab shares, so no handler repeats it: the settings routes, the
//! error answers of the shared layers (any 4xx, as `ErrorBody` or, for
//! labs that speak RFC 9457, `application/problem+json`), the lab's tag,
//! and operation ids unique across labs.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use model::labs::api::Problem;
use model::ErrorBody;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, Paths};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{Components, InfoBuilder, OpenApi, Ref, RefOr, Required, Schema};
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use super::errors::PROBLEM_JSON;
use super::Lab;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

/// Documents the routes of `routes` without serving them: for a route the
/// lab registers itself because its methods cannot be listed (the HTTP
/// lab's echo answers any method, `OPTIONS` and made-up ones included).
pub(crate) fn described_only<S>(routes: UtoipaMethodRouter<S>) -> OpenApiRouter<S>
where
    S: Send + Sync + Clone + 'static,
{
    let (schemas, paths, _router) = routes;
    let mut api = OpenApi::default();
    api.paths = paths;
    api.components = Some(Components::new());
    if let Some(components) = api.components.as_mut() {
        components.schemas.extend(schemas);
    }
    OpenApiRouter::with_openapi(api)
}

/// Lab `L`'s part of the document: its own routes' descriptions (relative
/// to `/labs/<NAME>`), completed with what every lab route shares.
pub(crate) fn lab_part<L: Lab>(mut own: OpenApi) -> OpenApi {
    own.paths.merge(settings_paths::<L>());
    let components = own.components.get_or_insert_with(Components::new);
    register::<L::Settings>(components);
    register::<ErrorBody>(components);
    register::<Problem>(components);

    let mut paths = Paths::new();
    for (path, mut item) in std::mem::take(&mut own.paths.paths) {
        // One handler documented for several methods (the HTTP lab's echo)
        // has one id; each method then gets its own.
        let ids: Vec<Option<String>> = operations_mut(&mut item)
            .map(|(_, operation)| operation.operation_id.clone())
            .collect();
        let shared = |id: &String| ids.iter().flatten().filter(|other| *other == id).count() > 1;
        for (method, operation) in operations_mut(&mut item) {
            operation.tags = Some(vec![L::NAME.to_string()]);
            let id = match operation.operation_id.take() {
                Some(id) if shared(&id) => format!("{id}_{method}"),
                Some(id) => id,
                None => format!("{method}_{}", path.trim_matches('/').replace('/', "_")),
            };
            operation.operation_id = Some(format!("{}_{id}", L::NAME));
            let errors = error_response::<L>();
            operation
                .responses
                .responses
                .entry("4XX".to_string())
                .or_insert(errors.into());
            if let Some(RefOr::T(unauthorized)) = operation.responses.responses.get_mut("401") {
                unauthorized
                    .headers
                    .entry("WWW-Authenticate".to_string())
                    .or_insert_with(challenge_header);
            }
        }
        paths.paths.insert(openapi_template(&path), item);
    }
    own.paths = paths;
    own
}

/// The challenge every 401 carries (see [`crate::error::Challenge`]).
fn challenge_header() -> RefOr<Header> {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(
            "How to authenticate, as RFC 9110 requires on a 401: `Bearer realm=\"workbench-lab\"`, \
             with `error=\"invalid_token\"` when a bearer token was sent and refused \
             (`ApiKey realm=\"workbench-lab\", header=\"X-Api-Key\"` for a limiter counting per key)",
        ))
        .build()
        .into()
}

/// The whole document, from every lab's part (already nested under `/labs/<NAME>`).
pub(crate) fn document(labs: OpenApi, titles: &[(&str, &str)]) -> OpenApi {
    let mut document = labs;
    document.info = InfoBuilder::new()
        .title("Backend Workbench labs")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Every route of the workbench's live labs. Each student has their own \
             sandbox behind these routes: send the workbench's session cookie, or \
             none and get a guest's. Errors are JSON: `{error, message}`, or RFC 9457 \
             problem documents for the labs tagged so.",
        ))
        .build();
    document.tags = Some(
        titles
            .iter()
            .map(|(name, title)| {
                TagBuilder::new()
                    .name(*name)
                    .description(Some(*title))
                    .build()
            })
            .collect(),
    );
    document
}

/// Serves `document` as JSON at [`OPENAPI_PATH`].
pub(crate) fn route(document: &OpenApi) -> Router {
    // Serialised once; each answer shares the bytes instead of copying them.
    let json = axum::body::Bytes::from(
        document
            .to_json()
            .expect("an OpenAPI document is always serialisable"),
    );
    Router::new().route(
        OPENAPI_PATH,
        get(move || {
            let json = json.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], json).into_response() }
        }),
    )
}

/// `GET`, `PUT` and `DELETE /settings`, which every lab has.
fn settings_paths<L: Lab>() -> Paths {
    let name = L::Settings::name();
    let document = || {
        ResponseBuilder::new()
            .description("The student's settings and the lab's defaults.")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(settings_document(&name)))
                    .build(),
            )
            .build()
    };
    let operation = |summary: &str| {
        OperationBuilder::new()
            .summary(Some(summary))
            .response("200", document())
    };
    let mut paths = Paths::new();
    paths.add_path_operation(
        "/settings",
        vec![HttpMethod::Get],
        operation("The student's settings")
            .operation_id(Some("get_settings"))
            .build(),
    );
    paths.add_path_operation(
        "/settings",
        vec![HttpMethod::Put],
        operation("Replace the student's settings (checked, then kept)")
            .operation_id(Some("put_settings"))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name(name.clone())))
                            .build(),
                    )
                    .build(),
            ))
            .build(),
    );
    paths.add_path_operation(
        "/settings",
        vec![HttpMethod::Delete],
        operation("Back to the lab's defaults")
            .operation_id(Some("delete_settings"))
            .build(),
    );
    paths
}

/// `SettingsDocument<S>`, written out: utoipa names generic schemas by
/// their parameter, which would give every lab's a different shape name.
fn settings_document(settings: &str) -> Schema {
    ObjectBuilder::new()
        .property("lab", ObjectBuilder::new().schema_type(Type::String))
        .property("settings", Ref::from_schema_name(settings))
        .property("defaults", Ref::from_schema_name(settings))
        .required("lab")
        .required("settings")
        .required("defaults")
        .into()
}

/// Any 4xx, as lab `L` writes errors.
fn error_response<L: Lab>() -> utoipa::openapi::Response {
    let (content_type, schema) = if L::PROBLEM_DETAILS {
        (PROBLEM_JSON, Problem::name())
    } else {
        ("application/json", ErrorBody::name())
    };
    ResponseBuilder::new()
        .description("The request was refused; the body says why and what to change.")
        .content(
            content_type,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build(),
        )
        .build()
}

/// Adds `T`'s schema, and those it refers to, to `components`.
fn register<T: ToSchema>(components: &mut Components) {
    let mut schemas: Vec<(String, RefOr<Schema>)> = vec![(T::name().into_owned(), T::schema())];
    T::schemas(&mut schemas);
    components.schemas.extend(schemas);
}

/// axum's `{*rest}` is OpenAPI's `{rest}`.
fn openapi_template(path: &str) -> String {
    path.replace("{*", "{")
}

/// The operations of a path item, with their methods.
pub(crate) fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = (&'static str, &mut utoipa::openapi::path::Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("options", item.options.as_mut()),
        ("head", item.head.as_mut()),
        ("patch", item.patch.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|operation| (method, operation)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_become_plain_parameters() {
        assert_eq!(openapi_template("/echo/{*rest}"), "/echo/{rest}");
        assert_eq!(openapi_template("/orders/{id}"), "/orders/{id}");
    }
}
