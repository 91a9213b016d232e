//! Rebuilds the engine when a migration is added or changed: the schemas
//! are embedded by `sqlx::migrate!`, which cannot see new files itself.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
