//! Course search: the box in every page's header and the `/search` page.
//!
//! The box is a plain `GET` form, so it works without JavaScript: it opens
//! `/search?q=...`, rendered on the server. With JavaScript a few lines of
//! script in the page's head ([`SEARCH_SCRIPT`]) suggest places as the
//! reader types, from `GET /api/search`. A script rather than an island,
//! like the theme switch: an island in the header would make every page,
//! the course home included, load the wasm runtime.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::catalog::CatalogContext;
use crate::model::search::{SearchHit, SearchResults, SnippetPart};

/// Hits the results page shows.
const PAGE_HITS: usize = 50;

/// Suggestions as the reader types: a combobox over the header's search
/// box (arrow keys move, Enter opens, Escape closes), with the number of
/// suggestions announced. Builds every element with `textContent`, never
/// HTML, so nothing a lesson says can run as markup here.
pub(crate) const SEARCH_SCRIPT: &str = "document.addEventListener('DOMContentLoaded',function(){\
var f=document.querySelector('.site-search');if(!f||!window.fetch)return;\
var q=f.querySelector('input[name=q]'),l=f.querySelector('.search-suggestions'),st=f.querySelector('.search-status');\
var hits=[],at=-1,n=0,timer=0;\
q.setAttribute('role','combobox');q.setAttribute('aria-autocomplete','list');q.setAttribute('aria-expanded','false');q.setAttribute('aria-controls',l.id);\
function close(){l.hidden=true;q.setAttribute('aria-expanded','false');q.removeAttribute('aria-activedescendant');at=-1}\
function mark(i){var o=l.children;for(var k=0;k<o.length;k++)o[k].setAttribute('aria-selected',k===i?'true':'false');at=i;\
if(i<0)q.removeAttribute('aria-activedescendant');else{q.setAttribute('aria-activedescendant',o[i].id);o[i].scrollIntoView({block:'nearest'})}}\
function el(t,c,x){var e=document.createElement(t);e.className=c;e.textContent=x;return e}\
function show(r){hits=r.hits;l.textContent='';hits.forEach(function(h,i){var o=document.createElement('li');o.id='search-option-'+i;o.setAttribute('role','option');o.setAttribute('aria-selected','false');\
o.appendChild(el('span','search-kind',h.kind.charAt(0).toUpperCase()+h.kind.slice(1)));o.appendChild(el('span','search-title',h.title));o.appendChild(el('span','search-context',h.context));\
o.addEventListener('mousedown',function(e){e.preventDefault();location.href=h.href});l.appendChild(o)});\
st.textContent=r.query?(hits.length?r.total+(r.total===1?' place matches':' places match'):'Nothing matches'):'';\
if(hits.length){l.hidden=false;q.setAttribute('aria-expanded','true')}else close();at=-1}\
function ask(){var v=q.value,me=++n;if(!v.trim()){show({hits:[],query:''});return}\
fetch('/api/search?limit=8&q='+encodeURIComponent(v)).then(function(r){return r.ok?r.json():null}).then(function(r){if(r&&me===n)show(r)}).catch(function(){})}\
q.addEventListener('input',function(){clearTimeout(timer);timer=setTimeout(ask,120)});\
q.addEventListener('keydown',function(e){if(e.key==='ArrowDown'&&hits.length){e.preventDefault();if(l.hidden){l.hidden=false;q.setAttribute('aria-expanded','true')}mark((at+1)%hits.length)}\
else if(e.key==='ArrowUp'&&hits.length){e.preventDefault();mark(at<=0?hits.length-1:at-1)}\
else if(e.key==='Enter'&&at>=0&&!l.hidden){e.preventDefault();location.href=hits[at].href}\
else if(e.key==='Escape'){close()}});\
q.addEventListener('blur',close)})";

/// The search box in the header: a form that works without script.
#[component]
pub(crate) fn SearchBox() -> impl IntoView {
    view! {
        <form class="site-search" role="search" action="/search" method="get">
            <label for="site-search-q" class="visually-hidden">"Search the course"</label>
            <input
                id="site-search-q"
                type="search"
                name="q"
                placeholder="Search the course"
                autocomplete="off"
                maxlength="200"
            />
            <button type="submit">"Search"</button>
            <ul class="search-suggestions" id="search-suggestions" role="listbox" aria-label="Suggestions" hidden></ul>
            <p class="search-status visually-hidden" aria-live="polite"></p>
        </form>
    }
}

/// `/search?q=...`: every place in the course that matches, best first.
#[component]
pub(crate) fn SearchPage() -> impl IntoView {
    let query = use_query_map().get_untracked().get("q").unwrap_or_default();
    let results = (!query.trim().is_empty()).then(|| {
        expect_context::<CatalogContext>()
            .0
            .search(&query, PAGE_HITS)
    });
    let title = if query.trim().is_empty() {
        "Search".to_string()
    } else {
        format!("Search: {}", query.trim())
    };
    view! {
        <Title text=title/>
        <section class="search-page" aria-labelledby="search-title">
            <h1 id="search-title">"Search the course"</h1>
            <form class="search-page-form" role="search" action="/search" method="get">
                <label for="search-page-q">"Words to find in lessons, sections and exercises"</label>
                <div class="search-page-row">
                    <input id="search-page-q" type="search" name="q" value=query maxlength="200"/>
                    <button type="submit">"Search"</button>
                </div>
            </form>
            {results.map(|results| view! { <Results results/> })}
        </section>
    }
}

#[component]
fn Results(results: SearchResults) -> impl IntoView {
    let summary = match results.total {
        0 => "Nothing in the course matches.".to_string(),
        1 => "1 place matches.".to_string(),
        n if n > results.hits.len() => {
            format!(
                "{n} places match; the best {} are shown.",
                results.hits.len()
            )
        }
        n => format!("{n} places match."),
    };
    let unmatched = (!results.unmatched.is_empty()).then(|| {
        let words = results
            .unmatched
            .iter()
            .map(|w| format!("“{w}”"))
            .collect::<Vec<_>>()
            .join(", ");
        view! {
            <p class="search-unmatched">
                "No place has " {words} ", even with a typo forgiven, so the search went on without it."
            </p>
        }
    });
    view! {
        <p class="search-summary" role="status">{summary}</p>
        {unmatched}
        <ol class="search-results">
            {results.hits.into_iter().map(|hit| view! { <Hit hit/> }).collect_view()}
        </ol>
    }
}

#[component]
fn Hit(hit: SearchHit) -> impl IntoView {
    view! {
        <li class="search-hit">
            <p class="search-hit-where">
                <span class="search-kind">{hit.kind.label()}</span>
                " in "
                {hit.context}
            </p>
            <h2 class="search-hit-title"><a href=hit.href>{hit.title}</a></h2>
            <p class="search-snippet">{snippet(hit.snippet)}</p>
        </li>
    }
}

fn snippet(parts: Vec<SnippetPart>) -> impl IntoView {
    parts
        .into_iter()
        .map(|part| {
            if part.hit {
                leptos::either::Either::Left(view! { <mark>{part.text}</mark> })
            } else {
                leptos::either::Either::Right(part.text)
            }
        })
        .collect_view()
}
