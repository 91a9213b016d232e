//! The cache lab's `lab` checks (see [`crate::grading::lab`]): the student's cache
//! settings replayed against a named traffic pattern on a virtual clock,
//! or against a stampede.
//!
//! ```toml
//! [check]
//! lab = "cache"
//! pattern = "catalog-with-price-changes"   # see labs::cache::replay::pattern
//! max_stale_reads = 0                      # optional
//! min_hit_ratio = 0.5                      # optional
//! max_age_secs = 60                        # optional: oldest copy served
//! # or: stampede = 50                      # n cold requests: one origin request
//! ```

use futures_util::future::{BoxFuture, FutureExt};
use serde::Deserialize;
use serde_json::Value;

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
}

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
    match (&spec.pattern, spec.stampede) {
        (Some(name), None) => {
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
        (None, Some(n)) if n > 1 => {}
        _ => {
            return Err(fail(
                "a cache lab check has either `pattern = \"...\"` or `stampede = n` (n > 1)",
            ))
        }
    }
    Ok(Box::new(spec))
}

impl Spec {
    fn judge(&self, answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
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
        AnswerSource::LabSettings("cache")
    }

    fn public_input(&self) -> ExerciseInput {
        ExerciseInput::LabRequests {
            target: "your cache lab settings".into(),
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

    #[test]
    fn the_ttl_must_meet_the_hit_ratio_without_serving_old_copies() {
        let check = "[check]\nlab = \"cache\"\npattern = \"steady-every-10s\"\nmin_hit_ratio = 0.8\nmax_age_secs = 59";
        let passes = |ttl: u32| {
            judge(check, json!({"settings": {"ttl_secs": ttl}}))
                .iter()
                .all(|c| c.passed)
        };
        assert!(!passes(30));
        assert!(passes(50));
        assert!(passes(60));
        assert!(!passes(70));
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
    }
}
