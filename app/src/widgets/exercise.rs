//! The exercise card: the prompt, an answer form that fits the exercise's
//! kind, a Check button, the checks that passed and failed, and hints one
//! at a time. Grading happens on the server; the card never holds an answer.

use leptos::either::{Either, EitherOf7};
use leptos::prelude::*;

use crate::reader_slots;

use crate::model::exercises::{AttemptRequest, ExerciseAnswer, ProbeAnswer, SqlAnswer};
use crate::model::{CheckOutcome, ExerciseInput, ExerciseStanding, ExerciseView, Outcome};

/// What the card is showing after Check.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Feedback {
    Graded(Outcome),
    Problem(String),
}

/// The card for one exercise, from a lesson's ```` ```exercise <id> ```` block.
#[island]
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
    let standing = RwSignal::new(ExerciseStanding::default());
    let feedback = RwSignal::new(None::<Feedback>);
    let busy = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    let answer = Answer::new(&input);
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let base = StoredValue::new(format!("/api/exercises/{id}"));

    Effect::new(move |_| {
        hydrated.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let url = format!("{}/standing", base.get_value());
            if let Ok((200, text)) = super::fetch::call_api("GET", &url, None).await {
                if let Ok(loaded) = serde_json::from_str::<ExerciseStanding>(&text) {
                    standing.set(loaded);
                }
            }
        });
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let attempt = AttemptRequest {
            answer: answer.to_answer(),
        };
        let body = serde_json::to_string(&attempt).ok();
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let url = format!("{}/attempts", base.get_value());
            let result = super::fetch::call_api("POST", &url, body).await;
            feedback.set(Some(match result {
                Ok((200, text)) => {
                    match serde_json::from_str::<crate::model::exercises::Graded>(&text) {
                        Ok(graded) => {
                            standing.set(graded.standing);
                            Feedback::Graded(graded.outcome)
                        }
                        Err(e) => Feedback::Problem(format!("The answer was not understood: {e}")),
                    }
                }
                Ok((_, text)) => Feedback::Problem(error_message(&text)),
                Err(message) => Feedback::Problem(message),
            }));
            busy.set(false);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = body;
    };

    let open_hint = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let url = format!("{}/hints", base.get_value());
            if let Ok((200, text)) = super::fetch::call_api("POST", &url, None).await {
                if let Ok(loaded) = serde_json::from_str::<ExerciseStanding>(&text) {
                    standing.set(loaded);
                }
            }
        });
    };

    let start_again = move |_| {
        feedback.set(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let url = format!("{}/attempts", base.get_value());
            if let Ok((200, _)) = super::fetch::call_api("DELETE", &url, None).await {
                standing.set(ExerciseStanding::default());
            }
        });
    };

    view! {
        <section class="widget exercise-card" aria-labelledby=labelled_by data-hydrated=move || hydrated.get().to_string()>
            <header class="exercise-header">
                <p class="eyebrow">"Exercise · " {points} {if points == 1 { " point" } else { " points" }}</p>
                <h3 id=heading_id>{title}</h3>
                // The server puts the reader's own line here before the page
                // leaves (a text slot), so it is right before the card wakes up.
                <p class="exercise-status" aria-live="polite" data-reader-text=reader_slots::exercise_slot(&id, points)>
                    {move || status_line(&standing.get(), points)}
                </p>
            </header>
            <div class="prose" inner_html=prompt_html></div>
            <form class="exercise-form" on:submit=submit>
                <AnswerFields input answer group=format!("answer-{id}")/>
                <div class="exercise-actions">
                    <button type="submit" class="button-primary" disabled=move || busy.get() || !hydrated.get()>
                        {move || if busy.get() { "Checking…" } else { "Check" }}
                    </button>
                    {(hint_count > 0).then(|| view! {
                        <button type="button" on:click=open_hint
                            disabled=move || { !hydrated.get() || standing.get().hints.len() as u32 >= hint_count }>
                            {move || format!("Show a hint ({} of {hint_count} open)", standing.get().hints.len())}
                        </button>
                    })}
                    <button type="button" class="button-quiet" on:click=start_again
                        disabled=move || !hydrated.get() || standing.get().attempts == 0>
                        "Start again"
                    </button>
                </div>
            </form>
            <ol class="hint-list">
                {move || standing.get().hints.into_iter().enumerate().map(|(i, hint)| view! {
                    <li class="hint"><p class="hint-title">"Hint " {i + 1}</p><div class="prose" inner_html=hint></div></li>
                }).collect_view()}
            </ol>
            <div class="exercise-feedback" aria-live="polite">
                {move || feedback.get().map(|f| match f {
                    Feedback::Graded(outcome) => Either::Left(view! { <OutcomeView outcome/> }),
                    Feedback::Problem(message) => Either::Right(view! { <p class="error-inline" role="alert">{message}</p> }),
                })}
            </div>
        </section>
    }
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn error_message(body: &str) -> String {
    serde_json::from_str::<crate::model::ErrorBody>(body)
        .map(|e| e.message)
        .unwrap_or_else(|_| "The server could not grade this answer.".into())
}

fn status_line(standing: &ExerciseStanding, points: u32) -> String {
    let mark = crate::model::ExerciseMark {
        attempts: standing.attempts,
        best_score: standing.best_score,
        passed: standing.passed,
    };
    crate::reader_slots::exercise_status(&mark, points)
}

/// The answer being edited, whatever its shape.
#[derive(Clone, Copy)]
struct Answer {
    text: RwSignal<String>,
    picked: RwSignal<Vec<String>>,
    order: RwSignal<Vec<String>>,
    kind: StoredValue<ExerciseInput>,
}

impl Answer {
    fn new(input: &ExerciseInput) -> Self {
        let order = match input {
            ExerciseInput::Order { items } => items.clone(),
            _ => Vec::new(),
        };
        let text = match input {
            ExerciseInput::Sql { starter } => starter.clone(),
            _ => String::new(),
        };
        Self {
            text: RwSignal::new(text),
            picked: RwSignal::new(Vec::new()),
            order: RwSignal::new(order),
            kind: StoredValue::new(input.clone()),
        }
    }

    /// The answer in the shape its exercise's kind reads.
    fn to_answer(self) -> ExerciseAnswer {
        match self.kind.get_value() {
            ExerciseInput::SingleChoice { .. } => ExerciseAnswer::Text(
                self.picked
                    .get_untracked()
                    .first()
                    .cloned()
                    .unwrap_or_default(),
            ),
            ExerciseInput::MultipleChoice { .. } => {
                ExerciseAnswer::Items(self.picked.get_untracked())
            }
            ExerciseInput::Order { .. } => ExerciseAnswer::Items(self.order.get_untracked()),
            ExerciseInput::ShortAnswer { .. } => ExerciseAnswer::Text(self.text.get_untracked()),
            ExerciseInput::LabRequests { .. } => ExerciseAnswer::Elsewhere {},
            ExerciseInput::Sql { .. } => ExerciseAnswer::Sql(SqlAnswer {
                sql: self.text.get_untracked(),
            }),
            ExerciseInput::Probe { .. } => ExerciseAnswer::Probe(ProbeAnswer {
                base_url: self.text.get_untracked(),
            }),
        }
    }
}

/// The form fields for the exercise's kind.
#[component]
fn AnswerFields(input: ExerciseInput, answer: Answer, group: String) -> impl IntoView {
    match input {
        ExerciseInput::SingleChoice { choices } => {
            EitherOf7::A(view! { <Choices choices answer group multiple=false/> })
        }
        ExerciseInput::MultipleChoice { choices } => {
            EitherOf7::B(view! { <Choices choices answer group multiple=true/> })
        }
        ExerciseInput::Order { .. } => EitherOf7::C(view! { <OrderList answer/> }),
        ExerciseInput::ShortAnswer { placeholder } => EitherOf7::D(view! {
            <label class="field">
                <span class="field-label">"Your answer"</span>
                <input type="text" class="answer-text" autocomplete="off" placeholder=placeholder bind:value=answer.text/>
            </label>
        }),
        ExerciseInput::LabRequests { target } => EitherOf7::E(view! {
            <p class="exercise-task">"Send " <code>{target}</code>
                " with a request widget on this page (or with curl, using your session cookie), then press Check: the server looks at your own recorded requests."</p>
        }),
        ExerciseInput::Sql { .. } => EitherOf7::F(view! {
            <div class="field">
                <span class="field-label">"Your query"</span>
                <super::sql::SqlEditor text=answer.text label="Your query".to_string() on_run=move |()| {}/>
            </div>
        }),
        ExerciseInput::Probe { steps } => EitherOf7::G({
            let count = steps.len();
            let noun = if count == 1 { " step)" } else { " steps)" };
            view! {
            <label class="field">
                <span class="field-label">"Your server's address"</span>
                <input type="url" class="answer-text" autocomplete="off" placeholder="http://127.0.0.1:8080" bind:value=answer.text/>
            </label>
            <details class="probe-steps">
                <summary>"What the probe will try (" {count} {noun}</summary>
                <ol>{steps.into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}</ol>
            </details>
            }
        }),
    }
}

/// Radio buttons or checkboxes in a fieldset.
#[component]
fn Choices(choices: Vec<String>, answer: Answer, group: String, multiple: bool) -> impl IntoView {
    // One radio group per exercise: the name is the exercise's.
    let name = StoredValue::new(group);
    view! {
        <fieldset class="choices">
            <legend class="field-label">{if multiple { "Choose all that apply" } else { "Choose one" }}</legend>
            {choices.into_iter().map(|choice| {
                let value = choice.clone();
                let toggle = move |ev: leptos::ev::Event| {
                    let checked = event_target_checked(&ev);
                    answer.picked.update(|picked| {
                        if !multiple {
                            picked.clear();
                        }
                        picked.retain(|p| p != &value);
                        if checked {
                            picked.push(value.clone());
                        }
                    });
                };
                view! {
                    <label class="choice">
                        <input type=if multiple { "checkbox" } else { "radio" } name=name.get_value() value=choice.clone() on:change=toggle/>
                        <span>{choice}</span>
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
}

/// Items with move-up and move-down buttons: ordering by keyboard, no dragging needed.
#[component]
fn OrderList(answer: Answer) -> impl IntoView {
    let swap = move |from: usize, to: usize| {
        answer.order.update(|items| {
            if from < items.len() && to < items.len() {
                items.swap(from, to);
            }
        })
    };
    view! {
        <fieldset class="order-list">
            <legend class="field-label">"Put these in order, first at the top"</legend>
            <ol>
                {move || {
                    let items = answer.order.get();
                    let last = items.len().saturating_sub(1);
                    items.into_iter().enumerate().map(|(i, item)| view! {
                        <li class="order-item">
                            <span>{item.clone()}</span>
                            <button type="button" class="button-quiet" aria-label=format!("Move {item} up") disabled=i == 0 on:click=move |_| swap(i, i.saturating_sub(1))>"↑"</button>
                            <button type="button" class="button-quiet" aria-label=format!("Move {item} down") disabled=i == last on:click=move |_| swap(i, i + 1)>"↓"</button>
                        </li>
                    }).collect_view()
                }}
            </ol>
        </fieldset>
    }
}

/// The score and every check of a graded attempt.
#[component]
fn OutcomeView(outcome: Outcome) -> impl IntoView {
    let passed = outcome.passed();
    view! {
        <div class="outcome" class:outcome-passed=passed>
            <p class="outcome-score" role="status">
                {if passed { "All checks passed: " } else { "Not yet: " }}
                {outcome.score} " of " {outcome.max} " points"
            </p>
            <ul class="check-list">
                {outcome.checks.into_iter().map(|check| view! { <CheckRow check/> }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
fn CheckRow(check: CheckOutcome) -> impl IntoView {
    let mark = if check.passed { "✓" } else { "✗" };
    let state = if check.passed { "passed" } else { "failed" };
    view! {
        <li class=format!("check check-{state}")>
            <span class="check-mark" aria-hidden="true">{mark}</span>
            <span class="visually-hidden">{state} ": "</span>
            <span class="check-name">{check.name}</span>
            {check.expected.map(|e| view! { <span class="check-detail">"expected " <code>{e}</code></span> })}
            {check.observed.map(|o| view! { <span class="check-detail">"got " <code>{o}</code></span> })}
            {check.hint.map(|h| view! { <p class="check-hint">{h}</p> })}
        </li>
    }
}
