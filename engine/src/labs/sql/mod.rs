//! The SQL lab: a shop database of the student's own, where they run any
//! SQL they like, read query plans, add indexes, and watch transactions.
//!
//! | route | what it does |
//! |---|---|
//! | `POST /labs/sql/query` | runs one statement: `{"sql"}` → `{columns, rows, elapsed_ms, ...}` |
//! | `POST /labs/sql/plan` | `EXPLAIN QUERY PLAN` of one statement, as a tree |
//! | `POST /labs/sql/index-experiment` | a query timed before and after a `CREATE INDEX` |
//! | `GET /labs/sql/schema` | tables, columns, keys, foreign keys and indexes of the sandbox |
//! | `DELETE /labs/sql/sandbox` | throws the sandbox away; the next use starts afresh |
//! | `POST /labs/sql/withdrawal` | two concurrent withdrawals, step by step, under the settings |
//! | `POST /labs/sql/transfer` | a transfer that fails halfway, with and without a transaction |
//! | `GET /labs/sql/customers/{id}/orders?strategy=join\|n-plus-one` | an app-style endpoint written with sqlx |
//!
//! Guard rails live in [`engine`]; sandboxes in [`sandbox`]; the data in
//! [`dataset`].

mod checks;
pub mod dataset;
mod disk;
pub mod engine;
mod kind;
mod orders;
pub(crate) mod plan;
mod routes;
pub mod sandbox;
pub(crate) mod withdrawal;

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Lab, LabContext, LabSettings};
use crate::error::ApiError;
use crate::grading::lab::LabChecks;
use crate::labs::Labs;
use crate::students::StudentId;

pub use model::labs::sql::{SqlSettings, Transaction, WithdrawalStyle};
pub use sandbox::Sandboxes;

/// The SQL lab.
pub struct SqlLab;

impl Lab for SqlLab {
    const NAME: &'static str = "sql";
    const TITLE: &'static str = "SQL: joins, indexes and transactions";
    type Settings = SqlSettings;
    type State = Sandboxes;

    fn state(context: &LabContext) -> Self::State {
        Sandboxes::new(
            context.data_dir.join("sql-sandboxes"),
            context.sql_gate,
            context.clock.clone(),
            context.sandbox_disk_bytes,
            context.sandbox_max_bytes,
            super::shop_tables(),
        )
    }

    fn routes(_state: &Labs) -> OpenApiRouter<Labs> {
        OpenApiRouter::default()
            .routes(routes!(routes::query))
            .routes(routes!(routes::plan))
            .routes(routes!(routes::index_experiment))
            .routes(routes!(routes::schema))
            .routes(routes!(routes::reset))
            .routes(routes!(routes::withdrawal))
            .routes(routes!(routes::transfer))
            .routes(routes!(orders::customer_orders))
    }

    fn checks() -> Option<LabChecks> {
        Some(LabChecks {
            lab: Self::NAME,
            load: checks::load,
        })
    }

    fn check_kinds() -> Vec<Arc<dyn crate::grading::CheckKind>> {
        vec![Arc::new(kind::SqlKind)]
    }

    fn gauges(sandboxes: &Sandboxes, gauges: &mut crate::labs::LabGauges<'_>) {
        sandboxes.gauges(gauges);
    }

    /// The indexes the student created in their sandbox, as `indexes`.
    async fn extend_answer(
        labs: &Labs,
        student: &StudentId,
        answer: &mut serde_json::Value,
    ) -> Result<(), ApiError> {
        answer["indexes"] = created_indexes(&labs.get::<Self>(), student).await?;
        Ok(())
    }

    /// An account's sandbox is kept longer than a guest's.
    async fn account_signed_in(labs: &Labs, account: &StudentId) {
        labs.get::<Self>().mark_account(account).await;
    }

    async fn adopt_guest(labs: &Labs, guest: &StudentId, account: &StudentId) {
        if let Err(e) = labs.get::<Self>().adopt(guest, account).await {
            // Losing a guest's scratch database is not worth failing a sign-in for.
            tracing::warn!(error = %e, "could not move a guest's sql sandbox");
        }
    }
}

/// The CREATE INDEX statements in `student`'s sandbox, as a JSON list.
pub async fn created_indexes(
    sandboxes: &Sandboxes,
    student: &crate::identity::StudentId,
) -> Result<serde_json::Value, crate::error::ApiError> {
    let indexes = sandboxes
        .run(student, |db| plan::created_indexes(db, sandbox::RUN_LIMITS))
        .await
        .map_err(|e| {
            crate::error::ApiError::Unprocessable(format!(
                "your SQL sandbox could not be read: {e}"
            ))
        })?;
    Ok(serde_json::Value::from(indexes))
}

impl LabSettings for SqlSettings {
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}
