//! The Backend Workbench user interface.
//!
//! # Layout
//! - [`model`]: the data pages and widgets show, from the `model` crate
//!   (serde and serde_json only), which the server shares.
//! - [`catalog`]: the small interface the server provides to the pages.
//! - `pages`: the course home, lesson and account pages, rendered on the server only.
//! - [`reader_slots`]: the parts of a shared page that are its reader's
//!   own, marked in the page and filled by the server per reader.
//! - `widgets`: the interactive islands (request widget, exercise cards,
//!   theme switch, the labs' consoles), the only code hydrated in the
//!   browser; [`LAB_WIDGETS`] registers the labs' widgets by name.
//!
//! The app runs in islands mode: lessons are static HTML from the server, and
//! only widgets ship as wasm, which keeps a lesson page's download small.

// Deeply nested view types (the request widget) need more than the default 128.
#![recursion_limit = "256"]
// `#[component]` and `#[island]` expand into `pub` items even for `pub(crate)` components.
#![allow(unreachable_pub)]

pub mod catalog;
/// The data pages and widgets show, shared with the server: the `model` crate.
pub use model;
mod pages;
pub mod reader_slots;
/// What the server fills a page's reader slots with ([`reader_slots`]).
#[cfg(feature = "ssr")]
pub use pages::reader_parts;
mod widgets;

pub use widgets::{LabWidget, ENHANCER_MODULE, ENHANCER_WASM, LAB_WIDGETS};

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::catalog::PageOptions;
use crate::pages::account::{AccountLinks, AccountPage, SignInPage, SignUpPage, SiteLinks};
use crate::pages::classes::{ClassPage, ClassesPage, JoinByCodePage, JoinPage};
use crate::pages::progress::{GradebookPage, ProgressPage};
use crate::pages::reference::ReferencePage;
use crate::pages::search::{SearchBox, SearchPage, SEARCH_SCRIPT};
use crate::pages::{home::CourseHome, lesson::LessonRoute, not_found::NotFound};
use crate::widgets::theme::{ThemeSwitch, THEME_SCRIPT};

/// Reloads the page when the server reports changed course files (dev mode only).
const LIVE_RELOAD_SCRIPT: &str = "(function(){var v=null;var s=new EventSource('/api/dev/content-events');s.onmessage=function(e){if(v!==null&&e.data!==v){location.reload()}v=e.data}})()";

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let live_reload = use_context::<PageOptions>().unwrap_or_default().live_reload;
    let stylesheet = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <script inner_html=THEME_SCRIPT></script>
                <script inner_html=SEARCH_SCRIPT></script>
                <link rel="stylesheet" href=stylesheet/>
                <link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%232f5fd0'/%3E%3Cpath d='M4 5l3 3-3 3M8 11h4' stroke='white' stroke-width='1.6' fill='none'/%3E%3C/svg%3E"/>
                <HydrationScripts options islands=true/>
                {live_reload.then(|| view! { <script inner_html=LIVE_RELOAD_SCRIPT></script> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page frame and the routes: the one route table. Pages that ask the
/// server about their reader render whole before they are sent
/// (`SsrMode::Async`), so their status and title are known when the
/// response starts, and no streaming script is needed.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let reader = use_context::<model::Reader>();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">">_"</span>
                " Backend Workbench"
            </a>
            // The reader's own links: filled per reader on pages served from the cache.
            <reader-slot data-slot=reader_slots::ACCOUNT_SLOT>
                <SiteLinks reader=reader.clone()/>
                <AccountLinks reader/>
            </reader-slot>
            <SearchBox/>
            <ThemeSwitch/>
        </header>
        <Router>
            <main id="main" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=CourseHome ssr=SsrMode::Async/>
                    <Route path=path!("/lessons/:module/:slug") view=LessonRoute ssr=SsrMode::Async/>
                    <Route path=path!("/signin") view=SignInPage/>
                    <Route path=path!("/signup") view=SignUpPage/>
                    <Route path=path!("/account") view=AccountPage/>
                    <Route path=path!("/progress") view=ProgressPage ssr=SsrMode::Async/>
                    <Route path=path!("/reference") view=ReferencePage/>
                    <Route path=path!("/search") view=SearchPage/>
                    <Route path=path!("/instructor/gradebook") view=GradebookPage ssr=SsrMode::Async/>
                    <Route path=path!("/instructor/classes") view=ClassesPage ssr=SsrMode::Async/>
                    <Route path=path!("/instructor/classes/:id") view=ClassPage ssr=SsrMode::Async/>
                    <Route path=path!("/join") view=JoinByCodePage/>
                    <Route path=path!("/join/:code") view=JoinPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
        <footer class="site-footer">
            <p>"Backend Workbench: real servers, real requests, every step traced."</p>
        </footer>
    }
}

/// The browser entry point: wakes up the islands on the page. The same
/// module carries the enhancer (`enhance`, feature `entry`), whose start
/// function wakes up the page's request widgets, exercise cards and trace
/// panels when the module loads; so a page with islands fetches one
/// module, not two.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Readable panics in the console while developing; release bundles skip
    // the formatting code it pulls in.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
