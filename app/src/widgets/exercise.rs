//! The exercise card: the prompt, an answer form that fits the exercise's
//! kind, a Check button, the checks that passed and failed, and hints one
//! at a time. Grading happens on the server; the card never holds an answer.
//!
//! This is the card's HTML. The enhancer (crate `enhance`, module
//! `exercise`) wakes it up in the browser; Check stays disabled until then.

use leptos::prelude::*;

use crate::model::{ExerciseInput, ExerciseView};
use crate::reader_slots;

/// The card for one exercise, from a lesson's ```` ```exercise <id> ```` block.
#[component]
pub(crate) fn ExerciseCard(exercise: ExerciseView) -> impl IntoView {
    let ExerciseView {
        id,
        title,
        points,
        prompt_html,
        input,
        hint_count,
    } = exercise;
    let heading_id = format!("exercise-{id}");
    let labelled_by = heading_id.clone();
    let status_slot = reader_slots::exercise_slot(&id, points);
    let group = format!("answer-{id}");
    let answer_shape = answer_shape(&input);
    view! {
        <section class="widget exercise-card" aria-labelledby=labelled_by data-hydrated="false"
            data-exercise=id data-points=points.to_string() data-hint-count=hint_count.to_string() data-answer=answer_shape>
            <header class="exercise-header">
                <p class="eyebrow">"Exercise · " {points} {if points == 1 { " point" } else { " points" }}</p>
                <h3 id=heading_id>{title}</h3>
                // The server puts the reader's own line here before the page
                // leaves (a text slot), so it is right before the card wakes up.
                <p class="exercise-status" aria-live="polite" data-reader-text=status_slot>
                    "Not attempted yet."
                </p>
            </header>
            <div class="prose" inner_html=prompt_html></div>
            <form class="exercise-form">
                <AnswerFields input group/>
                <div class="exercise-actions">
                    <button type="submit" class="button-primary" disabled>"Check"</button>
                    {(hint_count > 0).then(|| view! {
                        <button type="button" data-action="hint" disabled>
                            {format!("Show a hint (0 of {hint_count} open)")}
                        </button>
                    })}
                    <button type="button" class="button-quiet" data-action="start-again" disabled>"Start again"</button>
                </div>
            </form>
            <ol class="hint-list"></ol>
            <div class="exercise-feedback" aria-live="polite"></div>
        </section>
    }
}

/// How the enhancer reads the answer, by the exercise's kind (the tag of
/// [`ExerciseInput`]'s JSON).
fn answer_shape(input: &ExerciseInput) -> &'static str {
    match input {
        ExerciseInput::SingleChoice { .. } => "single_choice",
        ExerciseInput::MultipleChoice { .. } => "multiple_choice",
        ExerciseInput::Order { .. } => "order",
        ExerciseInput::ShortAnswer { .. } => "short_answer",
        ExerciseInput::LabRequests { .. } => "lab_requests",
        ExerciseInput::Sql { .. } => "sql",
        ExerciseInput::Probe { .. } => "probe",
    }
}

/// The form fields for the exercise's kind.
#[component]
fn AnswerFields(input: ExerciseInput, group: String) -> impl IntoView {
    match input {
        ExerciseInput::SingleChoice { choices } => {
            view! { <Choices choices group multiple=false/> }.into_any()
        }
        ExerciseInput::MultipleChoice { choices } => {
            view! { <Choices choices group multiple=true/> }.into_any()
        }
        ExerciseInput::Order { items } => view! { <OrderList items/> }.into_any(),
        ExerciseInput::ShortAnswer { placeholder } => view! {
            <label class="field">
                <span class="field-label">"Your answer"</span>
                <input type="text" class="answer-text" autocomplete="off" placeholder=placeholder/>
            </label>
        }
        .into_any(),
        ExerciseInput::LabRequests { target } => view! {
            <p class="exercise-task">"Send " <code>{target}</code>
                " with a request widget on this page (or with curl, using your session cookie), then press Check: the server looks at your own recorded requests."</p>
        }
        .into_any(),
        // The SQL lab's editor, rendered here only (the enhancer keeps its
        // highlighting in step with the text).
        ExerciseInput::Sql { starter } => view! {
            <div class="field">
                <span class="field-label">"Your query"</span>
                <super::sql::SqlEditor text=RwSignal::new(starter) label="Your query".to_string() on_run=|()| {}/>
            </div>
        }
        .into_any(),
        ExerciseInput::Probe { steps } => {
            let count = steps.len();
            let noun = if count == 1 { " step)" } else { " steps)" };
            view! {
                <label class="field">
                    <span class="field-label">"Your server's address"</span>
                    <input type="url" class="answer-text" autocomplete="off" placeholder="http://127.0.0.1:8080"/>
                </label>
                <details class="probe-steps">
                    <summary>"What the probe will try (" {count} {noun}</summary>
                    <ol>{steps.into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}</ol>
                </details>
            }
            .into_any()
        }
    }
}

/// Radio buttons or checkboxes in a fieldset; one radio group per
/// exercise, named after it.
#[component]
fn Choices(choices: Vec<String>, group: String, multiple: bool) -> impl IntoView {
    view! {
        <fieldset class="choices">
            <legend class="field-label">{if multiple { "Choose all that apply" } else { "Choose one" }}</legend>
            {choices.into_iter().map(|choice| view! {
                <label class="choice">
                    <input type=if multiple { "checkbox" } else { "radio" } name=group.clone() value=choice.clone()/>
                    <span>{choice}</span>
                </label>
            }).collect_view()}
        </fieldset>
    }
}

/// Items with move-up and move-down buttons: ordering by keyboard, no dragging needed.
#[component]
fn OrderList(items: Vec<String>) -> impl IntoView {
    let last = items.len().saturating_sub(1);
    view! {
        <fieldset class="order-list">
            <legend class="field-label">"Put these in order, first at the top"</legend>
            <ol>
                {items.into_iter().enumerate().map(|(i, item)| view! {
                    <li class="order-item" data-item=item.clone()>
                        <span>{item.clone()}</span>
                        <button type="button" class="button-quiet" data-action="move-up" aria-label=format!("Move {item} up") disabled=i == 0>"↑"</button>
                        <button type="button" class="button-quiet" data-action="move-down" aria-label=format!("Move {item} down") disabled=i == last>"↓"</button>
                    </li>
                }).collect_view()}
            </ol>
        </fieldset>
    }
}
