//! `/progress`: a student's lessons read and best scores, module by module.
//! `/instructor/gradebook`: every student's best per exercise, and where the
//! class gets stuck. The server fills both in context after checking who asks.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::model::{GradebookView, ModuleProgress, ProgressView, Reader};

/// Sets the status of the page being rendered (401, 403).
fn set_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(status) = http::StatusCode::from_u16(status) {
            response.set_status(status);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

/// `/progress`
#[component]
pub(crate) fn ProgressPage() -> impl IntoView {
    let signed_in = use_context::<Reader>().is_some();
    let body = match use_context::<ProgressView>() {
        Some(progress) => progress
            .modules
            .into_iter()
            .map(|module| view! { <ModuleCard module/> })
            .collect_view()
            .into_any(),
        None => view! {
            <p>"Nothing yet: open a lesson or try an exercise, and your progress appears here. "
                <a href="/">"Go to the course"</a></p>
        }
        .into_any(),
    };
    view! {
        <Title text="Your progress"/>
        <section class="progress-page" aria-labelledby="progress-title">
            <h1 id="progress-title">"Your progress"</h1>
            {(!signed_in).then(|| view! {
                <p class="lede">"You are a guest: this browser keeps your progress. "
                    <a href="/signup?next=%2Fprogress">"Create an account"</a> " to keep it everywhere."</p>
            })}
            {body}
        </section>
    }
}

#[component]
fn ModuleCard(module: ModuleProgress) -> impl IntoView {
    let read = module.lessons.iter().filter(|l| l.read).count();
    let passed = module.exercises.iter().filter(|e| e.passed).count();
    let points: u32 = module.exercises.iter().filter_map(|e| e.best_score).sum();
    let max: u32 = module.exercises.iter().map(|e| e.points).sum();
    let heading_id = format!("module-{}", module.slug);
    let labelled_by = heading_id.clone();
    let summary = format!(
        "{read} of {} lessons read · {passed} of {} exercises passed · {points} of {max} points",
        module.lessons.len(),
        module.exercises.len()
    );
    view! {
        <section class="progress-module" aria-labelledby=labelled_by>
            <h2 id=heading_id>{module.title}</h2>
            <p class="progress-summary">{summary}</p>
            <h3>"Lessons"</h3>
            <ul class="progress-lessons">
                {module.lessons.into_iter().map(|l| view! {
                    <li>
                        <span class="progress-mark" aria-hidden="true">{if l.read { "✓" } else { "○" }}</span>
                        <a href=l.link.href>{l.link.title}</a>
                        <span class="visually-hidden">{if l.read { " (read)" } else { " (not read yet)" }}</span>
                    </li>
                }).collect_view()}
            </ul>
            {(!module.exercises.is_empty()).then(|| view! {
                <h3>"Exercises"</h3>
                <div class="table-scroll">
                    <table class="data-table">
                        <thead><tr><th scope="col">"Exercise"</th><th scope="col">"Best"</th><th scope="col">"Attempts"</th><th scope="col">"Status"</th></tr></thead>
                        <tbody>
                            {module.exercises.into_iter().map(|e| view! {
                                <tr>
                                    <th scope="row"><a href=e.lesson_href>{e.title}</a></th>
                                    <td>{e.best_score.map_or("–".to_string(), |b| format!("{b} / {}", e.points))}</td>
                                    <td>{e.attempts}</td>
                                    <td>{match (e.passed, e.attempts) { (true, _) => "Done", (false, 0) => "Not started", _ => "In progress" }}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            })}
            <form method="post" action="/progress/reset" class="reset-form">
                <input type="hidden" name="module" value=module.slug/>
                <button type="submit" class="button-quiet">"Start this module again"</button>
            </form>
        </section>
    }
}

/// `/instructor/gradebook`
#[component]
pub(crate) fn GradebookPage() -> impl IntoView {
    let reader = use_context::<Reader>();
    let Some(book) = use_context::<GradebookView>() else {
        let (status, message) = match reader {
            None => (
                401,
                "Sign in with an instructor account to see the gradebook.",
            ),
            Some(_) => (
                403,
                "The gradebook is for instructors; your account is a student's.",
            ),
        };
        set_status(status);
        return view! {
            <Title text="Gradebook"/>
            <section class="gradebook-page">
                <h1>"Gradebook"</h1>
                <p>{message} " " <a href="/signin?next=%2Finstructor%2Fgradebook">"Sign in"</a></p>
            </section>
        }
        .into_any();
    };
    let csv_href = match &book.module {
        Some(m) => format!("/api/instructor/gradebook.csv?module={m}"),
        None => "/api/instructor/gradebook.csv".to_string(),
    };
    let selected = book.module.clone().unwrap_or_default();
    view! {
        <Title text="Gradebook"/>
        <section class="gradebook-page" aria-labelledby="gradebook-title">
            <h1 id="gradebook-title">"Gradebook"</h1>
            <form method="get" class="gradebook-filter">
                <label class="field">
                    <span class="field-label">"Module"</span>
                    <select name="module">
                        <option value="" selected=selected.is_empty()>"All modules"</option>
                        {book.modules.iter().map(|(slug, title)| view! {
                            <option value=slug.clone() selected=*slug == selected>{title.clone()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit">"Show"</button>
                <a href=csv_href class="button-link">"Download CSV"</a>
            </form>
            <div class="table-scroll">
                <table class="data-table gradebook">
                    <caption>{format!("{} students × {} exercises: best score (attempts)", book.students.len(), book.exercises.len())}</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Student"</th>
                            {book.exercises.iter().map(|e| view! { <th scope="col" title=e.id.clone()>{e.title.clone()} " (" {e.points} ")"</th> }).collect_view()}
                            <th scope="col">"Total"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {book.students.into_iter().map(|row| view! {
                            <tr>
                                <th scope="row">{row.name} <span class="muted">" " {row.email}</span></th>
                                {row.cells.into_iter().map(|cell| view! {
                                    <td>{cell.map_or("–".to_string(), |(best, attempts)| format!("{best} ({attempts})"))}</td>
                                }).collect_view()}
                                <td>{row.total}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <h2>"Where they are stuck"</h2>
            <div class="table-scroll">
                <table class="data-table">
                    <thead><tr><th scope="col">"Exercise"</th><th scope="col">"Tried"</th><th scope="col">"Passed"</th><th scope="col">"Check failed most"</th><th scope="col">"Hints opened"</th></tr></thead>
                    <tbody>
                        {book.stuck.into_iter().map(|s| view! {
                            <tr>
                                <th scope="row">{s.title}</th>
                                <td>{s.tried}</td>
                                <td>{s.passed}</td>
                                <td>{s.hardest_check.map_or("–".to_string(), |(name, n)| format!("{name} ({n}×)"))}</td>
                                <td>{s.hints_opened}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
