//! Interactive islands: the only components hydrated in the browser.

pub(crate) mod request;
pub(crate) mod theme;
#[cfg(feature = "hydrate")]
mod fetch;
