//! The API lab's jobs console: start an export, follow it by polling its
//! URL, cancel it, and read its result, with every request it made listed
//! as it went.

use leptos::prelude::*;

use crate::model::labs::api::{ExportReport, Job, JobStatus};

/// How often the console polls a running job: faster than the API's
/// `Retry-After`, so the progress bar moves while you watch.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const POLL_MS: i32 = 400;
/// Requests the log keeps, newest last.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const LOG_LINES: usize = 8;

/// One request the console made, as the log shows it.
#[derive(Clone, Debug, PartialEq)]
struct Sent {
    request: String,
    answer: String,
    /// The same request with the same answer, in a row (polling).
    times: u32,
}

fn status_name(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Running => "running",
        JobStatus::Done => "done",
        JobStatus::Cancelled => "cancelled",
        JobStatus::Failed => "failed",
    }
}

/// Start, follow, cancel, and the result.
#[island(lazy)]
pub(crate) fn JobsConsole() -> impl IntoView {
    let job = RwSignal::new(None::<Job>);
    let report = RwSignal::new(None::<ExportReport>);
    let log = RwSignal::new(Vec::<Sent>::new());
    let error = RwSignal::new(None::<String>);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let running = move || job.with(|j| j.as_ref().is_some_and(|j| j.status == JobStatus::Running));

    let start = move |_| {
        error.set(None);
        report.set(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(browser::follow(job, report, log, error));
    };
    let cancel = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(url) = job.with_untracked(|j| j.as_ref().map(|j| j.links.itself.clone())) {
            leptos::task::spawn_local(browser::cancel(url, log, error));
        }
    };

    let progress = move || {
        job.get().map(|j| {
            let label = format!(
                "Export {}: {}, {} of {} orders",
                j.id,
                status_name(j.status),
                j.progress.done,
                j.progress.total
            );
            view! {
                <p class="jobs-status">{label.clone()}</p>
                <progress max=j.progress.total.max(1).to_string() value=j.progress.done.to_string() aria-label=label></progress>
                {j.error.map(|e| view! { <p class="error-inline">{e}</p> })}
            }
        })
    };
    let result = move || {
        report.get().map(|r| {
            let rows = r
                .by_status
                .iter()
                .map(|s| {
                    view! {
                        <tr>
                            <th scope="row">{s.status.clone()}</th>
                            <td>{s.orders.to_string()}</td>
                            <td>{super::queue::money(s.total_cents)}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <table class="transport-figures">
                    <caption>{format!("The result: {} orders worth {} in all", r.orders, super::queue::money(r.total_cents))}</caption>
                    <thead><tr><th scope="col">"Status"</th><th scope="col">"Orders"</th><th scope="col">"Value"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
        })
    };
    let lines = move || {
        log.get()
            .into_iter()
            .map(|s| {
                let times = (s.times > 1).then(|| format!(" (×{})", s.times));
                view! { <li><code>{s.request}</code>" → "{s.answer}{times}</li> }
            })
            .collect_view()
    };

    view! {
        <section class="widget jobs-console" aria-label="Jobs console" data-hydrated=move || hydrated.get().to_string()>
            <div class="transport-controls">
                <button type="button" class="button-primary" on:click=start disabled=move || running() || !hydrated.get()>
                    "Start an export"
                </button>
                <button type="button" on:click=cancel disabled=move || !running()>
                    "Cancel it"
                </button>
            </div>
            {move || error.get().map(|e| view! { <p class="error-inline" role="alert">{e}</p> })}
            <div role="status" aria-live="polite">{progress}</div>
            {result}
            <h3 class="jobs-log-title">"Requests the console sent"</h3>
            <ol class="jobs-log">{lines}</ol>
        </section>
    }
}

/// What the console does in the browser.
#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;

    use super::super::api::problem_detail;
    use super::super::fetch::{call_api, sleep_ms};
    use super::{Sent, LOG_LINES, POLL_MS};
    use crate::model::labs::api::{ExportReport, Job, JobStatus};

    fn note(log: RwSignal<Vec<Sent>>, request: String, answer: String) {
        log.update(|lines| {
            if let Some(last) = lines
                .last_mut()
                .filter(|l| l.request == request && l.answer == answer)
            {
                last.times += 1;
                return;
            }
            lines.push(Sent {
                request,
                answer,
                times: 1,
            });
            let extra = lines.len().saturating_sub(LOG_LINES);
            lines.drain(..extra);
        });
    }

    /// Sends one request, logs it, and hands back its answer.
    async fn send(
        log: RwSignal<Vec<Sent>>,
        method: &str,
        url: &str,
        body: Option<String>,
    ) -> Result<(u16, String), String> {
        let answer = call_api(method, url, body).await?;
        note(log, format!("{method} {url}"), answer.0.to_string());
        Ok(answer)
    }

    /// Starts an export and polls it until it ends; fetches its result.
    pub(super) async fn follow(
        job: RwSignal<Option<Job>>,
        report: RwSignal<Option<ExportReport>>,
        log: RwSignal<Vec<Sent>>,
        error: RwSignal<Option<String>>,
    ) {
        let outcome: Result<(), String> = async {
            let (status, text) = send(log, "POST", "/labs/api/exports", Some("{}".into())).await?;
            if status != 202 {
                return Err(problem_detail(status, &text));
            }
            let mut current: Job = parse(&text)?;
            loop {
                job.set(Some(current.clone()));
                if current.status != JobStatus::Running {
                    break;
                }
                sleep_ms(POLL_MS).await;
                let (status, text) = send(log, "GET", &current.links.itself, None).await?;
                if status != 200 {
                    return Err(problem_detail(status, &text));
                }
                current = parse(&text)?;
            }
            if let Some(result) = current.links.result {
                let (status, text) = send(log, "GET", &result, None).await?;
                if status != 200 {
                    return Err(problem_detail(status, &text));
                }
                report.set(Some(parse(&text)?));
            }
            Ok(())
        }
        .await;
        if let Err(message) = outcome {
            error.set(Some(message));
        }
    }

    /// Asks the server to cancel the job; the poll loop sees it end.
    pub(super) async fn cancel(
        url: String,
        log: RwSignal<Vec<Sent>>,
        error: RwSignal<Option<String>>,
    ) {
        match send(log, "DELETE", &url, None).await {
            Ok((202 | 204, _)) => {}
            Ok((status, text)) => error.set(Some(problem_detail(status, &text))),
            Err(message) => error.set(Some(message)),
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
        crate::widgets::json::from_str(text)
            .map_err(|e| format!("The answer was not understood: {e}"))
    }
}
