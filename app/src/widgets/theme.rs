//! The light/dark theme switch. Without a stored choice the page follows the
//! operating system (`prefers-color-scheme`); the switch stores an explicit one.

use leptos::prelude::*;

/// A button that cycles the theme between system, light and dark.
#[island]
pub(crate) fn ThemeSwitch() -> impl IntoView {
    let theme = RwSignal::new(String::from("system"));
    #[cfg(feature = "hydrate")]
    theme.set(stored_theme());
    let label = move || match theme.get().as_str() {
        "light" => "Theme: light",
        "dark" => "Theme: dark",
        _ => "Theme: system",
    };
    let cycle = move |_| {
        let next = match theme.get_untracked().as_str() {
            "system" => "light",
            "light" => "dark",
            _ => "system",
        };
        theme.set(next.to_string());
        #[cfg(feature = "hydrate")]
        apply_theme(next);
    };
    view! {
        <button type="button" class="theme-switch" on:click=cycle aria-live="polite">
            {label}
        </button>
    }
}

#[cfg(feature = "hydrate")]
fn stored_theme() -> String {
    window()
        .local_storage()
        .ok()
        .flatten()
        .and_then(|storage| storage.get_item("theme").ok().flatten())
        .filter(|t| t == "light" || t == "dark")
        .unwrap_or_else(|| "system".to_string())
}

#[cfg(feature = "hydrate")]
fn apply_theme(theme: &str) {
    let root = document().document_element();
    let storage = window().local_storage().ok().flatten();
    if theme == "system" {
        if let Some(root) = root {
            let _ = root.remove_attribute("data-theme");
        }
        if let Some(storage) = storage {
            let _ = storage.remove_item("theme");
        }
    } else {
        if let Some(root) = root {
            let _ = root.set_attribute("data-theme", theme);
        }
        if let Some(storage) = storage {
            let _ = storage.set_item("theme", theme);
        }
    }
}
