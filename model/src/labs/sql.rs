//! The SQL lab's wire types: statements to run, their results and plans,
//! the sandbox's schema, the index experiment, the transactions demo, the
//! app-style customer orders endpoint, and the lab's settings.
//!
//! Objects the lab used to build as JSON maps (the schema, its tables,
//! columns and indexes) keep their fields in alphabetical order, so they
//! serialise exactly as before.

use serde::{Deserialize, Serialize};

/// `POST /labs/sql/query` and `POST /labs/sql/plan`: one statement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// The statement's text.
    pub sql: String,
}

/// A value SQLite returned, as JSON carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum SqlValue {
    /// `NULL`.
    Null,
    /// An `INTEGER`.
    Integer(i64),
    /// A finite `REAL` (the lab sends the others as text).
    Real(f64),
    /// `TEXT` (cut when very long), or a `BLOB` written as `x'...'` hex.
    Text(String),
}

impl SqlValue {
    /// The integer, for an `INTEGER`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The number, for an `INTEGER` or a `REAL`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Integer(i) => Some(*i as f64),
            Self::Real(x) => Some(*x),
            _ => None,
        }
    }

    /// The text, for `TEXT` (and blobs, which arrive as text).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }

    /// Whether it is `NULL`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

/// A result column.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Column {
    /// The column's name as the query labels it.
    pub name: String,
    /// The declared type of the table column it comes from, if any.
    pub decl_type: Option<String>,
}

/// What one statement returned.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueryOutput {
    /// The result's columns (empty for most writes and DDL).
    pub columns: Vec<Column>,
    /// The rows read, at most the run's row limit. Each value is JSON's
    /// null, a number or a string (in the OpenAPI document, free-form:
    /// SQLite's integers are numbers too, which a `oneOf` cannot tell apart).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<Value>>))]
    pub rows: Vec<Vec<SqlValue>>,
    /// True when there were more rows than the limit.
    pub truncated: bool,
    /// Rows inserted, updated or deleted by a write.
    pub changes: u64,
    /// Whether the statement only reads.
    pub read_only: bool,
    /// Time spent preparing and stepping, in milliseconds.
    pub elapsed_ms: f64,
}

/// What `POST /labs/sql/query` answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueryAnswer {
    /// The statement's result.
    #[serde(flatten)]
    pub output: QueryOutput,
    /// How many rows came back.
    pub row_count: usize,
    /// The plan of a read (none for writes and `EXPLAIN`s).
    pub plan: Option<Plan>,
    /// Why the sandbox was reset since the student last used it, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// Why a statement did not run, or stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The SQL is not valid (or names something that does not exist).
    Syntax,
    /// The statement was refused by the sandbox's rules.
    Refused,
    /// The statement needed more memory than the sandbox allows.
    Memory,
    /// The statement ran past its time limit and was interrupted.
    Timeout,
    /// The sandbox reached its size limit.
    Full,
    /// Another connection holds the lock this statement needs; waiting may help.
    Busy,
    /// Another connection committed a write after this transaction read:
    /// waiting cannot help, the transaction must start again.
    StaleSnapshot,
    /// The text holds no statement, or more than one.
    Shape,
    /// SQLite refused it while running (a constraint, a type, ...).
    Runtime,
}

/// A place in the SQL text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// The body of a failed SQL lab request: an [`crate::ErrorBody`]'s fields,
/// and for a failed statement SQLite's kind of failure and where it
/// happened. Any other 4xx or 5xx body of the lab reads as one without them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SqlErrorBody {
    /// Machine-readable error code, e.g. `sql_error` or `timeout`.
    #[serde(default)]
    pub error: String,
    /// SQLite's message, or the sandbox's reason.
    pub message: String,
    /// What went wrong, for a failed statement.
    pub kind: Option<ErrorKind>,
    /// 1-based line and column in the SQL text, when SQLite knows it.
    pub position: Option<Position>,
}

/// One step of a query plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanNode {
    /// SQLite's description, e.g. `SEARCH orders USING INDEX ...`.
    pub detail: String,
    /// Steps under this one.
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub children: Vec<PlanNode>,
}

/// A statement's plan, as `POST /labs/sql/plan` answers it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    /// The top-level steps.
    pub steps: Vec<PlanNode>,
    /// Every step's detail in plan order, for quick checks.
    pub details: Vec<String>,
}

/// `GET /labs/sql/schema`: the tables of the student's sandbox.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schema {
    /// Why the sandbox was reset since the student last used it, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// The tables, by name.
    pub tables: Vec<Table>,
}

/// A table of the sandbox.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Table {
    /// Its columns in order.
    pub columns: Vec<TableColumn>,
    /// Columns that refer to other tables.
    pub foreign_keys: Vec<ForeignKey>,
    /// Its indexes, including those behind UNIQUE and PRIMARY KEY.
    pub indexes: Vec<Index>,
    /// Its name.
    pub name: String,
    /// How many rows it holds now.
    pub row_count: i64,
}

/// A column of a table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TableColumn {
    /// Its name.
    pub name: String,
    /// Whether it is declared NOT NULL.
    pub not_null: bool,
    /// Its place in the primary key (1-based), or 0 when not part of it.
    pub primary_key: i64,
    /// Its declared type.
    #[serde(rename = "type")]
    pub decl_type: String,
}

/// A foreign key: `from` refers to `table`.`to`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForeignKey {
    /// The referring column.
    pub from: String,
    /// The table referred to.
    pub table: String,
    /// The column referred to (`id` when the key names none, as the shop's
    /// keys all point at an `id` primary key).
    pub to: String,
}

/// An index.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Index {
    /// Its key columns in order.
    pub columns: Vec<String>,
    /// Its name (SQLite names automatic ones `sqlite_autoindex_...`).
    pub name: String,
    /// `c` for CREATE INDEX, `u` for UNIQUE, `pk` for PRIMARY KEY.
    pub origin: String,
    /// Its CREATE INDEX statement, for indexes made with one.
    pub sql: Option<String>,
    /// Whether it enforces uniqueness.
    pub unique: bool,
}

/// `POST /labs/sql/index-experiment`: a read to time, and the index to add.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExperimentRequest {
    /// The query (a read).
    pub query: String,
    /// The `CREATE INDEX` statement.
    pub index: String,
}

/// One side of an index experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timed {
    /// The query's plan.
    pub plan: Plan,
    /// The median of the runs, in milliseconds.
    pub median_ms: f64,
    /// Every run, in milliseconds.
    pub runs_ms: Vec<f64>,
    /// Rows the query returned.
    pub row_count: usize,
}

/// What `POST /labs/sql/index-experiment` answers: before and after.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Experiment {
    /// Without the index.
    pub before: Timed,
    /// With it.
    pub after: Timed,
    /// How many times faster the median got.
    pub speedup: f64,
}

/// One statement of the transactions demo and what SQLite said.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    /// `A` or `B` (or `setup`).
    pub session: String,
    /// The statement, with its parameters written in.
    pub sql: String,
    /// What happened, in words.
    pub outcome: String,
    /// Whether SQLite accepted it.
    pub ok: bool,
}

/// What `POST /labs/sql/withdrawal` answers: the concurrent withdrawal's story.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WithdrawalReport {
    /// Every step in the order it ran.
    pub steps: Vec<Step>,
    /// Account 1's balance at the end.
    pub final_balance: i64,
    /// What it should be when both withdrawals count.
    pub expected_balance: i64,
    /// Whether A's and B's withdrawals completed.
    pub completed: [bool; 2],
    /// True when both completed but the balance shows only one.
    pub lost_update: bool,
}

/// One run of the failing transfer; `POST /labs/sql/transfer` answers two.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferRun {
    /// Whether the two updates were wrapped in a transaction.
    pub in_transaction: bool,
    /// The statements and what SQLite said.
    pub steps: Vec<Step>,
    /// Ada's and Grace's balances afterwards (they start at 300 and 0).
    pub balances: [i64; 2],
    /// Whether the total is still 300.
    pub money_conserved: bool,
}

/// How `GET /labs/sql/customers/{id}/orders` loads the data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum LoadStrategy {
    /// One query for the customer, one for their orders, then one per order
    /// for its items (what an ORM's lazy loading does).
    #[default]
    NPlusOne,
    /// One query with joins.
    Join,
}

/// `GET /labs/sql/customers/{id}/orders`' query: `?strategy=n-plus-one|join`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct CustomerOrdersOptions {
    /// How to load (N+1 when left out).
    #[serde(default)]
    pub strategy: LoadStrategy,
}

/// A customer of the sandbox's shop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Customer {
    /// Their id.
    pub id: i64,
    /// Their name.
    pub name: String,
    /// Their email address.
    pub email: String,
}

/// One of a customer's orders, with its items (`SqlOrder` in the OpenAPI
/// document: the API lab has an `Order` of its own).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = SqlOrder))]
pub struct Order {
    /// The order's id.
    pub id: i64,
    /// When it was placed, as the sandbox stores it.
    pub placed_at: String,
    /// Its status, e.g. `shipped`.
    pub status: String,
    /// What was ordered, by product name.
    pub items: Vec<OrderItem>,
}

/// One line of an order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderItem {
    /// The product's name.
    pub product: String,
    /// How many.
    pub quantity: i64,
    /// The price of one, in cents.
    pub unit_price_cents: i64,
}

/// `GET /labs/sql/customers/{id}/orders`' answer: a customer's orders, and
/// how many queries it took to load them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerOrders {
    /// How they were loaded.
    pub strategy: LoadStrategy,
    /// Queries sent to SQLite.
    pub queries: usize,
    /// The customer.
    pub customer: Customer,
    /// Their orders, oldest first.
    pub orders: Vec<Order>,
}

/// How the demo app wraps a withdrawal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Transaction {
    /// Each statement commits on its own.
    #[default]
    None,
    /// `BEGIN`: locks are taken when first needed.
    Deferred,
    /// `BEGIN IMMEDIATE`: the write lock is taken at the start.
    Immediate,
}

impl Transaction {
    /// Every choice, in the order the lab presents them.
    pub const ALL: [Transaction; 3] = [Self::None, Self::Deferred, Self::Immediate];
}

/// How the demo app computes the new balance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalStyle {
    /// Reads the balance, subtracts in the app, writes the result back.
    #[default]
    ReadThenWrite,
    /// One statement: `UPDATE ... SET balance = balance - ?`.
    SingleUpdate,
}

impl WithdrawalStyle {
    /// Every choice, in the order the lab presents them.
    pub const ALL: [WithdrawalStyle; 2] = [Self::ReadThenWrite, Self::SingleUpdate];
}

/// What a student may change in the SQL lab.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct SqlSettings {
    /// The transaction around each withdrawal.
    pub transaction: Transaction,
    /// How the withdrawal computes the new balance.
    pub withdrawal: WithdrawalStyle,
    /// Whether the app runs a withdrawal again when SQLite says it lost a race.
    pub retry_on_busy: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_plain_json_and_read_back_as_what_they_were() {
        let row = vec![
            SqlValue::Null,
            SqlValue::Integer(3),
            SqlValue::Real(2.0),
            SqlValue::Real(1.5),
            SqlValue::Text("x'00'".into()),
        ];
        let text = serde_json::to_string(&row).unwrap();
        assert_eq!(text, r#"[null,3,2.0,1.5,"x'00'"]"#);
        assert_eq!(serde_json::from_str::<Vec<SqlValue>>(&text).unwrap(), row);
    }

    #[test]
    fn a_query_answer_reads_back_through_its_flattened_output() {
        let answer = QueryAnswer {
            output: QueryOutput {
                columns: vec![Column {
                    name: "n".into(),
                    decl_type: None,
                }],
                rows: vec![vec![SqlValue::Integer(1)]],
                elapsed_ms: 0.5,
                read_only: true,
                ..QueryOutput::default()
            },
            row_count: 1,
            plan: None,
            notice: None,
        };
        let text = serde_json::to_string(&answer).unwrap();
        assert!(!text.contains("notice"), "{text}");
        assert_eq!(serde_json::from_str::<QueryAnswer>(&text).unwrap(), answer);
    }

    #[test]
    fn the_schema_serialises_as_the_json_map_it_used_to_be() {
        let schema = Schema {
            notice: Some("reset".into()),
            tables: vec![Table {
                columns: vec![TableColumn {
                    name: "id".into(),
                    not_null: true,
                    primary_key: 1,
                    decl_type: "INTEGER".into(),
                }],
                foreign_keys: vec![ForeignKey {
                    from: "a".into(),
                    table: "b".into(),
                    to: "id".into(),
                }],
                indexes: vec![Index {
                    columns: vec!["id".into()],
                    name: "i".into(),
                    origin: "c".into(),
                    sql: None,
                    unique: false,
                }],
                name: "t".into(),
                row_count: 2,
            }],
        };
        let as_map = serde_json::to_value(&schema).unwrap().to_string();
        assert_eq!(serde_json::to_string(&schema).unwrap(), as_map);
    }

    #[test]
    fn the_orders_strategy_is_kebab_case_and_defaults_to_n_plus_one() {
        let options: CustomerOrdersOptions = serde_json::from_str("{}").unwrap();
        assert_eq!(options.strategy, LoadStrategy::NPlusOne);
        assert_eq!(
            serde_json::to_string(&LoadStrategy::NPlusOne).unwrap(),
            r#""n-plus-one""#
        );
        let join: CustomerOrdersOptions = serde_json::from_str(r#"{"strategy":"join"}"#).unwrap();
        assert_eq!(join.strategy, LoadStrategy::Join);
    }

    #[test]
    fn a_plain_error_body_reads_as_an_sql_error_without_a_kind() {
        let body: SqlErrorBody =
            serde_json::from_str(r#"{"error":"too_many_requests","message":"slow down"}"#).unwrap();
        assert_eq!(body.message, "slow down");
        assert_eq!((body.kind, body.position), (None, None));
        let failed: SqlErrorBody = serde_json::from_str(
            r#"{"error":"sql_error","message":"no","kind":"syntax","position":{"line":1,"column":2}}"#,
        )
        .unwrap();
        assert_eq!(failed.kind, Some(ErrorKind::Syntax));
    }
}
