//! Classes: the instructor's list and one class's page (`/instructor/...`),
//! and the join page students open from a class's link (`/join/{code}`).
//! Plain forms that post to the server's class routes, which redirect back
//! with a message: no JavaScript needed.

use leptos::prelude::*;
use leptos_meta::Title;

use leptos_router::hooks::{use_params_map, use_query_map};

use crate::model::{self, ClassSummaryView, ClassView, ClassesView, Flash, JoinView, Reader};
use crate::pages::notices::{
    no_server, reader_pages, redirect_to, set_status, FlashMessages, Refused,
};

/// `/instructor/classes`
#[component]
pub(crate) fn ClassesPage() -> impl IntoView {
    let reader = reader_pages();
    let page = Suspend::new(async move {
        let classes = match reader {
            Some(reader) => reader.classes().await,
            None => no_server(),
        };
        match classes {
            Ok(view) => view! { <Classes view/> }.into_any(),
            Err(refusal) => {
                view! { <Refused title="Classes" next="%2Finstructor%2Fclasses" refusal/> }
                    .into_any()
            }
        }
    });
    view! { <Suspense>{page}</Suspense> }
}

#[component]
fn Classes(view: ClassesView) -> impl IntoView {
    let flash = use_context::<Flash>().unwrap_or_default();
    let name = flash.name.clone().unwrap_or_default();
    view! {
        <Title text="Classes"/>
        <section class="classes-page" aria-labelledby="classes-title">
            <h1 id="classes-title">"Classes"</h1>
            <FlashMessages/>
            {if view.classes.is_empty() {
                view! { <p class="lede">"No classes yet. Create one below, then send its join link to your students."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll">
                        <table class="data-table">
                            <thead><tr>
                                <th scope="col">"Class"</th><th scope="col">"Join code"</th>
                                <th scope="col">"Members"</th><th scope="col">"Dates"</th>
                            </tr></thead>
                            <tbody>
                                {view.classes.into_iter().map(|class| view! { <ClassRow class/> }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <section aria-labelledby="new-class-title" class="panel">
                <h2 id="new-class-title">"New class"</h2>
                <form method="post" action="/api/instructor/classes" class="auth-form">
                    <div class="field">
                        <label for="class-name" class="field-label">"Name"</label>
                        <input id="class-name" name="name" type="text" required maxlength="80" value=name
                            placeholder="Backend 101, spring"/>
                    </div>
                    <div class="field-row">
                        <div class="field">
                            <label for="starts_on" class="field-label">"Starts (optional)"</label>
                            <input id="starts_on" name="starts_on" type="date"/>
                        </div>
                        <div class="field">
                            <label for="ends_on" class="field-label">"Ends (optional)"</label>
                            <input id="ends_on" name="ends_on" type="date"/>
                        </div>
                    </div>
                    <div class="field-row">
                        <div class="field">
                            <label for="capacity" class="field-label">"Places"</label>
                            <input id="capacity" name="capacity" type="number" min="1" max="2000" value="500"
                                aria-describedby="capacity-hint"/>
                            <p id="capacity-hint" class="field-hint">"Most students who can join. It also sizes the class's allowance on a shared campus network."</p>
                        </div>
                        <div class="field">
                            <label for="utc_offset" class="field-label">"Time zone"</label>
                            <input id="utc_offset" name="utc_offset" type="text" value="+00:00" pattern="[+-][0-9]{1,2}(:[0-9]{2})?"
                                aria-describedby="offset-hint"/>
                            <p id="offset-hint" class="field-hint">"Offset from UTC, e.g. +01:00: deadlines are set and shown in this time."</p>
                        </div>
                    </div>
                    <button type="submit" class="button-primary">"Create class"</button>
                </form>
            </section>
        </section>
    }
    .into_any()
}

#[component]
fn ClassRow(class: ClassSummaryView) -> impl IntoView {
    let href = format!("/instructor/classes/{}", class.id);
    let dates = class.dates.unwrap_or_else(|| "–".into());
    view! {
        <tr>
            <th scope="row"><a href=href>{class.name}</a></th>
            <td><code>{class.code}</code></td>
            <td>{class.members} " / " {class.capacity}</td>
            <td>{dates}</td>
        </tr>
    }
}

/// `/instructor/classes/{id}`
#[component]
pub(crate) fn ClassPage() -> impl IntoView {
    let id = use_params_map()
        .get_untracked()
        .get("id")
        .unwrap_or_default();
    let reader = reader_pages();
    let page = Suspend::new(async move {
        let class = match reader {
            Some(reader) => reader.class(&id).await,
            None => no_server(),
        };
        match class {
            Ok(view) => view! { <Class view/> }.into_any(),
            Err(refusal) => {
                view! { <Refused title="Class" next="%2Finstructor%2Fclasses" refusal/> }.into_any()
            }
        }
    });
    view! { <Suspense>{page}</Suspense> }
}

#[component]
fn Class(view: ClassView) -> impl IntoView {
    let class = view.class.clone();
    let api = format!("/api/instructor/classes/{}", class.id);
    let gradebook = format!("/instructor/gradebook?class={}", class.id);
    let csv = format!("/api/instructor/gradebook.csv?class={}", class.id);
    let members_action = format!("{api}/members");
    let deadlines_action = format!("{api}/deadlines");
    let time_zone = class.time_zone.clone();
    view! {
        <Title text=class.name.clone()/>
        <section class="classes-page" aria-labelledby="class-title">
            <p class="eyebrow"><a href="/instructor/classes">"Classes"</a></p>
            <h1 id="class-title">{class.name.clone()}</h1>
            <FlashMessages/>
            <section class="panel join-panel" aria-labelledby="join-title">
                <h2 id="join-title">"Join link"</h2>
                <p>"Students open this link, or choose " <strong>"Join a class"</strong> " on the course page and type the code. They join as guests or with their accounts."</p>
                <div class="field">
                    <label for="join-link" class="field-label">"Link"</label>
                    <input id="join-link" type="text" readonly value=if class.join_url.is_empty() { class.join_path.clone() } else { class.join_url.clone() } class="join-link"/>
                </div>
                <p class="join-code">"Code: " <strong><code>{class.code.clone()}</code></strong></p>
                <p class="field-hint">{class.members} " of " {class.capacity} " places taken."</p>
                <form method="post" action=format!("{api}/code") class="inline-form">
                    <button type="submit" class="button-quiet" aria-describedby="new-code-hint">"Make a new code"</button>
                    <span id="new-code-hint" class="field-hint">" If the link reached people outside the class: the old one stops working, members stay."</span>
                </form>
            </section>
            <nav class="class-actions" aria-label="This class">
                <a href=gradebook class="button-link">"Gradebook"</a>
                <a href=csv class="button-link">"Download grades (CSV)"</a>
            </nav>
            <section aria-labelledby="deadlines-title">
                <h2 id="deadlines-title">"Deadlines"</h2>
                <p>"Per module, in class time (" {time_zone} "). Students see them on the course and their progress; work after a deadline still counts, marked late."</p>
                <form method="post" action=deadlines_action class="deadline-form">
                    {view.deadlines.into_iter().map(|d| {
                        let id = format!("due-{}", d.module);
                        let label_for = id.clone();
                        view! {
                            <div class="field field-inline">
                                <label for=label_for class="field-label">{d.title}</label>
                                <input id=id name=d.module type="datetime-local" value=d.due_local.unwrap_or_default()/>
                            </div>
                        }
                    }).collect_view()}
                    <button type="submit" class="button-primary">"Save deadlines"</button>
                </form>
            </section>
            <section aria-labelledby="members-title">
                <h2 id="members-title">"Members"</h2>
                {if view.members.is_empty() {
                    view! { <p>"Nobody has joined yet."</p> }.into_any()
                } else {
                    view! {
                        <div class="table-scroll">
                            <table class="data-table">
                                <thead><tr><th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Joined"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {view.members.into_iter().map(|member| {
                                        let action = format!("{api}/members/{}/remove", member.id);
                                        let label = format!("Remove {} from the class", member.name);
                                        view! {
                                            <tr>
                                                <th scope="row">{member.name}</th>
                                                <td>{member.email.unwrap_or_else(|| "guest".into())}</td>
                                                <td>{member.joined}</td>
                                                <td>
                                                    <form method="post" action=action class="inline-form">
                                                        <button type="submit" class="button-quiet" aria-label=label>"Remove"</button>
                                                    </form>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }}
                <form method="post" action=members_action class="auth-form">
                    <div class="field">
                        <label for="emails" class="field-label">"Add students with accounts"</label>
                        <textarea id="emails" name="emails" rows="3" aria-describedby="emails-hint"></textarea>
                        <p id="emails-hint" class="field-hint">"Emails, one per line or separated by commas. Students without an account can use the join link."</p>
                    </div>
                    <button type="submit">"Add"</button>
                </form>
            </section>
        </section>
    }
    .into_any()
}

/// `/join`: type the code the instructor gave; `/join?code=` goes on to
/// the class's own page.
#[component]
pub(crate) fn JoinByCodePage() -> impl IntoView {
    let typed = use_query_map().get_untracked().get("code");
    let code = typed.map(|typed| model::normalize_join_code(&typed));
    if let Some(code) = code.filter(|code| !code.is_empty()) {
        redirect_to(&format!("/join/{code}"));
    }
    view! {
        <Title text="Join a class"/>
        <section class="auth-page" aria-labelledby="join-title">
            <h1 id="join-title">"Join a class"</h1>
            <p class="lede">"Your instructor gave you a link or a code of eight letters and digits."</p>
            <form method="get" action="/join" class="auth-form">
                <div class="field">
                    <label for="join-code" class="field-label">"Class code"</label>
                    <input id="join-code" name="code" type="text" required maxlength="20" autocomplete="off"
                        autocapitalize="characters" spellcheck="false"/>
                </div>
                <button type="submit" class="button-primary">"Continue"</button>
            </form>
        </section>
    }
}

/// `/join/{code}`
#[component]
pub(crate) fn JoinPage() -> impl IntoView {
    let code = use_params_map()
        .get_untracked()
        .get("code")
        .unwrap_or_default();
    let (pages, reader) = (reader_pages(), use_context::<Reader>());
    let page = Suspend::new(async move {
        let join = match pages {
            Some(pages) => pages.join(&code).await,
            None => no_server(),
        };
        match join {
            Ok(join) => view! { <Join join reader/> }.into_any(),
            Err(refusal) => {
                view! { <Refused title="Join a class" next="%2Fjoin" refusal/> }.into_any()
            }
        }
    });
    view! { <Suspense>{page}</Suspense> }
}

#[component]
fn Join(join: JoinView, reader: Option<Reader>) -> impl IntoView {
    let Some(class_name) = join.class_name.clone() else {
        set_status(404);
        return view! {
            <Title text="Join a class"/>
            <section class="auth-page">
                <h1>"Join a class"</h1>
                <FlashMessages/>
                <p role="alert">"No class has the code " <code>{join.code}</code> ". Check the link with your instructor; codes are eight letters and digits."</p>
            </section>
        }
        .into_any();
    };
    let action = format!("/join/{}", join.code);
    let encoded_next = format!("%2Fjoin%2F{}", join.code);
    let signup = format!("/signup?class={}&next={encoded_next}", join.code);
    let signin = format!("/signin?class={}&next={encoded_next}", join.code);
    let body = if join.already_member {
        view! { <p class="form-notice" role="status">"You are in this class. " <a href="/">"Go to the course"</a></p> }.into_any()
    } else if join.full {
        view! { <p role="alert">"This class is full. Ask your instructor to make room."</p> }
            .into_any()
    } else {
        match reader {
            Some(reader) => view! {
                <form method="post" action=action class="auth-form">
                    <p>"You will join as " <strong>{reader.name}</strong> " (" {reader.email} ")."</p>
                    <button type="submit" class="button-primary">"Join the class"</button>
                </form>
            }
            .into_any(),
            None => view! {
                <form method="post" action=action class="auth-form">
                    <div class="field">
                        <label for="join-name" class="field-label">"Your name"</label>
                        <input id="join-name" name="name" type="text" required maxlength="60" autocomplete="name"
                            aria-describedby="join-name-hint"/>
                        <p id="join-name-hint" class="field-hint">"Your instructor sees this name beside your work."</p>
                    </div>
                    <button type="submit" class="button-primary">"Join as a guest"</button>
                </form>
                <p class="auth-switch">"Prefer an account (your work on every device)? "
                    <a href=signup>"Create one"</a> " or " <a href=signin>"sign in"</a>
                    ". As a guest you can create one later and keep everything."</p>
            }
            .into_any(),
        }
    };
    view! {
        <Title text=format!("Join {class_name}")/>
        <section class="auth-page" aria-labelledby="join-title">
            <p class="eyebrow">"Join a class"</p>
            <h1 id="join-title">{class_name}</h1>
            <p class="lede">"Run by " {join.instructor} {join.dates.map(|d| format!(", {d}"))} "."</p>
            <FlashMessages/>
            {body}
        </section>
    }
    .into_any()
}
