//! Suites of steps that students write themselves (the testing lab): the
//! probe's step format under `[[steps]]`, with bounds on what a suite may
//! ask of the server, and without what would make a verdict depend on
//! timing (`max_ms`) or on a stream the tested API does not have.
//!
//! ```toml
//! [[steps]]
//! name = "create a todo"
//! method = "POST"
//! path = "/todos"
//! headers = { authorization = "Bearer alice", content-type = "application/json" }
//! body = '{"title": "write tests"}'
//! status = 201
//! capture = { todo = "header:location" }
//! ```

use serde::Deserialize;

use super::{ProbePlan, ProbePolicy, Spec, StepSpec};
use model::CheckOutcome;

/// What a student's suite may ask for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SuiteLimits {
    /// Steps in one suite.
    pub(crate) steps: usize,
    /// Bytes of one step's request body.
    pub(crate) body_bytes: usize,
    /// Headers one step sends.
    pub(crate) headers: usize,
    /// How long one run of the suite against one server may take, in ms.
    pub(crate) timeout_ms: u64,
}

/// A validated suite: a probe whose steps a student wrote.
#[derive(Debug)]
pub(crate) struct StudentSuite(ProbePlan);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    #[serde(default)]
    steps: Vec<StepSpec>,
}

impl StudentSuite {
    /// Reads `text` (TOML with `[[steps]]` tables), or says what is wrong
    /// with it and where.
    pub(crate) fn parse(text: &str, limits: &SuiteLimits) -> Result<Self, String> {
        let file: SuiteFile = toml::from_str(text).map_err(|e| e.to_string())?;
        if file.steps.is_empty() {
            return Err("the suite has no steps: add a `[[steps]]` table".into());
        }
        if file.steps.len() > limits.steps {
            return Err(format!(
                "the suite has {} steps; a suite has at most {}",
                file.steps.len(),
                limits.steps
            ));
        }
        for (index, step) in file.steps.iter().enumerate() {
            let at = format!("step {} ({:?})", index + 1, step.name);
            refuse_outside_limits(step, limits).map_err(|why| format!("{at}: {why}"))?;
        }
        ProbePlan::from_spec(Spec {
            timeout_ms: limits.timeout_ms,
            steps: file.steps,
        })
        .map(Self)
    }

    /// How many steps the suite has.
    pub(crate) fn len(&self) -> usize {
        self.0.steps.len()
    }

    /// Runs the suite against the server at `base_url` (on loopback):
    /// every check of every step, in order; a step that could not be sent
    /// fails, and the steps after it are reported as not run.
    pub(crate) async fn run(&self, base_url: &str) -> Vec<CheckOutcome> {
        self.0
            .run(base_url, &ProbePolicy::with_loopback(Vec::new()), None)
            .await
            .unwrap_or_else(|why| vec![CheckOutcome::new("the suite ran", false).observed(why.0)])
    }
}

/// Why `step` asks for more than a student's suite may, if it does.
fn refuse_outside_limits(step: &StepSpec, limits: &SuiteLimits) -> Result<(), String> {
    if step.websocket || step.events.is_some() {
        return Err("the tested API has no streams: leave out `websocket` and `events`".into());
    }
    if step.max_ms.is_some() {
        return Err(
            "`max_ms` is not judged here: catch a bug by what the API answers, not by how fast"
                .into(),
        );
    }
    if step.path.starts_with("//") || step.path.contains("://") {
        return Err(format!(
            "`path` {:?} leaves the tested API; give a path such as /todos",
            step.path
        ));
    }
    let body = step.body.as_deref().map_or(0, str::len);
    if body > limits.body_bytes {
        return Err(format!(
            "the body is {body} bytes; a step sends at most {}",
            limits.body_bytes
        ));
    }
    if step.headers.len() > limits.headers {
        return Err(format!(
            "{} headers; a step sends at most {}",
            step.headers.len(),
            limits.headers
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SuiteLimits = SuiteLimits {
        steps: 3,
        body_bytes: 16,
        headers: 2,
        timeout_ms: 1000,
    };

    fn refused(text: &str) -> String {
        StudentSuite::parse(text, &LIMITS).unwrap_err()
    }

    #[test]
    fn a_suite_in_the_probe_step_format_is_read() {
        let suite = StudentSuite::parse(
            "[[steps]]\nname = \"list\"\npath = \"/todos\"\nstatus = 200\n",
            &LIMITS,
        )
        .unwrap();
        assert_eq!(suite.len(), 1);
    }

    #[test]
    fn suites_beyond_the_limits_are_refused_with_the_step_named() {
        let step = |extra: &str| {
            format!("[[steps]]\nname = \"s\"\npath = \"/todos\"\nstatus = 200\n{extra}\n")
        };
        assert!(refused(&step("").repeat(4)).contains("4 steps"));
        assert!(refused(&step("body = '01234567890123456789'"))
            .contains("step 1 (\"s\"): the body is 20 bytes"));
        assert!(
            refused(&step("headers = { a = \"1\", b = \"2\", c = \"3\" }")).contains("3 headers")
        );
        assert!(refused(&step("max_ms = 5")).contains("max_ms"));
        assert!(refused(&step("websocket = true")).contains("no streams"));
        let outside =
            refused("[[steps]]\nname = \"s\"\npath = \"//example.com/x\"\nstatus = 200\n");
        assert!(outside.contains("leaves the tested API"), "{outside}");
    }

    #[test]
    fn malformed_suites_say_where() {
        let message = refused("[[steps]]\nname = \"s\"\npath = /todos\n");
        assert!(message.contains("line 3"), "{message}");
        let message = refused("[[steps]]\nname = \"s\"\npath = \"/todos\"\n");
        assert!(message.contains("expects nothing"), "{message}");
        let message =
            refused("[[steps]]\nname = \"s\"\npath = \"/todos\"\nstatus = 200\ncolour = 1\n");
        assert!(message.contains("colour"), "{message}");
    }
}
