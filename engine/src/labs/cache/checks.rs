//! The cache lab's `lab` checks (see [`crate::grading::lab`]): the student's cache
//! settings replayed against a named traffic pattern on a virtual clock,
//! or against a stampede; or the student's own recent reads.
//!
//! ```toml
//! [check]
//! lab = "cache"
//! pattern = "catalog-with-price-changes"   # see labs::cache::replay::pattern
//! max_stale_reads = 0                      # optional
//! min_hit_ratio = 0.5                      # optional
//! max_age_secs = 60                        # optional: oldest copy served
//! # or: stampede = 50                      # n cold requests: one origin request
//! # or: reads = 10                         # the student's last 10 product reads
//! #     hits = 7                           # were exactly 7 hits (and 3 not)
//! ```

use futures_util::future::{BoxFuture, FutureExt};
use serde::Deserialize;
use serde_json::Value;

use crate::grading::http::{LabRequests, RecordedRequest};
use crate::grading::{
    check_line, parse_check, AnswerError, AnswerSource, CheckOutcome, Checker, GradeContext,
};
use crate::labs::cache::replay::{pattern, replay, stampede};
use crate::labs::cache::CacheSettings;
use crate::labs::LabSettings;
use model::ExerciseInput;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code)]
    lab: String,
    pattern: Option<String>,
    max_stale_reads: Option<u64>,
    min_hit_ratio: Option<f64>,
    max_age_secs: Option<i64>,
    stampede: Option<u64>,
    reads: Option<usize>,
    hits: Option<usize>,
}

/// Most recent reads a check may look at (the server keeps 200 lab
/// requests per student, of every lab).
const MAX_READS: usize = 50;
/// The inspector event that says whether a read found the key.
const LOOKUP: &str = "cache.lookup";

pub(super) fn load(
    front_matter: &str,
    first_line: usize,
) -> Result<Box<dyn Checker>, (usize, String)> {
    let spec: Spec = parse_check(front_matter, first_line)?;
    let fail = |m: &str| {
        (
            check_line(front_matter, first_line),
            format!("[check]: {m}"),
        )
    };
    match (&spec.pattern, spec.stampede, spec.reads, spec.hits) {
        (None, None, Some(reads), Some(hits)) => {
            if !(2..=MAX_READS).contains(&reads) || hits == 0 || hits >= reads {
                return Err(fail(&format!(
                    "`reads` is between 2 and {MAX_READS}, and `hits` between 1 and reads - 1"
                )));
            }
        }
        (Some(name), None, None, None) => {
            if pattern(name).is_none() {
                return Err(fail(&format!("unknown pattern {name:?}")));
            }
            if spec.max_stale_reads.is_none()
                && spec.min_hit_ratio.is_none()
                && spec.max_age_secs.is_none()
            {
                return Err(fail(
                    "a pattern check needs max_stale_reads, min_hit_ratio or max_age_secs",
                ));
            }
        }
        (None, Some(n), None, None) if n > 1 => {}
        _ => {
            return Err(fail(
                "a cache lab check has one of: `pattern = \"...\"`, `stampede = n` (n > 1), or `reads` with `hits`",
            ))
        }
    }
    Ok(Box::new(spec))
}

/// A read of the catalogue through the cache that the lab answered: a
/// `GET` of a product or of the first page, answered 200 or 304.
fn is_answered_read(request: &RecordedRequest) -> bool {
    let path = request.path.split('?').next().unwrap_or_default();
    request.method == "GET"
        && (path == "/labs/cache/products" || path.starts_with("/labs/cache/products/"))
        && matches!(request.status, 200 | 304)
}

/// Whether the cache served the read: its lookup found a live copy. A
/// miss, an expired copy and a read with no cache at all are not hits.
fn was_hit(request: &RecordedRequest) -> bool {
    request.event_field(LOOKUP, "outcome") == Some("hit")
}

/// The last `n` answered reads (fewer if there were fewer), oldest first.
fn last_reads(requests: &[RecordedRequest], n: usize) -> Vec<RecordedRequest> {
    let mut reads: Vec<RecordedRequest> = requests
        .iter()
        .rev()
        .filter(|r| is_answered_read(r))
        .take(n)
        .cloned()
        .collect();
    reads.reverse();
    reads
}

impl Spec {
    /// The student's last `reads` reads must hold exactly `hits` hits.
    fn judge_reads(
        &self,
        (reads, hits): (usize, usize),
        answer: &Value,
    ) -> Result<Vec<CheckOutcome>, AnswerError> {
        let recorded: LabRequests = serde_json::from_value(answer.clone()).map_err(|e| {
            AnswerError(format!(
                "the answer is {{\"requests\": [...]}} as the inspector records them: {e}"
            ))
        })?;
        let last = last_reads(&recorded.requests, reads);
        let found = last.iter().filter(|r| was_hit(r)).count();
        let sequence: Vec<&str> = last
            .iter()
            .map(|r| if was_hit(r) { "HIT" } else { "MISS" })
            .collect();
        let sequence = if sequence.is_empty() {
            "none".to_string()
        } else {
            sequence.join(" ")
        };
        Ok(vec![
            CheckOutcome::new(
                format!("you read products through the cache {reads} times"),
                last.len() == reads,
            )
            .expected(format!(
                "{reads} answered reads of /labs/cache/products/..."
            ))
            .observed(format!("{} reads", last.len())),
            CheckOutcome::new(
                format!("exactly {hits} of your last {reads} reads were hits"),
                last.len() == reads && found == hits,
            )
            .expected(format!("{hits} hits and {} misses", reads - hits))
            .observed(format!(
                "{found} hits and {} misses, oldest first: {sequence}",
                last.len() - found
            )),
        ])
    }

    fn judge(&self, answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
        if let (Some(reads), Some(hits)) = (self.reads, self.hits) {
            return self.judge_reads((reads, hits), answer);
        }
        let settings: CacheSettings = match answer.get("settings") {
            None | Some(Value::Null) => CacheSettings::default(),
            Some(settings) => serde_json::from_value(settings.clone())
                .map_err(|e| AnswerError(format!("`settings` are not cache lab settings: {e}")))?,
        };
        settings.validate().map_err(AnswerError)?;
        if let Some(n) = self.stampede {
            let origin = stampede(&settings, n);
            return Ok(vec![CheckOutcome::new(
                format!("{n} requests at once for a cold key reach the origin once"),
                origin == 1,
            )
            .expected("1 origin request")
            .observed(format!("{origin} origin requests"))]);
        }
        let name = self.pattern.as_deref().unwrap_or_default();
        let seen = replay(&settings, &pattern(name).unwrap_or_default());
        let mut checks = vec![CheckOutcome::new("the cache is used", seen.hits > 0)
            .expected("some reads served from the cache")
            .observed(format!(
                "{} of {} reads from the cache",
                seen.hits, seen.reads
            ))];
        if let Some(most) = self.max_stale_reads {
            checks.push(
                CheckOutcome::new("no read returns an old price", seen.stale_reads <= most)
                    .expected(format!("at most {most} stale reads"))
                    .observed(format!("{} stale reads", seen.stale_reads)),
            );
        }
        if let Some(least) = self.min_hit_ratio {
            checks.push(
                CheckOutcome::new(
                    "the hit ratio is high enough",
                    seen.hit_ratio() + 1e-9 >= least,
                )
                .expected(format!("at least {:.0}%", least * 100.0))
                .observed(format!("{:.1}%", seen.hit_ratio() * 100.0)),
            );
        }
        if let Some(oldest) = self.max_age_secs {
            checks.push(
                CheckOutcome::new(
                    "no copy served is too old",
                    seen.oldest_served_secs <= oldest,
                )
                .expected(format!("at most {oldest} s old"))
                .observed(format!(
                    "oldest copy served was {} s old",
                    seen.oldest_served_secs
                )),
            );
        }
        Ok(checks)
    }
}

impl Checker for Spec {
    fn answer_source(&self) -> AnswerSource<'_> {
        if self.reads.is_some() {
            AnswerSource::RecordedRequests
        } else {
            AnswerSource::LabSettings("cache")
        }
    }

    fn public_input(&self) -> ExerciseInput {
        ExerciseInput::LabRequests {
            target: if self.reads.is_some() {
                "GET /labs/cache/products/{id}".into()
            } else {
                "your cache lab settings".into()
            },
        }
    }

    /// For a check of recent reads, only the reads it judged.
    fn graded_part(&self, answer: &Value) -> Value {
        let Some(reads) = self.reads else {
            return answer.clone();
        };
        match serde_json::from_value::<LabRequests>(answer.clone()) {
            Ok(recorded) => serde_json::to_value(LabRequests {
                requests: last_reads(&recorded.requests, reads),
            })
            .unwrap_or_default(),
            Err(_) => answer.clone(),
        }
    }

    fn grade<'a>(
        &'a self,
        answer: &'a Value,
        _context: &'a GradeContext,
    ) -> BoxFuture<'a, Result<Vec<CheckOutcome>, AnswerError>> {
        std::future::ready(self.judge(answer)).boxed()
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn judge(check: &str, answer: Value) -> Vec<CheckOutcome> {
        let spec: Spec = parse_check(check, 1).unwrap();
        spec.judge(&answer).unwrap()
    }

    #[test]
    fn stale_reads_fail_until_writes_invalidate() {
        let check = "[check]\nlab = \"cache\"\npattern = \"catalog-with-price-changes\"\nmax_stale_reads = 0\nmin_hit_ratio = 0.5";
        assert!(!judge(check, json!({})).iter().all(|c| c.passed));
        assert!(
            judge(check, json!({"settings": {"invalidate_on_write": true}}))
                .iter()
                .all(|c| c.passed)
        );
        let none = judge(check, json!({"settings": {"strategy": "none"}}));
        assert!(!none[0].passed, "no cache is not the answer");
    }

    /// The check of `exercises/cache-ttl-target.md`: a read every 10 s,
    /// 5 of every 6 reads hits, no copy served older than 50 s.
    const TTL_TARGET: &str = "[check]\nlab = \"cache\"\npattern = \"steady-every-10s\"\nmin_hit_ratio = 0.83\nmax_age_secs = 50";

    fn ttl_passes(ttl: u32) -> bool {
        judge(TTL_TARGET, json!({"settings": {"ttl_secs": ttl}}))
            .iter()
            .all(|c| c.passed)
    }

    #[test]
    fn the_ttl_target_accepts_what_the_lesson_teaches() {
        // The lesson: the oldest copy is served by the last read before
        // expiry, 10 s short of a 60 s TTL; one read in six misses.
        for ttl in [51, 55, 60] {
            assert!(ttl_passes(ttl), "a TTL of {ttl} s");
        }
    }

    #[test]
    fn the_ttl_target_rejects_the_oldest_copy_is_the_ttl_reasoning() {
        // Taking the oldest copy to be the TTL itself leads to 50 s or less,
        // which hits only 4 reads in 5.
        for ttl in [30, 45, 50] {
            assert!(!ttl_passes(ttl), "a TTL of {ttl} s");
        }
        // Past 60 s, the read at 60 s hits a copy that is 60 s old.
        for ttl in [61, 70] {
            assert!(!ttl_passes(ttl), "a TTL of {ttl} s");
        }
    }

    const READS: &str = "[check]\nlab = \"cache\"\nreads = 10\nhits = 7";

    fn read(id: u32, outcome: Option<&str>) -> Value {
        let events = match outcome {
            Some(outcome) => json!([{"kind": "cache.lookup", "fields": {"outcome": outcome}}]),
            None => json!([]),
        };
        json!({"method": "GET", "path": format!("/labs/cache/products/{id}"), "status": 200, "events": events})
    }

    fn reads_pass(requests: Vec<Value>) -> bool {
        judge(READS, json!({ "requests": requests }))
            .iter()
            .all(|c| c.passed)
    }

    #[test]
    fn seven_hits_in_the_last_ten_reads_pass() {
        let mut requests: Vec<Value> = (1..=3).map(|id| read(id, Some("miss"))).collect();
        requests.extend((0..7).map(|i| read(1 + i % 3, Some("hit"))));
        assert!(reads_pass(requests.clone()));
        // Older reads, and requests that are not reads, do not count.
        let mut more = vec![read(9, Some("miss")), read(9, Some("hit"))];
        more.extend(requests);
        more.push(json!({"method": "GET", "path": "/labs/cache/stats", "status": 200}));
        assert!(reads_pass(more));
    }

    #[test]
    fn other_mixes_of_hits_and_misses_fail() {
        assert!(!reads_pass(Vec::new()), "nothing read yet");
        let one_product: Vec<Value> = std::iter::once(read(42, Some("miss")))
            .chain((0..9).map(|_| read(42, Some("hit"))))
            .collect();
        assert!(!reads_pass(one_product), "9 hits");
        let mut bypassed: Vec<Value> = (0..3).map(|_| read(42, None)).collect();
        bypassed.extend((0..6).map(|_| read(42, Some("hit"))));
        bypassed.push(read(42, Some("expired")));
        assert!(
            !reads_pass(bypassed),
            "6 hits: BYPASS and expired are not hits"
        );
        let short: Vec<Value> = (0..7).map(|_| read(42, Some("hit"))).collect();
        assert!(!reads_pass(short), "7 reads only");
    }

    #[test]
    fn checks_are_one_kind_or_the_other() {
        assert!(load("[check]\nlab = \"cache\"", 1).is_err());
        assert!(load(
            "[check]\nlab = \"cache\"\npattern = \"nope\"\nmax_stale_reads = 0",
            1
        )
        .is_err());
        assert!(load("[check]\nlab = \"cache\"\nstampede = 20", 1).is_ok());
        assert!(load("[check]\nlab = \"cache\"\nreads = 10\nhits = 7", 1).is_ok());
        assert!(load("[check]\nlab = \"cache\"\nreads = 10\nhits = 10", 1).is_err());
        assert!(load("[check]\nlab = \"cache\"\nreads = 10", 1).is_err());
        assert!(load(
            "[check]\nlab = \"cache\"\nreads = 10\nhits = 7\nstampede = 20",
            1
        )
        .is_err());
    }
}
