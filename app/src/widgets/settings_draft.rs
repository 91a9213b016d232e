//! A lab's settings as a widget edits them: loaded once the page is
//! hydrated, changed field by field, saved whole with `PUT
//! /labs/<lab>/settings`. The one way the lab consoles hold settings; the
//! settings are the lab's own type from `model`, as the server sends it.

use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The draft of one lab's settings, `S` being that lab's settings type.
pub(crate) struct SettingsDraft<S: 'static> {
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    lab: &'static str,
    settings: RwSignal<Option<S>>,
    /// What the last save said ("Saved." or the server's reason).
    pub(crate) saved: RwSignal<String>,
}

// Written out: a derive would ask `S` to be `Copy` too, and signals are
// handles whatever they hold.
impl<S: 'static> Clone for SettingsDraft<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: 'static> Copy for SettingsDraft<S> {}

impl<S> SettingsDraft<S>
where
    S: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
{
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
                if let Ok(document) =
                    crate::widgets::json::from_str::<crate::model::labs::SettingsDocument<S>>(&text)
                {
                    self.settings.set(Some(document.settings));
                }
            }
        });
    }

    /// Whether the settings have not arrived yet.
    pub(crate) fn loading(self) -> bool {
        self.settings.with(Option::is_none)
    }

    /// What `part` reads from the draft (tracked); `None` while loading.
    pub(crate) fn read<T>(self, part: impl FnOnce(&S) -> T) -> Option<T> {
        self.settings.with(|s| s.as_ref().map(part))
    }

    /// Changes the draft (not saved yet); nothing while loading.
    pub(crate) fn edit(self, change: impl FnOnce(&mut S)) {
        self.settings.update(|s| {
            if let Some(s) = s {
                change(s);
            }
        });
        self.saved.set(String::new());
    }

    /// Saves the whole draft; `done` is what to say when it worked.
    pub(crate) fn save(self, done: &'static str) {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            self.saved.set(match self.put().await {
                Ok(()) => done.into(),
                Err(reason) => reason,
            });
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = done;
    }

    /// Saves the whole draft now: `Err` with the server's reason when it
    /// was refused.
    #[cfg(feature = "hydrate")]
    pub(crate) async fn put(self) -> Result<(), String> {
        let body = self
            .settings
            .get_untracked()
            .and_then(|s| crate::widgets::json::to_string(&s));
        let url = format!("/labs/{}/settings", self.lab);
        match super::fetch::call_api("PUT", &url, body).await {
            Ok((200, _)) => Ok(()),
            Ok((_, text)) => Err(crate::widgets::json::error_message(text)),
            Err(message) => Err(message),
        }
    }
}

/// The name a setting's choice has on the wire (`cache_aside`), which its
/// `<option>` carries: serde's name for it, so it is spelled only in `model`.
pub(crate) fn choice_name<T: Serialize>(choice: &T) -> String {
    // A unit variant serialises as a JSON string: its name in quotes.
    crate::widgets::json::to_string(choice)
        .unwrap_or_default()
        .trim_matches('"')
        .to_string()
}

/// The one of `choices` whose wire name is `name`.
pub(crate) fn choice_named<T: Serialize + Copy>(choices: &[T], name: &str) -> Option<T> {
    choices.iter().copied().find(|c| choice_name(c) == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::labs::cache::Strategy;

    #[test]
    fn choices_go_by_their_wire_names() {
        assert_eq!(choice_name(&Strategy::CacheAside), "cache_aside");
        assert_eq!(
            choice_named(&Strategy::ALL, "write_through"),
            Some(Strategy::WriteThrough)
        );
        assert_eq!(choice_named(&Strategy::ALL, "nope"), None);
    }

    #[test]
    fn number_fields_show_and_read_their_values() {
        assert_eq!(0.5f64.show(), "0.5");
        assert_eq!(2f64.show(), "2");
        assert_eq!(0f64.show(), "0");
        assert_eq!(<f64 as FieldNumber>::read(" 2.5 "), Some(2.5));
        assert_eq!(<f64 as FieldNumber>::read("two"), None);
        assert_eq!(<f64 as FieldNumber>::read("inf"), None);
        assert_eq!(<f64 as FieldNumber>::read(""), None);
        assert_eq!(4_294_967_295u32.show(), "4294967295");
        assert_eq!(<u32 as FieldNumber>::read("4294967296"), None);
        assert_eq!(<u8 as FieldNumber>::read(" 7"), Some(7));
        assert_eq!(<u64 as FieldNumber>::read("-1"), None);
    }
}

/// What a number field accepts, as its HTML attributes say it (the
/// browser's spinner and keyboard follow them; the server still checks).
#[derive(Clone, Copy)]
pub(crate) struct Bounds {
    pub(crate) min: &'static str,
    pub(crate) max: Option<&'static str>,
    pub(crate) step: &'static str,
}

impl Bounds {
    /// Whole numbers from `min` to `max`.
    pub(crate) const fn whole(min: &'static str, max: &'static str) -> Self {
        Self {
            min,
            max: Some(max),
            step: "1",
        }
    }
}

/// A number a settings field holds, as its input shows and reads it.
/// Written out per type instead of through `Display` and `FromStr`: for
/// `f64` those are `core`'s float formatting and parsing, kilobytes in the
/// browser bundle for one field.
pub(crate) trait FieldNumber: Copy + Default + 'static {
    /// The value as the input shows it.
    fn show(self) -> String;
    /// What the student typed, if it is a number of this type.
    fn read(text: &str) -> Option<Self>;
}

macro_rules! whole_field_number {
    ($($t:ty),*) => {$(
        impl FieldNumber for $t {
            fn show(self) -> String {
                enhance::text::integer(self as u64)
            }
            fn read(text: &str) -> Option<Self> {
                text.trim().parse::<u64>().ok().and_then(|n| Self::try_from(n).ok())
            }
        }
    )*};
}

whole_field_number!(u8, u16, u32, u64, usize);

impl FieldNumber for f64 {
    /// Up to six decimals, without trailing zeros: `0.5`, `2`.
    fn show(self) -> String {
        let text = enhance::text::decimal(self, 6);
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }

    /// A finite number; in the browser, read by its own `Number`.
    fn read(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        #[cfg(feature = "hydrate")]
        // JavaScript's unary `+`: what `Number(text)` reads.
        let value = wasm_bindgen::JsValue::from_str(text).unchecked_into_f64();
        #[cfg(not(feature = "hydrate"))]
        let value = text.parse::<f64>().unwrap_or(f64::NAN);
        value.is_finite().then_some(value)
    }
}

/// A labelled number input for one field of `draft`: it shows the draft's
/// value and writes a change back (an entry that is no number becomes the
/// type's default, which the server's validation then names).
pub(crate) fn number_field<S, T>(
    draft: SettingsDraft<S>,
    label: &'static str,
    bounds: Bounds,
    get: fn(&S) -> T,
    set: fn(&mut S, T),
) -> impl IntoView
where
    S: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    T: FieldNumber,
{
    let inputmode = if bounds.step.contains('.') {
        "decimal"
    } else {
        "numeric"
    };
    view! {
        <label class="field">
            <span class="field-label">{label}</span>
            <input type="number" min=bounds.min max=bounds.max step=bounds.step inputmode=inputmode
                prop:value=move || draft.read(|s| get(s).show()).unwrap_or_default()
                on:change=move |ev| {
                    let value = T::read(&event_target_value(&ev)).unwrap_or_default();
                    draft.edit(|s| set(s, value))
                }/>
        </label>
    }
}

/// A labelled checkbox for one yes-or-no field of `draft`.
pub(crate) fn check_field<S>(
    draft: SettingsDraft<S>,
    label: &'static str,
    get: fn(&S) -> bool,
    set: fn(&mut S, bool),
) -> impl IntoView
where
    S: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    view! {
        <label class="choice">
            <input type="checkbox" prop:checked=move || draft.read(get).unwrap_or(false)
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    draft.edit(|s| set(s, on))
                }/>
            <span>{label}</span>
        </label>
    }
}
