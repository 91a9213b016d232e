//! The `workbench` subcommands besides `serve`: each reads its arguments
//! from [`crate::config`] and calls the domain.

pub mod check;
pub mod class;
pub mod grade;
pub mod user;
