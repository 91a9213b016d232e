//! A lesson: header, objectives, in-page contents, body with live widgets,
//! and links to the lessons before and after it.

use leptos::prelude::*;
use leptos_meta::{Link, Meta, Script, Title};
use leptos_router::hooks::use_params_map;

use crate::catalog::CatalogContext;
use crate::model::{DeadlineView, DeadlinesView};
use crate::model::{LessonBlock, LessonLink, LessonPage, TocEntry};
use crate::pages::not_found::NotFound;
use crate::pages::notices::{page_facts, reader_pages};
use crate::pages::progress::DueLines;
use crate::reader_slots::due_slot;
use crate::widgets::exercise::ExerciseCard;
use crate::widgets::lab_widget;
use crate::widgets::request::RequestWidget;
use crate::widgets::sql::SqlRunner;
use crate::widgets::{ENHANCER_MODULE, ENHANCER_START, ENHANCER_WASM};

/// Looks the lesson up by its route parameters and renders it, or a 404.
#[component]
pub(crate) fn LessonRoute() -> impl IntoView {
    let params = use_params_map().get_untracked();
    let module = params.get("module").unwrap_or_default();
    let slug = params.get("slug").unwrap_or_default();
    let Some(page) = expect_context::<CatalogContext>().0.lesson(&module, &slug) else {
        return view! { <NotFound/> }.into_any();
    };
    let (reader, facts) = (reader_pages(), page_facts());
    let lesson = Suspend::new(async move {
        // Only a lesson that exists is noted as read: a record of any
        // other address would be a row anyone could add at will.
        let deadlines = match reader {
            Some(reader) => reader
                .lesson_opened(&module, &slug)
                .await
                .unwrap_or_default(),
            None => DeadlinesView::default(),
        };
        // The same bytes serve every reader, their own parts filled per reader.
        facts.share(page.link.href.clone(), Some((module.clone(), slug.clone())));
        let due: Vec<_> = deadlines.of_module(&module).cloned().collect();
        view! { <Lesson page=(*page).clone() module due/> }
    });
    view! { <Suspense>{lesson}</Suspense> }.into_any()
}

#[component]
fn Lesson(page: LessonPage, module: String, due: Vec<DeadlineView>) -> impl IntoView {
    let LessonPage {
        module_title,
        link,
        objectives,
        toc,
        blocks,
        previous,
        next,
    } = page;
    // Request widgets, SQL blocks and exercise cards need the enhancer. A
    // page with islands has it inside Leptos's module already (see `hydrate`).
    let islands = blocks
        .iter()
        .any(|block| matches!(block, LessonBlock::LabWidget(_)));
    let enhanced = !islands
        && blocks.iter().any(|block| {
            matches!(
                block,
                LessonBlock::Request(_) | LessonBlock::Exercise(_) | LessonBlock::Sql(_)
            )
        });
    view! {
        <Title text=format!("{} · Backend Workbench", link.title)/>
        <Meta name="description" content=link.summary.clone()/>
        <div class="lesson-layout">
            <TableOfContents toc/>
            <article class="lesson">
                <header class="lesson-header">
                    <p class="eyebrow">{module_title}</p>
                    <h1>{link.title}</h1>
                    <reader-slot data-slot=due_slot(&module)><DueLines due/></reader-slot>
                    <p class="lede">{link.summary}</p>
                    <p class="minutes">"About " {link.minutes} " minutes"</p>
                    {(!objectives.is_empty()).then(|| view! { <Objectives objectives/> })}
                </header>
                {blocks.into_iter().map(|block| view! { <Block block/> }).collect_view()}
                <Pager previous next/>
            </article>
        </div>
        {enhanced.then(|| view! { <Enhancer/> })}
    }
}

/// Loads the enhancer (crate `enhance`) on its own, for a page without
/// islands: it wakes up the request widgets and exercise cards. Preloaded
/// from the head, so it downloads while the page is parsed.
#[component]
fn Enhancer() -> impl IntoView {
    view! {
        <Link rel="modulepreload" href=ENHANCER_MODULE/>
        <Link rel="preload" href=ENHANCER_WASM as_="fetch" type_="application/wasm" crossorigin=""/>
        // In the head, where the page's policy allows inline scripts by hash.
        <Script type_="module">{ENHANCER_START}</Script>
    }
}

#[component]
fn Objectives(objectives: Vec<String>) -> impl IntoView {
    view! {
        <section class="objectives" aria-label="Objectives">
            <p class="objectives-title">"After this lesson you can:"</p>
            <ul>{objectives.into_iter().map(|o| view! { <li>{o}</li> }).collect_view()}</ul>
        </section>
    }
}

/// The lesson's sections: a sidebar list on wide screens; on a phone a
/// closed disclosure, so the lesson itself starts on the first screen.
/// Two renderings rather than one `<details>` forced open by CSS, which
/// older browsers cannot do; the hidden one is `display: none`, so
/// assistive technology meets only one.
#[component]
fn TableOfContents(toc: Vec<TocEntry>) -> impl IntoView {
    (!toc.is_empty()).then(|| {
        let list = move || {
            view! {
                <ol>
                    {toc
                        .iter()
                        .map(|entry| {
                            view! {
                                <li class=format!("toc-level-{}", entry.level)>
                                    <a href=format!("#{}", entry.id)>{entry.text.clone()}</a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            }
        };
        view! {
            <nav class="toc" aria-label="On this page">
                <div class="toc-wide">
                    <p class="toc-title">"On this page"</p>
                    {list()}
                </div>
                <details class="toc-narrow">
                    <summary>"On this page"</summary>
                    {list()}
                </details>
            </nav>
        }
    })
}

#[component]
fn Block(block: LessonBlock) -> impl IntoView {
    match block {
        LessonBlock::Html(html) => view! { <div class="prose" inner_html=html></div> }.into_any(),
        LessonBlock::Request(template) => view! { <RequestWidget template/> }.into_any(),
        LessonBlock::Exercise(exercise) => view! { <ExerciseCard exercise/> }.into_any(),
        LessonBlock::LabWidget(name) => lab_widget(&name),
        LessonBlock::Sql(sql) => view! { <SqlRunner sql/> }.into_any(),
    }
}

#[component]
fn Pager(previous: Option<LessonLink>, next: Option<LessonLink>) -> impl IntoView {
    view! {
        <nav class="pager" aria-label="Lessons">
            {previous.map(|l| view! {
                <a class="pager-previous" rel="prev" href=l.href>
                    <span class="pager-label">"Previous"</span>
                    <span>{l.title}</span>
                </a>
            })}
            {next.map(|l| view! {
                <a class="pager-next" rel="next" href=l.href>
                    <span class="pager-label">"Next"</span>
                    <span>{l.title}</span>
                </a>
            })}
        </nav>
    }
}
