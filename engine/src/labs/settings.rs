//! Per-student lab settings: validated on the way in, stored as JSON in the
//! platform database, defaults when the student never changed them, and
//! kept in memory once read, so a lab request reads no database for them.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::Json;
use model::labs::SettingsDocument;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::db::unix_now;
use crate::error::{extract, ApiError};
use crate::identity::{Student, StudentId};
use crate::inspector::{Inspector, LabEvent};
use crate::labs::Labs;
use crate::read_cache::ReadCache;

use super::Lab;

/// What a student may change in a lab.
pub trait LabSettings:
    Serialize + DeserializeOwned + utoipa::ToSchema + Default + Clone + Send + Sync + 'static
{
    /// Checks bounds; the error names the field and the allowed range.
    fn validate(&self) -> Result<(), String>;
}

/// How many bytes of stored settings stay in memory; the least recently
/// used students' go first.
const CACHED_SETTINGS_BYTES: u64 = 16 * 1024 * 1024;

/// Students' settings as last read or written, parsed, by student and lab.
///
/// Every write to `lab_settings` is followed by [`SettingsCache::wrote`]
/// (or [`SettingsCache::forget`] for all of a student's labs), so the next
/// request sees it; see [`ReadCache`] for why that is exact in one process.
pub struct SettingsCache(ReadCache<(StudentId, &'static str), CachedSettings>);

/// One cache entry: a lab's [`Loaded`] settings, type-erased, with the
/// size of their JSON text so the cache's budget counts what a student
/// stored (a settings document may be up to the lab body limit).
#[derive(Clone)]
struct CachedSettings {
    json_bytes: usize,
    loaded: Arc<dyn Any + Send + Sync>,
}

impl Default for SettingsCache {
    fn default() -> Self {
        Self(ReadCache::new(
            moka::sync::Cache::builder()
                .max_capacity(CACHED_SETTINGS_BYTES)
                .weigher(|key: &(StudentId, &'static str), value: &CachedSettings| {
                    // The key, the settings parsed and as text (about twice
                    // the text), and the cache's own bookkeeping.
                    u32::try_from(key.0.as_str().len() + 2 * value.json_bytes + 256)
                        .unwrap_or(u32::MAX)
                })
                .build(),
        ))
    }
}

/// The settings' name in the key log of other processes' writes, keyed
/// by student.
pub const SETTINGS_CACHE: &str = "lab_settings";

impl crate::changes::Forgettable for SettingsCache {
    fn forget_everything(&self) {
        self.0.wrote_all();
    }
}

impl crate::changes::ForgetKey for SettingsCache {
    fn forget_key(&self, student: &str) {
        self.forget(&StudentId::from_raw(student.to_string()));
    }
}

/// Tells other processes sharing the database that `student`'s settings
/// changed. A failure is logged, not the student's: their write stands,
/// and this process already sees it; the others may serve the old
/// settings until their copy leaves the cache.
pub(super) async fn published(state: &Labs, student: &StudentId) {
    if let Err(error) = crate::changes::publish(&state.pool, SETTINGS_CACHE, student.as_str()).await
    {
        tracing::warn!(%error, "could not log a settings change for other servers");
    }
}

impl SettingsCache {
    /// Notes that `student`'s settings for `lab` changed in the database.
    pub fn wrote(&self, student: &StudentId, lab: &'static str) {
        self.0.wrote(&(student.clone(), lab), None);
    }

    /// Notes that any of `student`'s settings may have changed (a guest's
    /// were carried over to them, say).
    pub fn forget(&self, student: &StudentId) {
        for lab in super::names() {
            self.wrote(student, lab);
        }
    }
}

/// Recorded when a lab request reads the student's settings.
#[derive(Serialize)]
struct SettingsLoaded<'a> {
    lab: &'static str,
    customised: bool,
    /// As JSON text, which the timeline shows as it is.
    settings: &'a str,
}

impl LabEvent for SettingsLoaded<'_> {
    const KIND: &'static str = "lab.settings";
    fn summary(&self) -> String {
        // Joined, not formatted: every lab request records this event.
        let whose = if self.customised {
            " lab settings: the student's own"
        } else {
            " lab settings: defaults"
        };
        [self.lab, whose].concat()
    }
}

/// Extractor: the current student's settings for lab `L`.
pub struct CurrentSettings<L: Lab>(pub L::Settings, pub PhantomData<L>);

impl<L: Lab> FromRequestParts<Labs> for CurrentSettings<L> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Labs) -> Result<Self, Self::Rejection> {
        let student = Student::from_request_parts(parts, state).await?;
        let loaded = load::<L>(state, &student).await?;
        let inspector = Inspector::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        inspector.record(&SettingsLoaded {
            lab: L::NAME,
            customised: loaded.customised,
            settings: &loaded.json,
        });
        Ok(Self(loaded.settings.clone(), PhantomData))
    }
}

/// A student's settings for one lab as the cache keeps them: parsed, and as
/// the JSON text the trace shows, so a request serialises nothing.
struct Loaded<S> {
    settings: S,
    customised: bool,
    json: String,
}

/// The student's settings and whether they differ from the defaults' source.
async fn load<L: Lab>(
    state: &Labs,
    student: &Student,
) -> Result<Arc<Loaded<L::Settings>>, ApiError> {
    let key = (student.id.clone(), L::NAME);
    let cached = state.settings.0.get(&key);
    if let Some(loaded) = cached.and_then(|c| c.loaded.downcast::<Loaded<L::Settings>>().ok()) {
        return Ok(loaded);
    }
    let ticket = state.settings.0.ticket();
    let (settings, customised) = read::<L>(state, student).await?;
    let loaded = Arc::new(Loaded {
        json: serde_json::to_string(&settings).unwrap_or_default(),
        settings,
        customised,
    });
    let entry = CachedSettings {
        json_bytes: loaded.json.len(),
        loaded: loaded.clone(),
    };
    state.settings.0.fill(key, entry, ticket);
    Ok(loaded)
}

/// The student's settings for lab `L` now (the same cached copy the
/// [`CurrentSettings`] extractor reads), for work that outlives a request:
/// a lab's background run that must follow the student's changes.
pub(crate) async fn current_settings<L: Lab>(
    state: &Labs,
    student: &Student,
) -> Result<L::Settings, ApiError> {
    Ok(load::<L>(state, student).await?.settings.clone())
}

/// The student's settings as the database has them.
async fn read<L: Lab>(state: &Labs, student: &Student) -> Result<(L::Settings, bool), ApiError> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT settings FROM lab_settings WHERE student_id = $1 AND lab = $2")
            .bind(student.id.as_str())
            .bind(L::NAME)
            .fetch_optional(&state.pool)
            .await?;
    let Some(stored) = stored else {
        return Ok((L::Settings::default(), false));
    };
    match serde_json::from_str(&stored) {
        Ok(settings) => Ok((settings, true)),
        Err(e) => {
            // Settings written by an older version of the lab: fall back to defaults rather than fail every request.
            tracing::warn!(lab = L::NAME, error = %e, "stored lab settings no longer parse; using defaults");
            Ok((L::Settings::default(), false))
        }
    }
}

/// A student's settings for the lab named `lab` as stored (JSON), or `None`
/// when they never changed them. Grading reads them to judge a student's
/// configuration (the auth lab's permission matrix, say).
pub async fn stored_settings(
    state: &Labs,
    student: &crate::identity::StudentId,
    lab: &str,
) -> Result<Option<serde_json::Value>, ApiError> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT settings FROM lab_settings WHERE student_id = $1 AND lab = $2")
            .bind(student.as_str())
            .bind(lab)
            .fetch_optional(&state.pool)
            .await?;
    Ok(stored.and_then(|s| serde_json::from_str(&s).ok()))
}

pub(super) async fn show<L: Lab>(
    State(state): State<Labs>,
    student: Student,
) -> Result<Json<SettingsDocument<L::Settings>>, ApiError> {
    let loaded = load::<L>(&state, &student).await?;
    Ok(Json(SettingsDocument {
        lab: L::NAME.to_string(),
        settings: loaded.settings.clone(),
        defaults: L::Settings::default(),
    }))
}

pub(super) async fn replace<L: Lab>(
    State(state): State<Labs>,
    student: Student,
    extract::Json(settings): extract::Json<L::Settings>,
) -> Result<Json<SettingsDocument<L::Settings>>, ApiError> {
    settings.validate().map_err(ApiError::Unprocessable)?;
    let json = serde_json::to_string(&settings)?;
    // The student row may predate this database (a restored session); make sure it exists.
    sqlx::query(
        "INSERT INTO students (id, kind, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(student.id.as_str())
    .bind(student.kind.as_str())
    .bind(unix_now())
    .execute(&state.pool)
    .await?;
    write::<L>(&state, &student.id, json).await?;
    Ok(Json(SettingsDocument {
        lab: L::NAME.to_string(),
        settings,
        defaults: L::Settings::default(),
    }))
}

/// Stores `json` as `student`'s settings for lab `L`, and tells the cache.
async fn write<L: Lab>(state: &Labs, student: &StudentId, json: String) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO lab_settings (student_id, lab, settings, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (student_id, lab) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
    )
    .bind(student.as_str())
    .bind(L::NAME)
    .bind(json)
    .bind(unix_now())
    .execute(&state.pool)
    .await?;
    state.settings.wrote(student, L::NAME);
    published(state, student).await;
    Ok(())
}

/// Changes `student`'s stored settings for lab `L` on the server's own
/// account (a lab ending a fault hunt at sign-in, say). Settings never
/// stored, or stored by an older version, are left alone.
pub(crate) async fn change_stored<L: Lab>(
    state: &Labs,
    student: &StudentId,
    change: impl FnOnce(&mut L::Settings) -> bool,
) -> Result<(), ApiError> {
    let Some(stored) = stored_settings(state, student, L::NAME).await? else {
        return Ok(());
    };
    let Ok(mut settings) = serde_json::from_value::<L::Settings>(stored) else {
        return Ok(());
    };
    if change(&mut settings) {
        write::<L>(state, student, serde_json::to_string(&settings)?).await?;
    }
    Ok(())
}

pub(super) async fn reset<L: Lab>(
    State(state): State<Labs>,
    student: Student,
) -> Result<Json<SettingsDocument<L::Settings>>, ApiError> {
    sqlx::query("DELETE FROM lab_settings WHERE student_id = $1 AND lab = $2")
        .bind(student.id.as_str())
        .bind(L::NAME)
        .execute(&state.pool)
        .await?;
    state.settings.wrote(&student.id, L::NAME);
    published(&state, &student.id).await;
    Ok(Json(SettingsDocument {
        lab: L::NAME.to_string(),
        settings: L::Settings::default(),
        defaults: L::Settings::default(),
    }))
}
