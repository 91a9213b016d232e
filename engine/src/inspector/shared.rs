//! Traces kept in a Redis several servers share: one list per student,
//! newest first, trimmed to the store's count a student and dropped a few
//! hours after their last lab request. Only the student's own id names
//! their list, as in memory.

use std::sync::Arc;

use futures_util::FutureExt;
use model::TraceView;

use crate::redis_link::{RedisDown, RedisLink};
use crate::students::StudentId;

/// How long a student's traces stay after their latest, in seconds.
const KEPT_SECS: i64 = 6 * 60 * 60;

/// The deployment's trace lists in Redis.
#[derive(Clone)]
pub struct SharedTraces {
    link: Arc<RedisLink>,
    deployment: Arc<str>,
}

impl SharedTraces {
    /// Lists under `wb:{deployment}:traces:`.
    pub fn new(link: Arc<RedisLink>, deployment: &str) -> Self {
        Self {
            link,
            deployment: deployment.into(),
        }
    }

    fn key(&self, student: &StudentId) -> String {
        format!("wb:{}:traces:{}", self.deployment, student.as_str())
    }

    /// Adds `trace` as the student's newest, keeping `keep` of theirs. A
    /// failure is logged: the trace stays in this server's memory.
    pub(super) async fn push(&self, student: &StudentId, trace: &TraceView, keep: usize) {
        let Ok(json) = serde_json::to_string(trace) else {
            return;
        };
        let key = self.key(student);
        let last = isize::try_from(keep.max(1)).unwrap_or(isize::MAX) - 1;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .lpush(&key, json)
            .ltrim(&key, 0, last)
            .expire(&key, KEPT_SECS);
        self.write(pipe, "a trace was kept in this server only")
            .await;
    }

    /// Runs `pipe`; a failure is logged as `failure`, not the student's.
    async fn write(&self, pipe: redis::Pipeline, failure: &'static str) {
        let written = self
            .link
            .command(move |mut c| async move { pipe.query_async::<()>(&mut c).await }.boxed())
            .await;
        if let Err(RedisDown(reason)) = written {
            tracing::warn!(%reason, "{failure}");
        }
    }

    /// The student's latest `limit` traces, newest first.
    pub(super) async fn recent(
        &self,
        student: &StudentId,
        limit: usize,
    ) -> Result<Vec<TraceView>, RedisDown> {
        Ok(self
            .texts(student, limit)
            .await?
            .iter()
            .filter_map(|text| serde_json::from_str(text).ok())
            .collect())
    }

    /// The student's trace `trace_id` among their latest `limit`: only the
    /// one that names it is parsed, not every trace in the list.
    pub(super) async fn find(
        &self,
        student: &StudentId,
        trace_id: &str,
        limit: usize,
    ) -> Result<Option<TraceView>, RedisDown> {
        Ok(self
            .texts(student, limit)
            .await?
            .iter()
            .filter(|text| text.contains(trace_id))
            .filter_map(|text| serde_json::from_str::<TraceView>(text).ok())
            .find(|trace| trace.trace_id == trace_id))
    }

    /// The student's latest `limit` traces as stored, newest first.
    async fn texts(&self, student: &StudentId, limit: usize) -> Result<Vec<String>, RedisDown> {
        let key = self.key(student);
        let last = isize::try_from(limit.max(1)).unwrap_or(isize::MAX) - 1;
        let texts = self
            .link
            .command(move |mut c| {
                async move {
                    redis::cmd("LRANGE")
                        .arg(&key)
                        .arg(0)
                        .arg(last)
                        .query_async(&mut c)
                        .await
                }
                .boxed()
            })
            .await?;
        Ok(texts)
    }

    /// Moves `from`'s traces to `into` (a guest who signed in), newest
    /// first, keeping `keep`.
    pub(super) async fn adopt(&self, from: &StudentId, into: &StudentId, keep: usize) {
        let (Ok(mut moved), Ok(kept)) =
            (self.recent(from, keep).await, self.recent(into, keep).await)
        else {
            return;
        };
        if moved.is_empty() {
            return;
        }
        moved.extend(kept);
        moved.sort_by_key(|t| std::cmp::Reverse(t.started_at_ms));
        moved.truncate(keep);
        let texts: Vec<String> = moved
            .iter()
            .filter_map(|t| serde_json::to_string(t).ok())
            .collect();
        let (from_key, into_key) = (self.key(from), self.key(into));
        let mut pipe = redis::pipe();
        pipe.atomic()
            .del(&into_key)
            .rpush(&into_key, texts)
            .expire(&into_key, KEPT_SECS)
            .del(&from_key);
        self.write(pipe, "a guest's traces stayed under the guest in Redis")
            .await;
    }
}
