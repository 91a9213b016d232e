//! Map-reduce over the student's own orders: revenue per country.
//!
//! A run splits the order ids into ranges of equal width, and each range
//! is one map task: a message on the student's queue, taken by their
//! workers like any job. A worker reads its range's order lines from the
//! student's SQL sandbox and adds them up per country (the map, with the
//! combining done on the spot), and stores that partial result under the
//! task's split number. A redelivered task stores its partial again in
//! the same place, so it cannot count an order twice: output keyed by
//! split is what makes a map task safe to repeat. The worker that stores
//! the last missing partial merges them all (the reduce). The run also
//! asks SQLite the same question in one statement, and shows both.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use model::labs::queue::{CountryRevenue, MapReduceRun, MapSplit, SplitState};

use super::job::MapTask;

/// Order lines of a range of order ids, as (country, cents) pairs, or why
/// they could not be read.
pub(crate) type LineReader =
    Arc<dyn Fn(i64, i64) -> BoxFuture<'static, Result<Vec<(String, i64)>, String>> + Send + Sync>;

/// The statement whose answer a run must reproduce.
pub(crate) const SQL_ANSWER: &str =
    "SELECT c.country, SUM(oi.quantity * oi.unit_price_cents) AS revenue_cents \
FROM orders o JOIN customers c ON c.id = o.customer_id JOIN order_items oi ON oi.order_id = o.id \
WHERE o.status <> 'cancelled' GROUP BY c.country ORDER BY c.country";

/// What one map task reads: the same lines, for one range of order ids.
pub(crate) const MAP_LINES: &str = "SELECT c.country, oi.quantity * oi.unit_price_cents \
FROM orders o JOIN customers c ON c.id = o.customer_id JOIN order_items oi ON oi.order_id = o.id \
WHERE o.id BETWEEN ? AND ? AND o.status <> 'cancelled'";

/// The ids the splits cover.
pub(crate) const ORDER_IDS: &str = "SELECT MIN(id), MAX(id) FROM orders";

/// A run in progress or finished.
pub(crate) struct MapRun {
    pub(crate) id: u64,
    splits: Vec<MapSplit>,
    partials: Vec<Option<BTreeMap<String, i64>>>,
    pub(crate) reader: LineReader,
    sql_answer: Vec<CountryRevenue>,
    reduced: Option<Vec<CountryRevenue>>,
    started_ms: i64,
    elapsed_ms: Option<i64>,
}

/// The ranges `splits` tasks cover of the ids `first..=last`: equal widths
/// (the last may be narrower), none empty. Worked out in `i128`, since a
/// student may give their orders any ids an `i64` holds.
pub(crate) fn ranges(first: i64, last: i64, splits: u32) -> Vec<(i64, i64)> {
    let (first, last, splits) = (
        i128::from(first),
        i128::from(last),
        i128::from(splits.max(1)),
    );
    let width = ((last - first + 1 + splits - 1) / splits).max(1);
    (0..splits)
        .map(|i| (first + i * width, (first + (i + 1) * width - 1).min(last)))
        .filter(|(from, to)| from <= to)
        .filter_map(|(from, to)| Some((i64::try_from(from).ok()?, i64::try_from(to).ok()?)))
        .collect()
}

impl MapRun {
    /// A run of one task per range, to be checked against `sql_answer`.
    pub(crate) fn new(
        id: u64,
        ranges: &[(i64, i64)],
        reader: LineReader,
        sql_answer: Vec<CountryRevenue>,
        now_ms: i64,
    ) -> Self {
        let splits = (1..)
            .zip(ranges)
            .map(|(split, &(first_order, last_order))| MapSplit {
                split,
                first_order,
                last_order,
                last: "queued".into(),
                ..MapSplit::default()
            })
            .collect::<Vec<_>>();
        Self {
            id,
            partials: vec![None; splits.len()],
            splits,
            reader,
            sql_answer,
            reduced: None,
            started_ms: now_ms,
            elapsed_ms: None,
        }
    }

    /// The run's tasks, as messages carry them.
    pub(crate) fn tasks(&self) -> Vec<MapTask> {
        self.splits
            .iter()
            .map(|split| MapTask {
                run: self.id,
                split: split.split,
                first_order: split.first_order,
                last_order: split.last_order,
            })
            .collect()
    }

    fn split(&mut self, task: &MapTask) -> Option<&mut MapSplit> {
        if task.run != self.id {
            return None;
        }
        self.splits.get_mut((task.split as usize).checked_sub(1)?)
    }

    /// A worker took the task.
    pub(crate) fn taken(&mut self, task: &MapTask, worker: u32) {
        if let Some(split) = self.split(task) {
            split.deliveries += 1;
            if split.state != SplitState::Mapped {
                split.state = SplitState::Mapping;
            }
            split.last = format!(
                "worker {worker} reads orders {} to {}",
                task.first_order, task.last_order
            );
        }
    }

    /// A worker read the task's lines: stores their sums per country in
    /// the task's place (again, if it was redelivered), and reduces when
    /// every task has reported.
    pub(crate) fn mapped(
        &mut self,
        task: &MapTask,
        lines: &[(String, i64)],
        worker: u32,
        now_ms: i64,
    ) {
        let Some(split) = self.split(task) else {
            return;
        };
        split.state = SplitState::Mapped;
        split.lines = lines.len() as u64;
        split.last = format!("worker {worker} mapped {} order lines", lines.len());
        let mut partial = BTreeMap::new();
        for (country, cents) in lines {
            let sum = partial.entry(country.clone()).or_insert(0_i64);
            *sum = sum.saturating_add(*cents);
        }
        self.partials[task.split as usize - 1] = Some(partial);
        if self.reduced.is_none() && self.partials.iter().all(Option::is_some) {
            self.reduce(now_ms);
        }
    }

    /// Merges the partial sums.
    fn reduce(&mut self, now_ms: i64) {
        let mut total = BTreeMap::<String, i64>::new();
        for partial in self.partials.iter().flatten() {
            for (country, cents) in partial {
                let sum = total.entry(country.clone()).or_insert(0_i64);
                *sum = sum.saturating_add(*cents);
            }
        }
        self.reduced = Some(
            total
                .into_iter()
                .map(|(country, revenue_cents)| CountryRevenue {
                    country,
                    revenue_cents,
                })
                .collect(),
        );
        self.elapsed_ms = Some(now_ms - self.started_ms);
    }

    /// The worker holding the task died: the task waits again, or is lost
    /// when it had been acknowledged.
    pub(crate) fn dropped(&mut self, task: &MapTask, acked: bool, why: &str) {
        if let Some(split) = self.split(task) {
            if split.state != SplitState::Mapped {
                split.state = if acked {
                    SplitState::Lost
                } else {
                    SplitState::Waiting
                };
                split.last = why.to_string();
            }
        }
    }

    /// The task's attempt failed: it waits for a retry, or is a dead letter.
    pub(crate) fn failed(&mut self, task: &MapTask, error: &str, dead: bool) {
        if let Some(split) = self.split(task) {
            if split.state != SplitState::Mapped {
                split.state = if dead {
                    SplitState::Failed
                } else {
                    SplitState::Waiting
                };
                split.last = error.to_string();
            }
        }
    }

    /// What the console shows.
    pub(crate) fn view(&self) -> MapReduceRun {
        MapReduceRun {
            run: self.id,
            splits: self.splits.clone(),
            matches: self
                .reduced
                .as_ref()
                .map(|reduced| *reduced == self.sql_answer),
            reduced: self.reduced.clone(),
            sql_answer: self.sql_answer.clone(),
            sql: SQL_ANSWER.to_string(),
            elapsed_ms: self.elapsed_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ranges: &[(i64, i64)]) -> MapRun {
        let reader: LineReader = Arc::new(|_, _| Box::pin(async { Ok(Vec::new()) }));
        let sql = vec![
            CountryRevenue {
                country: "DE".into(),
                revenue_cents: 500,
            },
            CountryRevenue {
                country: "FR".into(),
                revenue_cents: 200,
            },
        ];
        MapRun::new(7, ranges, reader, sql, 1000)
    }

    #[test]
    fn ranges_cover_every_id_once_in_equal_widths() {
        assert_eq!(ranges(1, 10, 3), vec![(1, 4), (5, 8), (9, 10)]);
        assert_eq!(ranges(1, 12000, 4)[3], (9001, 12000));
        // More splits than ids: no empty range.
        assert_eq!(ranges(5, 6, 4), vec![(5, 5), (6, 6)]);
        // Ids at both ends of i64 (a student's own inserts) still split.
        let wide = ranges(i64::MIN, i64::MAX, 3);
        assert_eq!(wide.len(), 3);
        assert_eq!((wide[0].0, wide[2].1), (i64::MIN, i64::MAX));
        assert_eq!(wide[0].1 + 1, wide[1].0);
    }

    #[test]
    fn a_redelivered_task_replaces_its_partial_and_the_reduce_matches_sql() {
        let mut run = run(&[(1, 5), (6, 10)]);
        let tasks = run.tasks();
        let first = [("DE".to_string(), 300), ("FR".to_string(), 200)];
        run.taken(&tasks[0], 1);
        run.mapped(&tasks[0], &first, 1, 1100);
        // Worker 1 died before acknowledging: the task comes back and is
        // mapped again. Its partial replaces itself.
        run.taken(&tasks[0], 2);
        run.mapped(&tasks[0], &first, 2, 1200);
        assert!(run.view().reduced.is_none(), "split 2 has not reported");
        run.taken(&tasks[1], 2);
        run.mapped(&tasks[1], &[("DE".to_string(), 200)], 2, 1500);
        let view = run.view();
        assert_eq!(view.matches, Some(true), "{view:?}");
        assert_eq!(view.elapsed_ms, Some(500));
        assert_eq!(view.splits[0].deliveries, 2);
    }

    #[test]
    fn a_task_acknowledged_before_a_crash_is_lost_and_the_run_never_reduces() {
        let mut run = run(&[(1, 5), (6, 10)]);
        let tasks = run.tasks();
        run.taken(&tasks[0], 1);
        run.dropped(&tasks[0], true, "worker 1 was killed mid-job");
        run.taken(&tasks[1], 2);
        run.mapped(&tasks[1], &[("DE".to_string(), 200)], 2, 1500);
        let view = run.view();
        assert_eq!(view.splits[0].state, SplitState::Lost);
        assert_eq!((view.reduced, view.matches), (None, None));
    }

    #[test]
    fn tasks_of_an_older_run_change_nothing() {
        let mut run = run(&[(1, 5)]);
        let stale = MapTask {
            run: 6,
            ..run.tasks()[0]
        };
        run.mapped(&stale, &[("DE".to_string(), 1)], 1, 1100);
        assert_eq!(run.view().splits[0].state, SplitState::Waiting);
    }
}
