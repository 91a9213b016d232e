//! The observe lab's `lab` checks (see [`crate::grading::lab`]).
//!
//! ```toml
//! [check]
//! lab = "observe"
//! find_the_fault = true     # the diagnosis of the student's hunt
//! ```
//!
//! The answer holds the student's settings (with their diagnosis) and,
//! from [`super::ObserveLab`]'s `extend_answer`, the hunt's hidden
//! incident and the trace the diagnosis names, looked up among the
//! student's own traces only.

use futures_util::future::{BoxFuture, FutureExt};
use model::labs::observe::{Component, Incident, Mechanism, ObserveSettings};
use model::{ExerciseInput, TraceView};
use serde::Deserialize;
use serde_json::Value;

use super::hunt::missing_evidence;
use crate::grading::{
    check_line, parse_check, AnswerError, AnswerSource, CheckOutcome, Checker, GradeContext,
};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code)]
    lab: String,
    find_the_fault: bool,
}

pub(super) fn load(
    front_matter: &str,
    first_line: usize,
) -> Result<Box<dyn Checker>, (usize, String)> {
    let spec: Spec = parse_check(front_matter, first_line)?;
    if !spec.find_the_fault {
        return Err((
            check_line(front_matter, first_line),
            "[check]: an observe lab check is `find_the_fault = true`".into(),
        ));
    }
    Ok(Box::new(spec))
}

/// What `extend_answer` adds for the check.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct HuntFacts {
    /// The incident hidden in the student's hunt, when one is on.
    pub(super) incident: Option<Incident>,
    /// The trace the diagnosis names, when it is one of the student's.
    pub(super) trace: Option<TraceView>,
}

fn judge(answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
    let settings: ObserveSettings = match answer.get("settings") {
        None | Some(Value::Null) => ObserveSettings::default(),
        Some(s) => serde_json::from_value(s.clone())
            .map_err(|e| AnswerError(format!("`settings` are not observe lab settings: {e}")))?,
    };
    let facts: HuntFacts = answer
        .get("hunt")
        .map(|h| serde_json::from_value(h.clone()))
        .transpose()
        .map_err(|e| AnswerError(format!("`hunt` does not read: {e}")))?
        .unwrap_or_default();
    let (Some(round), Some(incident)) = (settings.hunt, facts.incident) else {
        return Ok(vec![CheckOutcome::new("a fault hunt is on", false).hint(
            Some(
                "Start a hunt in the observe lab, find the fault, then save your diagnosis.".into(),
            ),
        )]);
    };
    let diagnosis = &settings.diagnosis;
    let (component, mechanism) = incident.diagnosis();
    // One check for both, so that attempts do not tell which half is right.
    let named = |c: Option<Component>, m: Option<Mechanism>| {
        format!(
            "{}, {}",
            c.map_or("no component", |c| c.label()),
            m.map_or("no mechanism", |m| m.label())
        )
    };
    let mut checks = vec![CheckOutcome::new(
        "the component at fault and how it fails",
        diagnosis.component == Some(component) && diagnosis.mechanism == Some(mechanism),
    )
    .observed(named(diagnosis.component, diagnosis.mechanism))
    .hint(Some(
        "Compare a slow or failing trace step by step with a healthy one: which step differs, and how (its duration, how often it runs, a field, its status)?"
            .into(),
    ))];
    let evidence = match &facts.trace {
        None if diagnosis.trace_id.trim().is_empty() => Some("no trace id given".to_string()),
        None => Some(format!(
            "{:?} is not one of your recent traces (the inspector keeps your latest 200)",
            diagnosis.trace_id.trim()
        )),
        Some(trace) => missing_evidence(trace, incident, round),
    };
    checks.push(
        CheckOutcome::new("a trace of yours that shows it", evidence.is_none())
            .observed(evidence.unwrap_or_else(|| "the trace shows the faulty step".into()))
            .hint(Some(
                "Copy the id of a trace whose steps show the fault, from the dashboard's log or the inspector."
                    .into(),
            )),
    );
    Ok(checks)
}

impl Checker for Spec {
    fn answer_source(&self) -> AnswerSource<'_> {
        AnswerSource::LabSettings("observe")
    }

    fn public_input(&self) -> ExerciseInput {
        ExerciseInput::LabRequests {
            target: "your diagnosis of the fault hunt in the observe lab".into(),
        }
    }

    fn grade<'a>(
        &'a self,
        answer: &'a Value,
        _context: &'a GradeContext,
    ) -> BoxFuture<'a, Result<Vec<CheckOutcome>, AnswerError>> {
        async move { judge(answer) }.boxed()
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}
