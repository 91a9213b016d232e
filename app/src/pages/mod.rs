//! Server-rendered pages. They read the course from [`crate::catalog::CatalogContext`],
//! and the signed-in reader from [`crate::model::Reader`] when there is one.

pub(crate) mod account;
pub(crate) mod classes;
pub(crate) mod home;
pub(crate) mod lesson;
pub(crate) mod not_found;
pub(crate) mod notices;
pub(crate) mod progress;
#[cfg(feature = "ssr")]
pub mod reader_parts;
pub(crate) mod reference;
pub(crate) mod search;
