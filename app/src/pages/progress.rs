//! `/progress`: a student's lessons read and best scores, module by module,
//! with their classes' deadlines. `/instructor/gradebook`: a class's best
//! per exercise, a summary per module, and where the class gets stuck. The
//! server fills both in context after checking who asks.

use leptos::prelude::*;
use leptos_meta::Title;

use leptos_router::hooks::use_query_map;

use crate::model::{GradebookView, ModuleProgress, ModuleScore, Reader};
use crate::pages::notices::{no_server, reader_pages, set_status, Refused};

/// `/progress`
#[component]
pub(crate) fn ProgressPage() -> impl IntoView {
    let signed_in = use_context::<Reader>().is_some();
    let reader = reader_pages();
    let body = Suspend::new(async move {
        let Some(reader) = reader else {
            return no_progress().into_any();
        };
        let (progress, deadlines) = (reader.progress().await, reader.deadlines().await);
        match progress {
            Ok(Some(progress)) => {
                let deadlines = deadlines.unwrap_or_default();
                view! {
                    {(!progress.classes.is_empty()).then(|| view! {
                        <p class="progress-classes">"Your classes: " {progress.classes.join(", ")}</p>
                    })}
                    {progress
                        .modules
                        .into_iter()
                        .map(|module| {
                            let due = deadlines.of_module(&module.slug).cloned().collect::<Vec<_>>();
                            view! { <ModuleCard module due/> }
                        })
                        .collect_view()}
                }
                .into_any()
            }
            Ok(None) => no_progress().into_any(),
            Err(refusal) => {
                set_status(refusal.status);
                view! { <p role="alert">{refusal.message}</p> }.into_any()
            }
        }
    });
    view! {
        <Title text="Your progress"/>
        <section class="progress-page" aria-labelledby="progress-title">
            <h1 id="progress-title">"Your progress"</h1>
            {(!signed_in).then(|| view! {
                <p class="lede">"You are a guest: this browser keeps your progress. "
                    <a href="/signup?next=%2Fprogress">"Create an account"</a> " to keep it everywhere."</p>
            })}
            <Suspense>{body}</Suspense>
        </section>
    }
}

fn no_progress() -> impl IntoView {
    view! {
        <p>"Nothing yet: open a lesson or try an exercise, and your progress appears here. "
            <a href="/">"Go to the course"</a></p>
    }
}

/// "Due ..." lines for a module: one per class that set a deadline.
#[component]
pub(crate) fn DueLines(due: Vec<crate::model::DeadlineView>) -> impl IntoView {
    due.into_iter()
        .map(|d| {
            let class = if d.passed {
                "deadline deadline-passed"
            } else {
                "deadline"
            };
            let verb = if d.passed { "Was due " } else { "Due " };
            view! { <p class=class>{verb} <time>{d.due}</time> " · " {d.class_name}</p> }
        })
        .collect_view()
}

#[component]
fn ModuleCard(module: ModuleProgress, due: Vec<crate::model::DeadlineView>) -> impl IntoView {
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
            <DueLines due/>
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
                                    <td>{match (e.passed, e.attempts) { (true, _) => "Done", (false, 0) => "Not started", _ => "In progress" }}
                                        {e.late.then(|| view! { " " <span class="badge badge-late">"late"</span> })}</td>
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

/// `/instructor/gradebook?class=&module=`
#[component]
pub(crate) fn GradebookPage() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let parameter = |name: &str| query.get(name).filter(|value| !value.is_empty());
    let (class, module) = (parameter("class"), parameter("module"));
    let reader = reader_pages();
    let page = Suspend::new(async move {
        let book = match reader {
            Some(reader) => reader.gradebook(class, module).await,
            None => no_server(),
        };
        match book {
            Ok(book) => view! { <Gradebook book/> }.into_any(),
            Err(refusal) => {
                view! { <Refused title="Gradebook" next="%2Finstructor%2Fgradebook" refusal/> }
                    .into_any()
            }
        }
    });
    view! { <Suspense>{page}</Suspense> }
}

#[component]
fn Gradebook(book: GradebookView) -> impl IntoView {
    // Query values as the server got them: percent-encoded, so a module
    // name can never add parameters of its own.
    let encoded = |text: &str| -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    let mut csv_query = Vec::new();
    if let Some(class) = &book.class {
        csv_query.push(format!("class={}", encoded(class)));
    }
    if let Some(module) = &book.module {
        csv_query.push(format!("module={}", encoded(module)));
    }
    let csv_href = format!("/api/instructor/gradebook.csv?{}", csv_query.join("&"));
    let selected_module = book.module.clone().unwrap_or_else(|| "all".into());
    let selected_class = book.class.clone().unwrap_or_default();
    let shown_title = book
        .modules
        .iter()
        .find(|(slug, _)| Some(slug) == book.module.as_ref())
        .map_or("every module".to_string(), |(_, title)| title.clone());
    let caption = format!(
        "{}: {} student{} × {} exercises of {shown_title}, best score (attempts)",
        book.cohort,
        book.students.len(),
        if book.students.len() == 1 { "" } else { "s" },
        book.exercises.len()
    );
    view! {
        <Title text="Gradebook"/>
        <section class="gradebook-page" aria-labelledby="gradebook-title">
            <h1 id="gradebook-title">"Gradebook"</h1>
            <form method="get" class="gradebook-filter">
                <label class="field">
                    <span class="field-label">"Students"</span>
                    <select name="class">
                        <option value="" selected=selected_class.is_empty()>{book.everyone.clone()}</option>
                        {book.classes.iter().map(|(id, name)| view! {
                            <option value=id.clone() selected=*id == selected_class>{name.clone()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="field-label">"Module"</span>
                    <select name="module">
                        {book.modules.iter().map(|(slug, title)| view! {
                            <option value=slug.clone() selected=*slug == selected_module>{title.clone()}</option>
                        }).collect_view()}
                        <option value="all" selected=selected_module == "all">"All modules"</option>
                    </select>
                </label>
                <button type="submit">"Show"</button>
                <a href=csv_href class="button-link">"Download CSV"</a>
            </form>
            <ModuleSummary cohort=book.cohort.clone() summary=book.summary.clone()/>
            <h2>"Scores"</h2>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Scores">
                <table class="data-table gradebook">
                    <caption>{caption}</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Student"</th>
                            {book.exercises.iter().map(|e| view! { <th scope="col" title=e.id.clone()>{e.title.clone()} " (" {e.points} ")"</th> }).collect_view()}
                            <th scope="col">"Total"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {book.students.into_iter().map(|row| {
                            let late = row.late.clone();
                            view! {
                                <tr>
                                    <th scope="row">{row.name} <span class="muted">" " {row.email}</span></th>
                                    {row.cells.into_iter().enumerate().map(|(i, cell)| {
                                        let late = late.get(i).copied().unwrap_or(false) && cell.is_some();
                                        view! {
                                            <td>{cell.map_or("–".to_string(), |(best, attempts)| format!("{best} ({attempts})"))}
                                                {late.then(|| view! { " " <span class="badge badge-late" title="reached after the deadline">"late"</span> })}</td>
                                        }
                                    }).collect_view()}
                                    <td>{row.total}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <h2>"Where they are stuck"</h2>
            {if book.stuck.is_empty() {
                view! { <p>"Nobody has tried these exercises yet."</p> }.into_any()
            } else {
                view! {
                    <p class="field-hint">"Exercises someone tried, most tried and not passed first."</p>
                    <div class="table-scroll" tabindex="0" role="region" aria-label="Where they are stuck">
                        <table class="data-table">
                            <thead><tr><th scope="col">"Exercise"</th><th scope="col">"Tried"</th><th scope="col">"Not passed yet"</th><th scope="col">"Passed"</th><th scope="col">"Check failed most"</th><th scope="col">"Hints opened"</th></tr></thead>
                            <tbody>
                                {book.stuck.into_iter().map(|s| view! {
                                    <tr>
                                        <th scope="row">{s.title}</th>
                                        <td>{s.tried}</td>
                                        <td>{s.tried - s.passed}</td>
                                        <td>{s.passed}</td>
                                        <td>{s.hardest_check.map_or("–".to_string(), |(name, n)| format!("{name} ({n}×)"))}</td>
                                        <td>{s.hints_opened}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

/// Completion and average score per module: a bar chart, and the same
/// figures as a table for screen readers and for reading exact values.
#[component]
fn ModuleSummary(cohort: String, summary: Vec<ModuleScore>) -> impl IntoView {
    const ROW: u32 = 34;
    const LABEL: u32 = 250;
    const BAR: u32 = 300;
    /// Characters of a module's title that fit beside the bars.
    const TITLE_CHARS: usize = 34;
    let height = ROW * summary.len() as u32 + 28;
    let bars = summary.iter().enumerate().map(|(i, m)| {
        let y = 24 + ROW * i as u32;
        let completion = BAR * m.completion_percent.min(100) / 100;
        let average = BAR * m.average_percent.min(100) / 100;
        let label = if m.title.chars().count() > TITLE_CHARS {
            format!("{}…", m.title.chars().take(TITLE_CHARS - 1).collect::<String>())
        } else {
            m.title.clone()
        };
        view! {
            <g>
                <text x="0" y=y + 14 class="chart-label">{label}</text>
                <rect x=LABEL y=y width=BAR height="12" class="chart-track"/>
                <rect x=LABEL y=y width=completion height="12" class="chart-completion"/>
                <rect x=LABEL y=y + 14 width=BAR height="8" class="chart-track"/>
                <rect x=LABEL y=y + 14 width=average height="8" class="chart-average"/>
                <text x=LABEL + BAR + 8 y=y + 14 class="chart-value">{format!("{}%", m.completion_percent)}</text>
            </g>
        }
    }).collect_view();
    let view_box = format!("0 0 {} {height}", LABEL + BAR + 48);
    view! {
        <section aria-labelledby="summary-title" class="gradebook-summary">
            <h2 id="summary-title">"Modules"</h2>
            <figure>
                <svg viewBox=view_box role="img" aria-labelledby="summary-caption" class="summary-chart">
                    <text x=LABEL y="12" class="chart-legend">"■ passed  ▬ average score"</text>
                    {bars}
                </svg>
                <figcaption id="summary-caption">{format!("{cohort}: exercises passed (thick bar) and average score (thin bar) per module.")}</figcaption>
            </figure>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Modules">
                <table class="data-table">
                    <thead><tr><th scope="col">"Module"</th><th scope="col">"Exercises"</th><th scope="col">"Passed"</th><th scope="col">"Average score"</th><th scope="col">"Deadline"</th></tr></thead>
                    <tbody>
                        {summary.into_iter().map(|m| view! {
                            <tr>
                                <th scope="row">{m.title}</th>
                                <td>{m.exercises}</td>
                                <td>{m.completion_percent} "%"</td>
                                <td>{m.average_percent} "%"</td>
                                <td>{m.deadline.unwrap_or_else(|| "–".into())}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
