//! `quiz`: one question, answered in the browser.
//!
//! ```toml
//! [check]
//! question = "single"            # single | multiple | order | short
//! choices = ["GET", "POST", "PUT"]
//! answer = "GET"                 # single: one of the choices
//! # multiple: answers = ["GET", "HEAD"]    (any order, all and only these)
//! # order:    answer = ["a", "b", "c"]     (the choices in the right order)
//! # short:    accept = ["201", "201 Created"], or number = 201 with tolerance = 0
//! [check.feedback]               # optional: said when a wrong choice is picked
//! POST = "POST sends data for the server to process; it is not a read."
//! ```
//!
//! Short answers are compared after normalisation: surrounding whitespace
//! trimmed, inner runs of whitespace collapsed, case folded unless
//! `case_sensitive = true`. Numeric answers accept any number within the
//! tolerance, written with or without a fractional part.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::{BoxFuture, FutureExt};
use serde::Deserialize;
use serde_json::Value;

use super::{check_line, parse_check, AnswerError, CheckKind, CheckOutcome, Checker, GradeContext};
use model::ExerciseInput;

/// The `quiz` kind.
pub(crate) struct Quiz;

/// A quiz question and its reference answer.
#[derive(Debug, Deserialize)]
#[serde(tag = "question", rename_all = "lowercase", deny_unknown_fields)]
enum Question {
    Single {
        choices: Vec<String>,
        answer: String,
        #[serde(default)]
        feedback: BTreeMap<String, String>,
    },
    Multiple {
        choices: Vec<String>,
        answers: Vec<String>,
        #[serde(default)]
        feedback: BTreeMap<String, String>,
    },
    Order {
        choices: Vec<String>,
        answer: Vec<String>,
    },
    Short {
        #[serde(default)]
        accept: Vec<String>,
        number: Option<f64>,
        #[serde(default)]
        tolerance: f64,
        #[serde(default)]
        case_sensitive: bool,
        placeholder: Option<String>,
    },
}

impl CheckKind for Quiz {
    fn name(&self) -> &'static str {
        "quiz"
    }

    fn load(
        &self,
        front_matter: &str,
        first_line: usize,
    ) -> Result<Box<dyn Checker>, (usize, String)> {
        let question: Question = parse_check(front_matter, first_line)?;
        question.validate().map_err(|message| {
            (
                check_line(front_matter, first_line),
                format!("[check]: {message}"),
            )
        })?;
        Ok(Box::new(question))
    }
}

fn unique(items: &[String]) -> bool {
    items.iter().collect::<BTreeSet<_>>().len() == items.len()
}

impl Question {
    fn validate(&self) -> Result<(), String> {
        let in_choices = |choices: &[String], picked: &str| choices.iter().any(|c| c == picked);
        match self {
            Self::Single {
                choices,
                answer,
                feedback,
            } => {
                check_choices(choices)?;
                if !in_choices(choices, answer) {
                    return Err(format!("the answer {answer:?} is not one of the choices"));
                }
                check_feedback(choices, feedback)
            }
            Self::Multiple {
                choices,
                answers,
                feedback,
            } => {
                check_choices(choices)?;
                if answers.is_empty() {
                    return Err("`answers` names no choice; a multiple-choice question needs at least one right answer".into());
                }
                if let Some(stray) = answers.iter().find(|a| !in_choices(choices, a)) {
                    return Err(format!("the answer {stray:?} is not one of the choices"));
                }
                check_feedback(choices, feedback)
            }
            Self::Order { choices, answer } => {
                check_choices(choices)?;
                let mut sorted_choices = choices.clone();
                let mut sorted_answer = answer.clone();
                sorted_choices.sort();
                sorted_answer.sort();
                if sorted_choices != sorted_answer {
                    return Err(
                        "`answer` must list every choice exactly once, in the right order".into(),
                    );
                }
                Ok(())
            }
            Self::Short {
                accept,
                number,
                tolerance,
                ..
            } => {
                if accept.is_empty() && number.is_none() {
                    return Err(
                        "a short answer needs a reference: `accept = [...]` or `number = ...`"
                            .into(),
                    );
                }
                if !tolerance.is_finite() || *tolerance < 0.0 {
                    return Err("`tolerance` must be a number of at least 0".into());
                }
                Ok(())
            }
        }
    }
}

fn check_choices(choices: &[String]) -> Result<(), String> {
    if choices.len() < 2 {
        return Err("`choices` needs at least two entries".into());
    }
    if !unique(choices) {
        return Err("`choices` lists the same entry twice".into());
    }
    Ok(())
}

fn check_feedback(choices: &[String], feedback: &BTreeMap<String, String>) -> Result<(), String> {
    match feedback.keys().find(|k| !choices.contains(k)) {
        Some(stray) => Err(format!(
            "[check.feedback] names {stray:?}, which is not a choice"
        )),
        None => Ok(()),
    }
}

/// Trims, collapses inner whitespace, and folds case unless asked not to.
fn normalise(text: &str, case_sensitive: bool) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if case_sensitive {
        collapsed
    } else {
        collapsed.to_lowercase()
    }
}

fn text_answer(answer: &Value) -> Result<String, AnswerError> {
    match answer {
        Value::String(text) => Ok(text.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(AnswerError("send the answer as a string".into())),
    }
}

fn list_answer(answer: &Value) -> Result<Vec<String>, AnswerError> {
    let items = answer
        .as_array()
        .ok_or_else(|| AnswerError("send the answer as a list of choices".into()))?;
    items
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| AnswerError("every entry of the answer must be a string".into()))
        })
        .collect()
}

fn choice_answer(choices: &[String], picked: &str) -> Result<(), AnswerError> {
    if choices.iter().any(|c| c == picked) {
        Ok(())
    } else {
        Err(AnswerError(format!("{picked:?} is not one of the choices")))
    }
}

impl Question {
    fn grade_now(&self, answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
        let outcome = match self {
            Self::Single {
                choices,
                answer: right,
                feedback,
            } => {
                let picked = text_answer(answer)?;
                choice_answer(choices, &picked)?;
                CheckOutcome::new("the chosen answer", &picked == right)
                    .observed(picked.clone())
                    .hint(feedback.get(&picked).cloned())
            }
            Self::Multiple {
                choices,
                answers,
                feedback,
            } => {
                let picked = list_answer(answer)?;
                for p in &picked {
                    choice_answer(choices, p)?;
                }
                let picked_set: BTreeSet<_> = picked.iter().collect();
                let right_set: BTreeSet<_> = answers.iter().collect();
                let passed = picked_set == right_set;
                let wrong_pick = picked.iter().find(|p| !right_set.contains(p));
                CheckOutcome::new("the chosen answers", passed)
                    .expected(format!("{} choices", answers.len()))
                    .observed(format!(
                        "{} chosen: {}",
                        picked_set.len(),
                        picked.join(", ")
                    ))
                    .hint(
                        wrong_pick
                            .and_then(|p| feedback.get(p).cloned())
                            .or_else(|| {
                                (picked_set.len() < right_set.len())
                                    .then(|| "More than these are right.".to_string())
                            }),
                    )
            }
            Self::Order {
                choices,
                answer: right,
            } => {
                let given = list_answer(answer)?;
                let mut sorted = given.clone();
                sorted.sort();
                let mut all = choices.clone();
                all.sort();
                if sorted != all {
                    return Err(AnswerError("put every item in the list, each once".into()));
                }
                let in_place = given.iter().zip(right).filter(|(g, r)| g == r).count();
                CheckOutcome::new("the order", &given == right)
                    .observed(format!("{in_place} of {} in the right place", right.len()))
            }
            Self::Short {
                accept,
                number,
                tolerance,
                case_sensitive,
                ..
            } => {
                let given = text_answer(answer)?;
                let normal = normalise(&given, *case_sensitive);
                let by_text = accept
                    .iter()
                    .any(|a| normalise(a, *case_sensitive) == normal);
                let by_number = number.is_some_and(|n| {
                    normal
                        .parse::<f64>()
                        .is_ok_and(|g| g.is_finite() && (g - n).abs() <= *tolerance)
                });
                CheckOutcome::new("the answer", by_text || by_number).observed(given.trim())
            }
        };
        Ok(vec![outcome])
    }
}

impl Checker for Question {
    fn public_input(&self) -> ExerciseInput {
        match self {
            Self::Single { choices, .. } => ExerciseInput::SingleChoice {
                choices: choices.clone(),
            },
            Self::Multiple { choices, .. } => ExerciseInput::MultipleChoice {
                choices: choices.clone(),
            },
            Self::Order { choices, .. } => ExerciseInput::Order {
                items: choices.clone(),
            },
            Self::Short { placeholder, .. } => ExerciseInput::ShortAnswer {
                placeholder: placeholder.clone().unwrap_or_default(),
            },
        }
    }

    fn grade<'a>(
        &'a self,
        answer: &'a Value,
        _context: &'a GradeContext,
    ) -> BoxFuture<'a, Result<Vec<CheckOutcome>, AnswerError>> {
        std::future::ready(self.grade_now(answer)).boxed()
    }

    fn secrets(&self) -> Vec<String> {
        match self {
            // Which choices are right is the secret, but each choice is
            // public text; tests check the public input has no answer in it.
            Self::Single { .. } | Self::Multiple { .. } | Self::Order { .. } => Vec::new(),
            Self::Short { accept, .. } => accept.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(check: &str) -> Result<Box<dyn Checker>, (usize, String)> {
        Quiz.load(&format!("id = \"x\"\n[check]\n{check}"), 2)
    }

    async fn passed(check: &str, answer: Value) -> bool {
        let checker = load(check).unwrap();
        let checks = checker
            .grade(&answer, &GradeContext::default())
            .await
            .unwrap();
        checks.iter().all(|c| c.passed)
    }

    const SINGLE: &str = "question = \"single\"\nchoices = [\"GET\", \"POST\"]\nanswer = \"GET\"\n[check.feedback]\nPOST = \"POST is not a read.\"";

    #[tokio::test]
    async fn single_choice_needs_the_right_choice_and_explains_a_wrong_one() {
        assert!(passed(SINGLE, json!("GET")).await);
        assert!(!passed(SINGLE, json!("POST")).await);
        let checker = load(SINGLE).unwrap();
        let wrong = checker
            .grade(&json!("POST"), &GradeContext::default())
            .await
            .unwrap();
        assert_eq!(wrong[0].hint.as_deref(), Some("POST is not a read."));
        assert_eq!(wrong[0].expected, None, "the right choice is not revealed");
        // Not a choice at all: a bad answer, not a wrong one.
        assert!(checker
            .grade(&json!("PATCH"), &GradeContext::default())
            .await
            .is_err());
    }

    #[tokio::test]
    async fn multiple_choice_needs_all_and_only_the_right_choices_in_any_order() {
        let check = "question = \"multiple\"\nchoices = [\"GET\", \"HEAD\", \"POST\"]\nanswers = [\"GET\", \"HEAD\"]";
        assert!(passed(check, json!(["HEAD", "GET"])).await);
        assert!(!passed(check, json!(["GET"])).await, "missing one");
        assert!(
            !passed(check, json!(["GET", "HEAD", "POST"])).await,
            "one too many"
        );
    }

    #[tokio::test]
    async fn order_questions_fail_the_right_items_in_the_wrong_order() {
        let check = "question = \"order\"\nchoices = [\"DNS lookup\", \"TCP handshake\", \"TLS handshake\"]\nanswer = [\"DNS lookup\", \"TCP handshake\", \"TLS handshake\"]";
        assert!(
            passed(
                check,
                json!(["DNS lookup", "TCP handshake", "TLS handshake"])
            )
            .await
        );
        assert!(
            !passed(
                check,
                json!(["TCP handshake", "DNS lookup", "TLS handshake"])
            )
            .await
        );
    }

    #[tokio::test]
    async fn short_answers_are_normalised_but_not_too_much() {
        let check = "question = \"short\"\naccept = [\"201 Created\"]";
        assert!(
            passed(check, json!("  201   created ")).await,
            "case and spaces"
        );
        assert!(
            !passed(check, json!("200 OK")).await,
            "a 200 where 201 was required"
        );
        let strict = "question = \"short\"\naccept = [\"Location\"]\ncase_sensitive = true";
        assert!(!passed(strict, json!("location")).await);
        let numeric = "question = \"short\"\nnumber = 0.5\ntolerance = 0.01";
        assert!(passed(numeric, json!("0.505")).await);
        assert!(passed(numeric, json!(0.5)).await);
        assert!(!passed(numeric, json!("0.52")).await);
        assert!(!passed(numeric, json!("NaN")).await);
    }

    #[test]
    fn authoring_mistakes_are_reported_at_the_check_table() {
        let (line, message) =
            load("question = \"single\"\nchoices = [\"a\", \"b\"]\nanswer = \"c\"").unwrap_err();
        assert_eq!(line, 3, "the [check] line of the file");
        assert!(message.contains("not one of the choices"), "{message}");
        let (line, message) = load("question = \"essay\"").unwrap_err();
        assert_eq!(line, 4);
        assert!(message.contains("essay"), "{message}");
        assert!(load("question = \"short\"")
            .unwrap_err()
            .1
            .contains("reference"));
        assert!(load("question = \"order\"\nchoices = [\"a\", \"b\"]\nanswer = [\"a\"]").is_err());
        assert!(load("question = \"single\"\nchoices = [\"a\", \"b\"]\nanswer = \"a\"\nfeedback = { c = \"?\" }").is_err());
    }

    #[test]
    fn the_browser_sees_choices_but_no_answer() {
        let public = load(SINGLE).unwrap().public_input();
        assert_eq!(
            public,
            ExerciseInput::SingleChoice {
                choices: vec!["GET".into(), "POST".into()]
            }
        );
    }
}
