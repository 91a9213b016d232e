//! The light/dark theme switch. Without a stored choice the page follows the
//! operating system (`prefers-color-scheme`); the switch stores an explicit one.
//!
//! It is a few lines of script in the page's head, not an island: a page
//! whose only interactive part is this button (the course home) then loads
//! no wasm at all.

use leptos::prelude::*;

/// Applies the stored theme before first paint (no white flash for a
/// dark-mode reader), then wires the switch once the page is parsed.
pub(crate) const THEME_SCRIPT: &str = "(function(){var r=document.documentElement,t='system';\
try{var s=localStorage.getItem('theme');if(s==='light'||s==='dark')t=s}catch(e){}\
if(t!=='system')r.dataset.theme=t;\
document.addEventListener('DOMContentLoaded',function(){var b=document.querySelector('.theme-switch');if(!b)return;\
var show=function(){b.textContent='Theme: '+t};show();\
b.addEventListener('click',function(){t=t==='system'?'light':t==='light'?'dark':'system';\
if(t==='system')delete r.dataset.theme;else r.dataset.theme=t;\
try{if(t==='system')localStorage.removeItem('theme');else localStorage.setItem('theme',t)}catch(e){}\
show()})})})()";

/// A button that cycles the theme between system, light and dark
/// ([`THEME_SCRIPT`] makes it work).
#[component]
pub(crate) fn ThemeSwitch() -> impl IntoView {
    view! {
        <button type="button" class="theme-switch" aria-live="polite">"Theme: system"</button>
    }
}
