//! Server-rendered pages. They read the course from [`crate::catalog::CatalogContext`].

pub(crate) mod home;
pub(crate) mod lesson;
pub(crate) mod not_found;
