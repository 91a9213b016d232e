//! The testing lab's widgets: the suite editor (write API tests as
//! `[[steps]]`, save and run them against the correct todos API and its
//! twelve mutants, and read which bugs the suite caught and what would
//! catch the survivors), and the doubles table (one endpoint's tests on a
//! fake, a stub and the real database).

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use crate::model::labs::testing::{
    DoubleRun, DoubleVerdict, DoublesReport, SuiteReport, TestingSettings,
};
#[cfg(feature = "hydrate")]
use crate::model::labs::SettingsDocument;
use crate::model::CheckOutcome;

/// What the last press of "Save and run" came to (only the browser runs
/// suites, so the server never makes the last two).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Outcome {
    Idle,
    Running,
    Refused(String),
    Ran(SuiteReport),
}

/// The suite editor and its report.
#[island(lazy)]
pub(crate) fn TestSuite() -> impl IntoView {
    let suite = RwSignal::new(TestingSettings::default().suite);
    let outcome = RwSignal::new(Outcome::Idle);
    let hydrated = RwSignal::new(false);
    // Typed in before the saved suite arrived: the saved one must not
    // replace what the student typed.
    let edited = RwSignal::new(false);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Ok((200, text)) =
                super::fetch::call_api("GET", "/labs/testing/settings", None).await
            {
                if let Ok(doc) =
                    crate::widgets::json::from_str::<SettingsDocument<TestingSettings>>(&text)
                {
                    if !edited.get_untracked() {
                        suite.set(doc.settings.suite);
                    }
                }
            }
            hydrated.set(true);
        });
    });

    let run = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        outcome.set(Outcome::Running);
        let settings = TestingSettings {
            suite: suite.get_untracked(),
        };
        let body = crate::widgets::json::to_string(&settings);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            outcome.set(save_and_run(body).await);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = body;
    };
    let start_again = move |_| {
        edited.set(true);
        suite.set(TestingSettings::default().suite);
        outcome.set(Outcome::Idle);
    };

    view! {
        <section class="widget test-suite" aria-label="Test suite" data-hydrated=move || hydrated.get().to_string()>
            <form class="test-suite-form" on:submit=run>
                <label class="field">
                    <span class="field-label">"Your suite: one " <code>"[[steps]]"</code> " table per request"</span>
                    <textarea class="suite-text" rows="18" wrap="off" spellcheck="false" autocomplete="off"
                        prop:value=move || suite.get()
                        on:input=move |ev| {
                            edited.set(true);
                            suite.set(event_target_value(&ev));
                        }
                    >{suite.get_untracked()}</textarea>
                </label>
                <div class="suite-actions">
                    <button type="submit" class="button-primary"
                        disabled=move || !hydrated.get() || outcome.get() == Outcome::Running>
                        "Save and run"
                    </button>
                    <button type="button" class="button-secondary" on:click=start_again>"Start again from the example"</button>
                </div>
            </form>
            <p class="note-inline" role="status">{move || status_line(&outcome.get())}</p>
            {move || match outcome.get() {
                Outcome::Refused(message) => EitherOf3::A(view! { <pre class="suite-error">{message}</pre> }),
                Outcome::Ran(report) => EitherOf3::B(view! { <Report report/> }),
                Outcome::Idle | Outcome::Running => EitherOf3::C(()),
            }}
        </section>
    }
}

/// Saves the suite as the student's settings (what the exercise grades),
/// then runs it.
#[cfg(feature = "hydrate")]
async fn save_and_run(settings: Option<String>) -> Outcome {
    let refused = |text: String| Outcome::Refused(crate::widgets::json::error_message(text));
    match super::fetch::call_api("PUT", "/labs/testing/settings", settings).await {
        Ok((200, _)) => {}
        Ok((_, text)) => return refused(text),
        Err(message) => return Outcome::Refused(message),
    }
    match super::fetch::call_api("POST", "/labs/testing/run", Some("{}".into())).await {
        Ok((200, text)) => crate::widgets::json::from_str(&text)
            .map(Outcome::Ran)
            .unwrap_or_else(|e| Outcome::Refused(format!("The report was not understood: {e}"))),
        Ok((_, text)) => refused(text),
        Err(message) => Outcome::Refused(message),
    }
}

fn status_line(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Idle => String::new(),
        Outcome::Running => "Running your suite against the API and its mutants…".into(),
        Outcome::Refused(_) => "Your suite was not run:".into(),
        Outcome::Ran(report) if !report.valid => {
            "Your suite fails on the correct API, so it was not run against the mutants.".into()
        }
        Outcome::Ran(report) => format!(
            "Killed {} of {} mutants ({} steps, {} ms).",
            report.killed, report.total, report.steps, report.took_ms
        ),
    }
}

#[component]
fn Report(report: SuiteReport) -> impl IntoView {
    let failing: Vec<CheckOutcome> = report
        .reference
        .iter()
        .filter(|c| !c.passed)
        .cloned()
        .collect();
    let (killed, survived): (Vec<_>, Vec<_>) = report.mutants.into_iter().partition(|m| m.killed);
    let passed_checks = report.reference.len();
    view! {
        <div class="suite-report">
            {(!failing.is_empty()).then(|| view! {
                <h4>"Fails on the correct API"</h4>
                <p>"Every check must pass on the correct API: a test that fails there is wrong, not the API."</p>
                <ul class="check-list">
                    {failing.into_iter().map(|check| view! { <li class="check-failed"><CheckLine check/></li> }).collect_view()}
                </ul>
            })}
            {report.valid.then(|| view! {
                <p class="suite-score">
                    <meter min="0" max=report.total value=report.killed>{report.killed} " of " {report.total}</meter>
                    " " {report.killed} " of " {report.total} " mutants killed; all " {passed_checks} " checks pass on the correct API."
                </p>
            })}
            {(!survived.is_empty()).then(|| view! {
                <h4>"Survived: what your suite missed"</h4>
                <ul class="mutant-list">
                    {survived.into_iter().map(|m| view! {
                        <li class="mutant-survived">
                            <strong>{m.title}</strong>
                            <p>{code_spans(&m.explanation.unwrap_or_default())}</p>
                        </li>
                    }).collect_view()}
                </ul>
            })}
            {(!killed.is_empty()).then(|| view! {
                <h4>"Killed"</h4>
                <ul class="mutant-list">
                    {killed.into_iter().map(|m| view! {
                        <li class="mutant-killed">
                            <strong>{m.title}</strong>
                            <span class="muted">" caught by " {m.caught_by.unwrap_or_default()}</span>
                        </li>
                    }).collect_view()}
                </ul>
            })}
        </div>
    }
}

/// `text` with its `backticked` parts as code.
fn code_spans(text: &str) -> impl IntoView {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                Either::Left(view! { <code>{part.to_string()}</code> })
            } else {
                Either::Right(part.to_string())
            }
        })
        .collect_view()
}

#[component]
fn CheckLine(check: CheckOutcome) -> impl IntoView {
    view! {
        <strong>{check.name}</strong>
        {check.expected.map(|e| view! { <span>" expected " <code>{e}</code></span> })}
        {check.observed.map(|o| view! { <span>", the API answered " <code>{o}</code></span> })}
    }
}

/// Four tests of one sign-up endpoint, each on a test double and on the
/// real database, side by side.
#[island(lazy)]
pub(crate) fn TestDoubles() -> impl IntoView {
    let report = RwSignal::new(None::<Result<DoublesReport, String>>);
    let running = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let run = move |_| {
        running.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer = super::fetch::call_api("POST", "/labs/testing/doubles", None).await;
            report.set(Some(match answer {
                Ok((200, text)) => crate::widgets::json::from_str(&text).map_err(|e| e.to_string()),
                Ok((_, text)) => Err(crate::widgets::json::error_message(text)),
                Err(message) => Err(message),
            }));
            running.set(false);
        });
    };
    view! {
        <section class="widget test-doubles" aria-label="Test doubles" data-hydrated=move || hydrated.get().to_string()>
            <button type="button" class="button-primary" on:click=run
                disabled=move || !hydrated.get() || running.get()>
                "Run the four tests"
            </button>
            {move || match report.get() {
                None => EitherOf3::A(()),
                Some(Err(message)) => EitherOf3::B(view! { <p class="form-error" role="status">{message}</p> }),
                Some(Ok(report)) => EitherOf3::C(view! { <DoublesTable report/> }),
            }}
        </section>
    }
}

#[component]
fn DoublesTable(report: DoublesReport) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="data-table doubles-table">
                <caption>"Each test on a double and on the real database"</caption>
                <thead><tr>
                    <th scope="col">"Test"</th>
                    <th scope="col">"On the double"</th>
                    <th scope="col">"On SQLite"</th>
                    <th scope="col">"What it shows"</th>
                </tr></thead>
                <tbody>
                    {report.scenarios.into_iter().map(|s| view! {
                        <tr>
                            <th scope="row">{s.name}<span class="muted">" expects " {s.expects}</span></th>
                            <td><RunCell run=s.double kind=s.double_kind/></td>
                            <td><RunCell run=s.real kind="real".to_string()/></td>
                            <td>{s.lesson}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn RunCell(run: DoubleRun, kind: String) -> impl IntoView {
    let (class, verdict) = match run.verdict {
        DoubleVerdict::Passed => ("verdict-passed", "passed"),
        DoubleVerdict::Failed => ("verdict-failed", "failed"),
        DoubleVerdict::CannotRun => ("verdict-none", "cannot run"),
    };
    let took = match (run.verdict, run.micros) {
        (DoubleVerdict::CannotRun, _) => String::new(),
        (_, 0) => " in under 1 µs".to_string(),
        (_, micros) => format!(" in {micros} µs"),
    };
    view! {
        <strong class=class>{verdict}</strong>
        {(kind != "real").then(|| view! { <span class="muted">" (" {kind} ")"</span> })}
        {took}
        <br/>
        <span>{run.observed}</span>
    }
}
