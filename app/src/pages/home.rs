//! The course home: modules and their lessons in order.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::catalog::CatalogContext;
use crate::model::{DeadlineView, DeadlinesView, LessonLink, ModuleSummary};
use crate::pages::notices::{page_facts, reader_pages, FlashMessages};
use crate::pages::progress::DueLines;
use crate::reader_slots::due_slot;

/// Lists every module and lesson of the course.
#[component]
pub(crate) fn CourseHome() -> impl IntoView {
    let outline = expect_context::<CatalogContext>().0.outline();
    let modules = outline.modules.clone();
    let (reader, facts) = (reader_pages(), page_facts());
    let module_list = Suspend::new(async move {
        let deadlines = match reader {
            Some(reader) => reader.deadlines().await.unwrap_or_default(),
            None => DeadlinesView::default(),
        };
        // The same bytes serve every reader, their own parts filled per reader.
        facts.share("/".into(), None);
        view! {
            <ol class="module-list">
                {modules.into_iter().map(|module| {
                    let due = deadlines.of_module(&module.slug).cloned().collect::<Vec<_>>();
                    view! { <ModuleCard module due/> }
                }).collect_view()}
            </ol>
        }
    });
    view! {
        <Title text=outline.title.clone()/>
        <section class="hero">
            <h1>{outline.title.clone()}</h1>
            <p class="lede">{outline.summary.clone()}</p>
            <p class="hero-actions"><a href="/join">"Join a class"</a></p>
            <FlashMessages/>
        </section>
        <Suspense>{module_list}</Suspense>
    }
}

#[component]
fn ModuleCard(module: ModuleSummary, due: Vec<DeadlineView>) -> impl IntoView {
    let heading_id = format!("module-{}", module.slug);
    let labelled_by = heading_id.clone();
    view! {
        <li class="module-card">
            <section aria-labelledby=labelled_by>
                <p class="eyebrow">"Module " {module.number}</p>
                <h2 id=heading_id>{module.title}</h2>
                <reader-slot data-slot=due_slot(&module.slug)><DueLines due/></reader-slot>
                <p>{module.summary}</p>
                <ol class="lesson-list">
                    {module.lessons.into_iter().map(|lesson| view! { <LessonItem lesson/> }).collect_view()}
                </ol>
            </section>
        </li>
    }
}

#[component]
fn LessonItem(lesson: LessonLink) -> impl IntoView {
    view! {
        <li>
            <a href=lesson.href>{lesson.title}</a>
            <span class="minutes">{lesson.minutes} " min"</span>
            <p class="lesson-summary">{lesson.summary}</p>
        </li>
    }
}
