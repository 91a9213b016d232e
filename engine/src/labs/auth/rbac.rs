//! Authorisation in the demo shop: a permission matrix (roles × actions)
//! the student edits in the lab settings, enforced on the next request, and
//! an ownership rule that takes the step from roles to attributes ("sellers
//! may delete their own products").
//!
//! 401 means "who are you?" (no or bad credentials); 403 means "I know who
//! you are, and no rule lets you". Every decision is traced with the rule
//! that made it.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use model::labs::auth::{NewProduct, Product, Purchase};
use serde::Serialize;
use serde_json::json;

use super::tokens::authenticate;
use super::{shop, AuthLab};
use crate::error::extract::{JsonOrForm, Path};
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::CurrentSettings;
use crate::labs::Labs;

pub(crate) use model::labs::auth::{default_policy, ACTIONS, ROLES};

/// The CSRF demo's inspector event: where the request came from, and
/// whether the lab's own check stood in the way.
#[derive(Serialize)]
struct ForgeryCheck<'a> {
    csrf_check: bool,
    evidence: Option<&'a str>,
    refused: bool,
}

impl LabEvent for ForgeryCheck<'_> {
    const KIND: &'static str = "auth.csrf";
    fn summary(&self) -> String {
        match (self.csrf_check, self.evidence) {
            (true, Some(evidence)) => format!("refused as a forgery: {evidence}"),
            (true, None) => "same-origin, or not from a browser page: allowed".into(),
            (false, Some(evidence)) => format!(
                "csrf_check is off, so accepted although {evidence}: a forged request would succeed"
            ),
            (false, None) => "csrf_check is off; this request was not cross-origin anyway".into(),
        }
    }
}

/// The lab's own cross-origin check on adding a product (the platform's
/// check leaves this route to it), so a student can switch it off and watch
/// a forged form post succeed.
fn check_forgery(
    inspector: &Inspector,
    csrf_check: bool,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let evidence = crate::cross_origin::evidence(headers);
    let refused = csrf_check && evidence.is_some();
    inspector.record(&ForgeryCheck {
        csrf_check,
        evidence: evidence.as_deref(),
        refused,
    });
    match evidence {
        Some(evidence) if refused => {
            Err(ApiError::Forbidden(crate::cross_origin::refusal(&evidence)))
        }
        _ => Ok(()),
    }
}

/// Most products one shop lists.
const MAX_LISTINGS: i64 = 100;
/// Checks a policy names only known roles and actions.
pub(crate) fn validate_policy(policy: &BTreeMap<String, Vec<String>>) -> Result<(), String> {
    for (role, actions) in policy {
        if !ROLES.contains(&role.as_str()) {
            return Err(format!(
                "policy: unknown role {role:?}; roles are {}",
                ROLES.join(", ")
            ));
        }
        if let Some(action) = actions.iter().find(|a| !ACTIONS.contains(&a.as_str())) {
            return Err(format!(
                "policy: unknown action {action:?}; actions are {}",
                ACTIONS.join(", ")
            ));
        }
    }
    Ok(())
}

/// Recorded for every authorisation decision.
#[derive(Serialize)]
struct Decision {
    user: String,
    role: String,
    action: String,
    owner: Option<String>,
    allowed: bool,
    rule: String,
    /// The matrix action the decision rests on (`delete_own_product`, say),
    /// or none when no rule applies: what an exercise can check without
    /// reading `rule`'s prose.
    grant: Option<&'static str>,
}

impl LabEvent for Decision {
    const KIND: &'static str = "rbac.decision";
    fn summary(&self) -> String {
        format!(
            "{}: {}",
            if self.allowed { "allowed" } else { "denied" },
            self.rule
        )
    }
}

/// Decides whether `role` may do `action` (on something `owner` owns),
/// and names the rule that decided.
pub(crate) fn decide(
    policy: &BTreeMap<String, Vec<String>>,
    user: &str,
    role: &str,
    action: &str,
    owner: Option<&str>,
) -> (bool, String) {
    let ruling = rule_on(policy, user, role, action, owner);
    (ruling.allowed, ruling.rule)
}

/// A decision, the rule that made it, and the matrix action it rests on.
struct Ruling {
    allowed: bool,
    rule: String,
    grant: Option<&'static str>,
}

/// [`decide`], with the matrix action that decided.
fn rule_on(
    policy: &BTreeMap<String, Vec<String>>,
    user: &str,
    role: &str,
    action: &str,
    owner: Option<&str>,
) -> Ruling {
    // The action's own name as the matrix spells it, when it has one.
    let granted = |a: &str| {
        policy
            .get(role)
            .is_some_and(|actions| actions.iter().any(|x| x == a))
            .then(|| ACTIONS.iter().copied().find(|known| *known == a))
            .flatten()
    };
    let ruling = |allowed, rule, grant| Ruling {
        allowed,
        rule,
        grant,
    };
    if action == "delete_product" {
        if let Some(grant) = granted("delete_any_product") {
            return ruling(true, format!("{role} may delete_any_product"), Some(grant));
        }
        if let Some(grant) = granted("delete_own_product") {
            return if owner == Some(user) {
                ruling(
                    true,
                    format!("{role} may delete_own_product, and {user} owns it"),
                    Some(grant),
                )
            } else {
                ruling(
                    false,
                    format!(
                        "{role} may only delete_own_product, and {} owns this one",
                        owner.unwrap_or("nobody")
                    ),
                    Some(grant),
                )
            };
        }
        return ruling(false, format!("no rule lets {role} delete products"), None);
    }
    match granted(action) {
        Some(grant) => ruling(true, format!("{role} may {action}"), Some(grant)),
        None => ruling(false, format!("no rule lets {role} {action}"), None),
    }
}

/// Signs the request in and checks it may do `action`; the user on success.
async fn authorise(
    state: &Labs,
    inspector: &Inspector,
    student: &Student,
    headers: &HeaderMap,
    policy: &BTreeMap<String, Vec<String>>,
    action: &str,
    owner: Option<&str>,
) -> Result<String, ApiError> {
    let (user, role) = authenticate(state, inspector, student, headers).await?;
    let rows = shop::run(
        state,
        &student.id,
        "SELECT banned FROM users WHERE username = ?",
        vec![json!(user)],
    )
    .await?;
    let banned = match rows.first() {
        Some(row) => row.integer(0)? != 0,
        None => false,
    };
    let Ruling {
        allowed,
        rule,
        grant,
    } = if banned {
        Ruling {
            allowed: false,
            rule: format!("{user} is banned"),
            grant: None,
        }
    } else {
        rule_on(policy, &user, &role, action, owner)
    };
    inspector.record(&Decision {
        user: user.clone(),
        role,
        action: action.to_string(),
        owner: owner.map(str::to_string),
        allowed,
        rule: rule.clone(),
        grant,
    });
    if allowed {
        Ok(user)
    } else {
        Err(ApiError::Forbidden(format!("Forbidden: {rule}.")))
    }
}

/// `GET /labs/auth/products`
#[utoipa::path(get, path = "/products",
    operation_id = "list_products",
    summary = "List the demo shop's products",
    description = "Needs a signed-in demo user (bearer token or `lab_session` cookie) whose role may `browse` under your permission matrix.",
    responses(
        (status = 200, description = "The products, by id", body = Vec<model::labs::auth::Product>),
        (status = 401, description = "Not signed in to the demo shop, or the token or session was refused", body = model::ErrorBody),
        (status = 403, description = "Signed in, but your permission matrix does not allow this (or the user is banned); the message names the rule", body = model::ErrorBody),
    ))]
pub(super) async fn list(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    CurrentSettings(settings, ..): CurrentSettings<AuthLab>,
    headers: HeaderMap,
) -> Result<Json<Vec<Product>>, ApiError> {
    authorise(
        &state,
        &inspector,
        &student,
        &headers,
        &settings.policy,
        "browse",
        None,
    )
    .await?;
    let rows = shop::run(
        &state,
        &student.id,
        "SELECT id, name, owner FROM listings ORDER BY id",
        vec![],
    )
    .await?;
    let products = rows
        .iter()
        .map(|row| {
            Ok(Product {
                id: row.integer(0)?,
                name: row.text(1)?,
                owner: row.text(2)?,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(products))
}

/// `POST /labs/auth/products`
#[utoipa::path(post, path = "/products",
    operation_id = "add_product",
    summary = "Add a product to the demo shop",
    description = "Needs a signed-in demo user whose role may `add_product`; they become its owner. Takes JSON, or a plain HTML form's `name` field. A request a browser marks as coming from another origin (`Sec-Fetch-Site`, `Origin`, `Referer`) is refused with 403 unless your `csrf_check` setting is off: the CSRF demo.",
    request_body(content(
        (model::labs::auth::NewProduct = "application/json"),
        (model::labs::auth::NewProduct = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "The product was added", body = model::labs::auth::Product),
        (status = 401, description = "Not signed in to the demo shop, or the token or session was refused", body = model::ErrorBody),
        (status = 403, description = "Sent from another origin's page while `csrf_check` is on; or signed in, but your permission matrix does not allow this (or the user is banned). The message says which", body = model::ErrorBody),
        (status = 409, description = "The shop is full, or the lab's tables were changed", body = model::ErrorBody),
        (status = 422, description = "The name is empty or longer than 80 characters", body = model::ErrorBody),
    ))]
pub(super) async fn add(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    CurrentSettings(settings, ..): CurrentSettings<AuthLab>,
    headers: HeaderMap,
    JsonOrForm(new): JsonOrForm<NewProduct>,
) -> Result<(StatusCode, Json<Product>), ApiError> {
    check_forgery(&inspector, settings.csrf_check, &headers)?;
    let user = authorise(
        &state,
        &inspector,
        &student,
        &headers,
        &settings.policy,
        "add_product",
        None,
    )
    .await?;
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ApiError::Unprocessable("name: 1 to 80 characters".into()));
    }
    let count = shop::run(&state, &student.id, "SELECT COUNT(*) FROM listings", vec![]).await?;
    if count
        .first()
        .map(|row| row.integer(0))
        .transpose()?
        .unwrap_or_default()
        >= MAX_LISTINGS
    {
        return Err(ApiError::Conflict(format!(
            "Your shop lists {MAX_LISTINGS} products at most; delete some first."
        )));
    }
    let inserted = shop::run(
        &state,
        &student.id,
        "INSERT INTO listings (name, owner, created_at) VALUES (?, ?, ?) RETURNING id",
        vec![json!(name), json!(user), json!(state.clock.now())],
    )
    .await?;
    let id = match inserted.first() {
        Some(row) => row.integer(0)?,
        None => {
            return Err(ApiError::Conflict(
                "The shop did not keep the product.".into(),
            ))
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(Product {
            id,
            name: name.to_string(),
            owner: user,
        }),
    ))
}

async fn owner_of(state: &Labs, student: &Student, id: i64) -> Result<String, ApiError> {
    let rows = shop::run(
        state,
        &student.id,
        "SELECT owner FROM listings WHERE id = ?",
        vec![json!(id)],
    )
    .await?;
    match rows.first() {
        Some(row) => row.text(0),
        None => Err(ApiError::NotFound(format!("No product {id} in your shop."))),
    }
}

/// `DELETE /labs/auth/products/{id}`
#[utoipa::path(delete, path = "/products/{id}",
    operation_id = "delete_product",
    summary = "Delete a product",
    description = "Needs `delete_any_product`, or `delete_own_product` and owning it: authorisation by attribute, not only by role.",
    params(("id" = i64, Path, description = "The product's id")),
    responses(
        (status = 204, description = "The product was deleted"),
        (status = 401, description = "Not signed in to the demo shop, or the token or session was refused", body = model::ErrorBody),
        (status = 403, description = "Signed in, but your permission matrix does not allow this (or the user is banned); the message names the rule", body = model::ErrorBody),
        (status = 404, description = "No product with this id in your shop", body = model::ErrorBody),
    ))]
pub(super) async fn delete(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    CurrentSettings(settings, ..): CurrentSettings<AuthLab>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let owner = owner_of(&state, &student, id).await?;
    authorise(
        &state,
        &inspector,
        &student,
        &headers,
        &settings.policy,
        "delete_product",
        Some(&owner),
    )
    .await?;
    shop::run(
        &state,
        &student.id,
        "DELETE FROM listings WHERE id = ?",
        vec![json!(id)],
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /labs/auth/products/{id}/buy`
#[utoipa::path(post, path = "/products/{id}/buy",
    operation_id = "buy_product",
    summary = "Buy a product",
    description = "Needs a signed-in demo user whose role may `buy`. Nothing is stored: the answer says who bought what.",
    params(("id" = i64, Path, description = "The product's id")),
    responses(
        (status = 200, description = "Bought", body = model::labs::auth::Purchase),
        (status = 401, description = "Not signed in to the demo shop, or the token or session was refused", body = model::ErrorBody),
        (status = 403, description = "Signed in, but your permission matrix does not allow this (or the user is banned); the message names the rule", body = model::ErrorBody),
        (status = 404, description = "No product with this id in your shop", body = model::ErrorBody),
    ))]
pub(super) async fn buy(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    CurrentSettings(settings, ..): CurrentSettings<AuthLab>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<Purchase>, ApiError> {
    owner_of(&state, &student, id).await?;
    let user = authorise(
        &state,
        &inspector,
        &student,
        &headers,
        &settings.policy,
        "buy",
        None,
    )
    .await?;
    Ok(Json(Purchase {
        bought: id,
        by: user,
    }))
}

/// `POST /labs/auth/users/{username}/ban`
#[utoipa::path(post, path = "/users/{username}/ban",
    operation_id = "ban_user",
    summary = "Ban a demo user",
    description = "Needs a signed-in demo user whose role may `ban_user` (admins, by default). A banned user is refused every shop action.",
    params(("username" = String, Path, description = "The demo user to ban")),
    responses(
        (status = 204, description = "The user is banned"),
        (status = 401, description = "Not signed in to the demo shop, or the token or session was refused", body = model::ErrorBody),
        (status = 403, description = "Signed in, but your permission matrix does not allow this (or the user is banned); the message names the rule", body = model::ErrorBody),
        (status = 404, description = "No demo user by that name in your shop", body = model::ErrorBody),
    ))]
pub(super) async fn ban(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    CurrentSettings(settings, ..): CurrentSettings<AuthLab>,
    headers: HeaderMap,
    Path(username): Path<String>,
) -> Result<StatusCode, ApiError> {
    authorise(
        &state,
        &inspector,
        &student,
        &headers,
        &settings.policy,
        "ban_user",
        None,
    )
    .await?;
    let banned = shop::run(
        &state,
        &student.id,
        "UPDATE users SET banned = 1 WHERE username = ?",
        vec![json!(username)],
    )
    .await?
    .changes();
    if banned == 0 {
        return Err(ApiError::NotFound(format!(
            "No demo user {username:?} in your shop."
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_narrows_what_a_role_may_delete() {
        let mut policy = default_policy();
        assert!(
            decide(&policy, "sam", "seller", "delete_product", Some("ada")).0,
            "the loose default"
        );
        policy.insert(
            "seller".into(),
            vec!["browse".into(), "delete_own_product".into()],
        );
        let (allowed, rule) = decide(&policy, "sam", "seller", "delete_product", Some("ada"));
        assert!(!allowed);
        assert!(rule.contains("ada owns this one"), "{rule}");
        assert!(decide(&policy, "sam", "seller", "delete_product", Some("sam")).0);
        assert!(!decide(&policy, "bo", "buyer", "add_product", None).0);
    }

    #[test]
    fn a_ruling_names_the_matrix_action_it_rests_on() {
        let mut policy = default_policy();
        let grant = |policy: &BTreeMap<String, Vec<String>>, role: &str, owner: &str| {
            rule_on(policy, "sam", role, "delete_product", Some(owner)).grant
        };
        assert_eq!(grant(&policy, "seller", "ada"), Some("delete_any_product"));
        assert_eq!(grant(&policy, "buyer", "ada"), None);
        policy.insert("seller".into(), vec!["delete_own_product".into()]);
        let refused = rule_on(&policy, "sam", "seller", "delete_product", Some("ada"));
        assert!(!refused.allowed);
        assert_eq!(refused.grant, Some("delete_own_product"));
        assert_eq!(
            rule_on(&policy, "sam", "admin", "ban_user", None).grant,
            Some("ban_user")
        );
    }

    #[test]
    fn policies_name_only_known_roles_and_actions() {
        assert!(validate_policy(&default_policy()).is_ok());
        let mut bad = default_policy();
        bad.insert("root".into(), vec![]);
        assert!(validate_policy(&bad).unwrap_err().contains("root"));
        let mut bad = default_policy();
        bad.insert("buyer".into(), vec!["fly".into()]);
        assert!(validate_policy(&bad).unwrap_err().contains("fly"));
    }
}
