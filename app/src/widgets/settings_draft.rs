//! A lab's settings as a widget edits them: loaded once the page is
//! hydrated, changed field by field, saved whole with `PUT
//! /labs/<lab>/settings`. The one way the lab consoles hold settings.

use leptos::prelude::*;
use serde_json::Value;

/// The draft of one lab's settings.
#[derive(Clone, Copy)]
pub(crate) struct SettingsDraft {
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    lab: &'static str,
    settings: RwSignal<Option<Value>>,
    /// What the last save said ("Saved." or the server's reason).
    pub(crate) saved: RwSignal<String>,
}

impl SettingsDraft {
    /// An empty draft of `lab`'s settings; [`SettingsDraft::load`] fills it.
    pub(crate) fn new(lab: &'static str) -> Self {
        Self {
            lab,
            settings: RwSignal::new(None),
            saved: RwSignal::new(String::new()),
        }
    }

    /// Fetches the student's settings (call once hydrated).
    pub(crate) fn load(self) {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let url = format!("/labs/{}/settings", self.lab);
            if let Ok((200, text)) = super::fetch::call_api("GET", &url, None).await {
                let document: Value = serde_json::from_str(&text).unwrap_or_default();
                self.settings.set(Some(document["settings"].clone()));
            }
        });
    }

    /// Whether the settings have not arrived yet.
    pub(crate) fn loading(self) -> bool {
        self.settings.with(Option::is_none)
    }

    /// One field (tracked), `null` while loading.
    pub(crate) fn field(self, name: &str) -> Value {
        self.settings
            .with(|s| s.as_ref().map(|s| s[name].clone()).unwrap_or(Value::Null))
    }

    /// Changes one field of the draft (not saved yet).
    pub(crate) fn set(self, name: &'static str, value: Value) {
        self.settings.update(|s| {
            if let Some(Value::Object(fields)) = s {
                fields.insert(name.into(), value);
            }
        });
        self.saved.set(String::new());
    }

    /// Saves the whole draft; `done` is what to say when it worked.
    pub(crate) fn save(self, done: &'static str) {
        let body = self.settings.get_untracked().map(|s| s.to_string());
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let url = format!("/labs/{}/settings", self.lab);
            self.saved
                .set(match super::fetch::call_api("PUT", &url, body).await {
                    Ok((200, _)) => done.into(),
                    Ok((_, text)) => serde_json::from_str::<crate::model::ErrorBody>(&text)
                        .map(|e| e.message)
                        .unwrap_or(text),
                    Err(message) => message,
                });
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (body, done);
    }
}
