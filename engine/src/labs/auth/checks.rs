//! The auth lab's `lab` checks (see [`crate::grading::lab`]): each
//! scenario is a demo user asking to do something; the student's permission
//! matrix must allow or deny it as the exercise expects.
//!
//! ```toml
//! [check]
//! lab = "auth"
//! [[check.scenarios]]
//! role = "seller"
//! action = "delete_product"     # or any action of the matrix
//! own = false                   # for delete_product: the user's own product?
//! allowed = false
//! ```

use futures_util::future::{BoxFuture, FutureExt};
use serde::Deserialize;
use serde_json::Value;

use super::rbac::{decide, default_policy, validate_policy, ACTIONS, ROLES};
use crate::grading::{
    check_line, parse_check, AnswerError, AnswerSource, CheckOutcome, Checker, GradeContext,
};
use model::ExerciseInput;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    lab: String,
    scenarios: Vec<Scenario>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    role: String,
    action: String,
    #[serde(default)]
    own: bool,
    allowed: bool,
}

/// Reads an auth lab `[check]` table.
pub(super) fn load(
    front_matter: &str,
    first_line: usize,
) -> Result<Box<dyn Checker>, (usize, String)> {
    let at = check_line(front_matter, first_line);
    let fail = |message: String| (at, format!("[check]: {message}"));
    let spec: Spec = parse_check(front_matter, first_line)?;
    if spec.scenarios.is_empty() {
        return Err(fail(
            "a lab check needs at least one `[[check.scenarios]]`".into(),
        ));
    }
    for s in &spec.scenarios {
        if !ROLES.contains(&s.role.as_str()) {
            return Err(fail(format!("unknown role {:?}", s.role)));
        }
        if s.action != "delete_product" && !ACTIONS.contains(&s.action.as_str()) {
            return Err(fail(format!("unknown action {:?}", s.action)));
        }
    }
    Ok(Box::new(spec))
}

impl Spec {
    fn judge(&self, answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
        let policy = match answer.get("settings").and_then(|s| s.get("policy")) {
            None => default_policy(),
            Some(policy) => serde_json::from_value(policy.clone()).map_err(|e| {
                AnswerError(format!("`settings.policy` is not a permission matrix: {e}"))
            })?,
        };
        validate_policy(&policy).map_err(AnswerError)?;
        Ok(self
            .scenarios
            .iter()
            .map(|s| {
                let owner = if s.own {
                    "student-user"
                } else {
                    "someone-else"
                };
                let (allowed, rule) =
                    decide(&policy, "student-user", &s.role, &s.action, Some(owner));
                let what = if s.action == "delete_product" {
                    format!(
                        "a {} deletes {} product",
                        s.role,
                        if s.own {
                            "their own"
                        } else {
                            "another seller's"
                        }
                    )
                } else {
                    format!("a {} tries {}", s.role, s.action)
                };
                CheckOutcome::new(what, allowed == s.allowed)
                    .expected(if s.allowed { "allowed" } else { "denied" })
                    .observed(format!(
                        "{}: {rule}",
                        if allowed { "allowed" } else { "denied" }
                    ))
            })
            .collect())
    }
}

impl Checker for Spec {
    fn answer_source(&self) -> AnswerSource<'_> {
        AnswerSource::LabSettings(&self.lab)
    }

    fn public_input(&self) -> ExerciseInput {
        ExerciseInput::LabRequests {
            target: format!("your {} lab settings", self.lab),
        }
    }

    fn grade<'a>(
        &'a self,
        answer: &'a Value,
        _context: &'a GradeContext,
    ) -> BoxFuture<'a, Result<Vec<CheckOutcome>, AnswerError>> {
        std::future::ready(self.judge(answer)).boxed()
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CHECK: &str = "[check]\nlab = \"auth\"\n[[check.scenarios]]\nrole = \"seller\"\naction = \"delete_product\"\nown = false\nallowed = false\n[[check.scenarios]]\nrole = \"seller\"\naction = \"delete_product\"\nown = true\nallowed = true";

    async fn grade(answer: Value) -> Vec<CheckOutcome> {
        load(CHECK, 1)
            .unwrap()
            .grade(&answer, &GradeContext::default())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_loose_default_fails_and_an_ownership_policy_passes() {
        let default = grade(json!({})).await;
        assert!(
            !default[0].passed,
            "the default lets sellers delete anything"
        );
        assert!(default[1].passed);
        let mut policy = default_policy();
        policy.insert(
            "seller".into(),
            vec!["browse".into(), "delete_own_product".into()],
        );
        let fixed = grade(json!({ "settings": { "policy": policy } })).await;
        assert!(fixed.iter().all(|c| c.passed), "{fixed:?}");
        // Taking deletion away entirely is not the answer either.
        policy.insert("seller".into(), vec!["browse".into()]);
        let none = grade(json!({ "settings": { "policy": policy } })).await;
        assert!(none[0].passed && !none[1].passed);
    }

    #[test]
    fn scenarios_name_known_roles_and_actions() {
        assert!(load("[check]\nlab = \"auth\"\n[[check.scenarios]]\nrole = \"root\"\naction = \"buy\"\nallowed = true", 1).is_err());
    }
}
