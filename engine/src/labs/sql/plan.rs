//! Reading a sandbox back: query plans as trees, and the schema (tables,
//! columns, keys, foreign keys, indexes) for the schema browser.

use serde::Serialize;
use serde_json::Value;

use super::engine::{Db, Limits, SqlError};

/// Put before a statement to get its plan; the newline keeps error
/// positions one line off, which [`explain`] undoes.
const EXPLAIN: &str = "EXPLAIN QUERY PLAN\n";

/// One step of a query plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanNode {
    /// SQLite's description, e.g. `SEARCH orders USING INDEX ...`.
    pub detail: String,
    /// Steps under this one.
    pub children: Vec<PlanNode>,
}

/// A statement's plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The top-level steps.
    pub steps: Vec<PlanNode>,
    /// Every step's detail in plan order, for quick checks.
    pub details: Vec<String>,
}

impl Plan {
    /// Whether any step searches `table` through an index.
    pub fn searches_with_index(&self, table: &str) -> bool {
        self.details.iter().any(|d| {
            let d = d.to_ascii_lowercase();
            d.starts_with(&format!("search {} ", table.to_ascii_lowercase()))
                && (d.contains("using index") || d.contains("using covering index"))
        })
    }

    /// The tables read in full, row by row.
    pub fn full_scans(&self) -> Vec<String> {
        self.details
            .iter()
            .filter_map(|d| d.strip_prefix("SCAN "))
            .filter(|rest| !rest.contains("USING COVERING INDEX") && !rest.starts_with("CONSTANT"))
            .map(|rest| {
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }
}

/// The plan of the one statement in `sql`.
pub fn explain(db: &mut Db, sql: &str, limits: Limits) -> Result<Plan, SqlError> {
    let output = db
        .run(&format!("{EXPLAIN}{sql}"), limits)
        .map_err(|mut e| {
            if let Some(p) = e.position.as_mut() {
                p.line = p.line.saturating_sub(1).max(1);
            }
            e
        })?;
    // Rows are (id, parent, notused, detail), parents before children.
    let rows: Vec<(i64, i64, String)> = output
        .rows
        .iter()
        .map(|r| {
            (
                r[0].as_i64().unwrap_or_default(),
                r[1].as_i64().unwrap_or_default(),
                r[3].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    Ok(Plan {
        steps: children_of(0, &rows),
        details: rows.iter().map(|(_, _, d)| d.clone()).collect(),
    })
}

fn children_of(parent: i64, rows: &[(i64, i64, String)]) -> Vec<PlanNode> {
    rows.iter()
        .filter(|(id, p, _)| *p == parent && *id != parent)
        .map(|(id, _, detail)| PlanNode {
            detail: detail.clone(),
            children: children_of(*id, rows),
        })
        .collect()
}

/// A table of the sandbox.
#[derive(Clone, Debug, Serialize)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// How many rows it holds now.
    pub row_count: i64,
    /// Its columns in order.
    pub columns: Vec<TableColumn>,
    /// Columns that refer to other tables.
    pub foreign_keys: Vec<ForeignKey>,
    /// Its indexes, including those behind UNIQUE and PRIMARY KEY.
    pub indexes: Vec<Index>,
}

/// A column of a table.
#[derive(Clone, Debug, Serialize)]
pub struct TableColumn {
    /// Its name.
    pub name: String,
    /// Its declared type.
    #[serde(rename = "type")]
    pub decl_type: String,
    /// Whether it is declared NOT NULL.
    pub not_null: bool,
    /// Its place in the primary key (1-based), or 0 when not part of it.
    pub primary_key: i64,
}

/// A foreign key: `from` refers to `table`.`to`.
#[derive(Clone, Debug, Serialize)]
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
#[derive(Clone, Debug, Serialize)]
pub struct Index {
    /// Its name (SQLite names automatic ones `sqlite_autoindex_...`).
    pub name: String,
    /// Whether it enforces uniqueness.
    pub unique: bool,
    /// `c` for CREATE INDEX, `u` for UNIQUE, `pk` for PRIMARY KEY.
    pub origin: String,
    /// Its key columns in order.
    pub columns: Vec<String>,
    /// Its CREATE INDEX statement, for indexes made with one.
    pub sql: Option<String>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Every table of the sandbox with its columns, keys and indexes.
pub fn schema(db: &mut Db, limits: Limits) -> Result<Vec<Table>, SqlError> {
    let names = db.run(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        limits,
    )?;
    let mut tables = Vec::new();
    for name in names.rows.iter().map(|r| text(&r[0])) {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        let one = Value::from(name.clone());
        let count = db.run(&format!("SELECT count(*) FROM {quoted}"), limits)?;
        let columns = db.run_with(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)",
            limits,
            std::slice::from_ref(&one),
        )?;
        let keys = db.run_with(
            "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?) ORDER BY id, seq",
            limits,
            std::slice::from_ref(&one),
        )?;
        let index_rows = db.run_with(
            "SELECT l.name, l.\"unique\", l.origin, s.sql FROM pragma_index_list(?) AS l LEFT JOIN sqlite_schema AS s ON s.type = 'index' AND s.name = l.name ORDER BY l.name",
            limits,
            std::slice::from_ref(&one),
        )?;
        let mut indexes = Vec::new();
        for row in &index_rows.rows {
            let index_name = text(&row[0]);
            let key = db.run_with(
                "SELECT name FROM pragma_index_info(?) ORDER BY seqno",
                limits,
                &[Value::from(index_name.clone())],
            )?;
            indexes.push(Index {
                name: index_name,
                unique: row[1].as_i64() == Some(1),
                origin: text(&row[2]),
                columns: key.rows.iter().map(|r| text(&r[0])).collect(),
                sql: row[3].as_str().map(str::to_string),
            });
        }
        tables.push(Table {
            row_count: count.rows[0][0].as_i64().unwrap_or_default(),
            columns: columns
                .rows
                .iter()
                .map(|r| TableColumn {
                    name: text(&r[0]),
                    decl_type: text(&r[1]),
                    not_null: r[2].as_i64() == Some(1),
                    primary_key: r[3].as_i64().unwrap_or_default(),
                })
                .collect(),
            foreign_keys: keys
                .rows
                .iter()
                .map(|r| ForeignKey {
                    from: text(&r[0]),
                    table: text(&r[1]),
                    to: if r[2].is_null() {
                        "id".into()
                    } else {
                        text(&r[2])
                    },
                })
                .collect(),
            indexes,
            name,
        });
    }
    Ok(tables)
}

/// The CREATE INDEX statements of the sandbox, for grading index checks.
pub fn created_indexes(db: &mut Db, limits: Limits) -> Result<Vec<String>, SqlError> {
    let rows = db.run(
        "SELECT sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
        limits,
    )?;
    Ok(rows.rows.iter().map(|r| text(&r[0])).collect())
}
