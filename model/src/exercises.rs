//! The exercise API's request and answer bodies: an attempt as the card
//! sends it, the answer shapes the server's check kinds read, and the
//! graded result.

use serde::{Deserialize, Serialize};

use crate::{ExerciseStanding, Outcome};

/// `POST /api/exercises/{id}/attempts`. The server reads the answer as any
/// JSON (`A = serde_json::Value`: each check kind judges its own shape,
/// and labs add kinds); the exercise card sends an [`ExerciseAnswer`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AttemptRequest<A = ExerciseAnswer> {
    /// The student's answer.
    #[serde(default)]
    pub answer: A,
}

/// An answer in the shape its exercise's kind reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ExerciseAnswer {
    /// The one choice picked, or a short answer typed.
    Text(String),
    /// The choices picked, or the items in the order given.
    Items(Vec<String>),
    /// A query, for a `sql` exercise.
    Sql(SqlAnswer),
    /// Where the student's server runs, for a `probe` exercise.
    Probe(ProbeAnswer),
    /// Nothing: the server grades what the student did in a lab.
    Elsewhere {},
}

impl Default for ExerciseAnswer {
    /// No text yet.
    fn default() -> Self {
        Self::Text(String::new())
    }
}

/// The answer of a `sql` exercise.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlAnswer {
    /// The student's query.
    pub sql: String,
}

/// The answer of a `probe` exercise.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeAnswer {
    /// Where the student's server listens, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
}

/// What `POST /api/exercises/{id}/attempts` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graded {
    /// The attempt's score and checks.
    pub outcome: Outcome,
    /// The student's standing on the exercise, this attempt included.
    pub standing: ExerciseStanding,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_serialise_in_the_shapes_the_check_kinds_read() {
        let json = |answer: ExerciseAnswer| serde_json::to_string(&answer).unwrap();
        assert_eq!(json(ExerciseAnswer::Text("GET".into())), r#""GET""#);
        assert_eq!(
            json(ExerciseAnswer::Items(vec!["a".into(), "b".into()])),
            r#"["a","b"]"#
        );
        assert_eq!(
            json(ExerciseAnswer::Sql(SqlAnswer {
                sql: "SELECT 1".into()
            })),
            r#"{"sql":"SELECT 1"}"#
        );
        assert_eq!(
            json(ExerciseAnswer::Probe(ProbeAnswer {
                base_url: "http://x".into()
            })),
            r#"{"base_url":"http://x"}"#
        );
        assert_eq!(json(ExerciseAnswer::Elsewhere {}), "{}");
        let attempt = AttemptRequest {
            answer: ExerciseAnswer::Text("GET".into()),
        };
        assert_eq!(
            serde_json::to_string(&attempt).unwrap(),
            r#"{"answer":"GET"}"#
        );
    }

    #[test]
    fn answers_read_back_as_the_shape_they_were_sent_in() {
        let read = |text: &str| serde_json::from_str::<ExerciseAnswer>(text).unwrap();
        assert_eq!(read(r#""x""#), ExerciseAnswer::Text("x".into()));
        assert_eq!(read(r#"["x"]"#), ExerciseAnswer::Items(vec!["x".into()]));
        assert_eq!(
            read(r#"{"sql":"SELECT 1"}"#),
            ExerciseAnswer::Sql(SqlAnswer {
                sql: "SELECT 1".into()
            })
        );
        assert_eq!(read("{}"), ExerciseAnswer::Elsewhere {});
    }
}
