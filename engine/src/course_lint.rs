//! The course lint: authoring mistakes that loading a course cannot see,
//! because they show only in how its lessons and exercises fit together or
//! when an exercise is graded. `workbench check` runs it after loading.
//!
//! - every lesson embeds at least one graded exercise;
//! - every exercise is embedded in a lesson, so students can reach it;
//! - an exercise graded on what a student did in a lab does not pass for a
//!   student who has done nothing (default settings, no requests), unless
//!   its `lint_allow` says that is intended;
//! - a check kind's own findings ([`crate::grading::Checker::lint`]), such
//!   as an `sql` reference that returns no rows.

use std::collections::HashSet;
use std::path::Path;

use model::LessonBlock;

use crate::content::{shown, AuthoringError, Course};
use crate::grading::http::LabRequests;
use crate::grading::{grade, AnswerSource, Exercise, LintAllowance};
use crate::state::Engine;
use crate::students::StudentId;

/// Every lint finding in the course `engine` serves, in course order.
/// `engine` should be a throwaway one (its own data folder): grading the
/// untouched answers makes a lab state for a student nobody is.
pub async fn lint_course(engine: &Engine) -> Vec<AuthoringError> {
    let course = engine.course.current();
    let mut errors = lesson_findings(&course);
    let untouched = StudentId::from_raw("course-lint-untouched");
    for exercise in course.exercises_in_order() {
        errors.extend(exercise_findings(engine, &exercise, &untouched).await);
    }
    errors
}

/// Lessons without an exercise, and exercises no lesson shows.
fn lesson_findings(course: &Course) -> Vec<AuthoringError> {
    let mut errors = Vec::new();
    let mut embedded_anywhere = HashSet::new();
    for module in &course.outline().modules {
        for link in &module.lessons {
            let key = link.href.trim_start_matches("/lessons/");
            let Some((module_slug, slug)) = key.split_once('/') else {
                continue;
            };
            let Some(page) = course.lesson(module_slug, slug) else {
                continue;
            };
            let embedded: Vec<&str> = page
                .blocks
                .iter()
                .filter_map(|block| match block {
                    LessonBlock::Exercise(view) => Some(view.id.as_str()),
                    _ => None,
                })
                .collect();
            if embedded.is_empty() {
                let path = course
                    .lesson_source(module_slug, slug)
                    .unwrap_or(Path::new(key));
                errors.push(AuthoringError::new(
                    path,
                    1,
                    "the lesson has no exercise: every lesson ends with at least one graded exercise (```exercise <id>```), so a student can check what they learned",
                ));
            }
            embedded_anywhere.extend(embedded.into_iter().map(str::to_string));
        }
    }
    for exercise in course.exercises().iter() {
        if !embedded_anywhere.contains(&exercise.id) {
            errors.push(AuthoringError::new(
                shown(&exercise.source.0),
                exercise.source.1,
                format!(
                    "no lesson shows this exercise, so students cannot reach it: add ```exercise {}``` to lesson `{}`",
                    exercise.id, exercise.lesson
                ),
            ));
        }
    }
    errors
}

/// What is wrong with one exercise's check, graded for `untouched`.
async fn exercise_findings(
    engine: &Engine,
    exercise: &Exercise,
    untouched: &StudentId,
) -> Vec<AuthoringError> {
    let context = engine.grading.context.for_student(untouched);
    let mut findings = exercise.checker.lint(&context).await;
    if let Some(answer) = untouched_answer(engine, exercise, untouched).await {
        let passes = grade(exercise, &answer, &context)
            .await
            .is_ok_and(|outcome| outcome.passed());
        if passes {
            findings.push(crate::grading::LintFinding {
                allowance: Some(LintAllowance::PassesUntouched),
                message: "the check passes for a student who has done nothing yet (the lab's default settings, no requests), so it can be passed without understanding; if that is intended, add `lint_allow = [\"passes-untouched\"]`".into(),
            });
        }
    }
    findings
        .into_iter()
        .filter(|f| {
            f.allowance
                .is_none_or(|a| !exercise.lint_allow.contains(&a))
        })
        .map(|f| AuthoringError::new(shown(&exercise.source.0), exercise.source.1, f.message))
        .collect()
}

/// The answer the server would grade for a student who has not touched
/// the lab yet, for checks that read the lab rather than take an answer.
async fn untouched_answer(
    engine: &Engine,
    exercise: &Exercise,
    student: &StudentId,
) -> Option<serde_json::Value> {
    match exercise.checker.answer_source() {
        AnswerSource::Student => None,
        AnswerSource::RecordedRequests => serde_json::to_value(LabRequests {
            requests: Vec::new(),
        })
        .ok(),
        AnswerSource::LabSettings(lab) => crate::labs::lab_answer(&engine.labs, student, lab)
            .await
            .ok(),
    }
}
