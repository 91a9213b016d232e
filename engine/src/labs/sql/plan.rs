//! Reading a sandbox back: query plans as trees, and the schema (tables,
//! columns, keys, foreign keys, indexes) for the schema browser.

use serde_json::Value;

use super::engine::{Db, Limits, SqlError, SqlValue};

/// Put before a statement to get its plan; the newline keeps error
/// positions one line off, which [`explain`] undoes.
const EXPLAIN: &str = "EXPLAIN QUERY PLAN\n";

pub(crate) use model::labs::sql::{ForeignKey, Index, Plan, PlanNode, Table, TableColumn};

/// What grading reads from a plan.
pub(crate) trait PlanReading {
    /// Whether any step searches `table` through an index.
    fn searches_with_index(&self, table: &str) -> bool;
}

impl PlanReading for Plan {
    fn searches_with_index(&self, table: &str) -> bool {
        self.details.iter().any(|d| {
            let d = d.to_ascii_lowercase();
            d.starts_with(&format!("search {} ", table.to_ascii_lowercase()))
                && (d.contains("using index") || d.contains("using covering index"))
        })
    }
}

/// The plan of the one statement in `sql`.
pub(crate) fn explain(db: &mut Db, sql: &str, limits: Limits) -> Result<Plan, SqlError> {
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

/// A value as text: numbers written as JSON writes them, NULL as nothing.
fn text(v: &SqlValue) -> String {
    match v {
        SqlValue::Text(s) => s.clone(),
        SqlValue::Null => String::new(),
        number => serde_json::to_string(number).unwrap_or_default(),
    }
}

/// Every table of the sandbox with its columns, keys and indexes.
pub(crate) fn schema(db: &mut Db, limits: Limits) -> Result<Vec<Table>, SqlError> {
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
pub(crate) fn created_indexes(db: &mut Db, limits: Limits) -> Result<Vec<String>, SqlError> {
    let rows = db.run(
        "SELECT sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
        limits,
    )?;
    Ok(rows.rows.iter().map(|r| text(&r[0])).collect())
}
