//! Interactive islands: the only components hydrated in the browser.

pub(crate) mod cache;
pub(crate) mod exercise;
#[cfg(feature = "hydrate")]
mod fetch;
pub(crate) mod hashes;
pub(crate) mod permissions;
pub(crate) mod ratelimit;
pub(crate) mod request;
pub(crate) mod settings_draft;
pub(crate) mod sql;
pub(crate) mod sql_lab;
pub(crate) mod theme;
