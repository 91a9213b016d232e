//! The API lab's `lab` checks (see [`crate::grading::lab`]): what the
//! student's own shop shows about the answers the fault switch lost.
//!
//! ```toml
//! [check]
//! lab = "api"
//! safe_retry = true   # an order whose answer was lost, retried with its key: one order
//! ```
//!
//! In the browser the answer is assembled from the shop
//! ([`lost_answers`]); the CLI and the API take it as
//! `{"lost_answers": [{"order_id", "keyed", "replayed", "duplicates"}]}`.

use futures_util::future::{BoxFuture, FutureExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::shop::{in_shop, integer, query};
use crate::error::ApiError;
use crate::grading::{
    check_line, parse_check, AnswerError, AnswerSource, CheckOutcome, Checker, GradeContext,
};
use crate::labs::Labs;
use crate::students::StudentId;
use model::ExerciseInput;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code)]
    lab: String,
    safe_retry: bool,
}

pub(super) fn load(
    front_matter: &str,
    first_line: usize,
) -> Result<Box<dyn Checker>, (usize, String)> {
    let spec: Spec = parse_check(front_matter, first_line)?;
    if !spec.safe_retry {
        return Err((
            check_line(front_matter, first_line),
            "[check]: an api lab check is `safe_retry = true`".into(),
        ));
    }
    Ok(Box::new(spec))
}

/// One order whose answer the fault switch dropped, and what followed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct LostAnswer {
    /// The order that was written.
    order_id: i64,
    /// Whether its request carried an `Idempotency-Key`.
    keyed: bool,
    /// Whether a retry with that key got the stored answer back.
    replayed: bool,
    /// Orders written after it with the same customer and lines: retries
    /// that created the order again.
    duplicates: i64,
}

impl LostAnswer {
    fn safely_retried(&self) -> bool {
        self.keyed && self.replayed && self.duplicates == 0
    }

    fn describe(&self) -> String {
        let id = self.order_id;
        match (self.keyed, self.replayed, self.duplicates) {
            (_, _, n) if n > 0 => format!(
                "order {id}'s answer was lost, and {n} more order{} with the same lines followed it",
                if n == 1 { "" } else { "s" }
            ),
            (false, _, _) => format!("order {id}'s answer was lost; its request had no Idempotency-Key"),
            (true, false, _) => format!("order {id}'s answer was lost; it was not retried with its key yet"),
            (true, true, _) => format!("order {id}'s answer was lost, and the retry with its key got it back"),
        }
    }
}

/// Every lost answer in `student`'s shop, newest first, as the check reads
/// them.
pub(super) async fn lost_answers(labs: &Labs, student: &StudentId) -> Result<Value, ApiError> {
    let lost = in_shop(labs, student, |db| {
        let found = query(db, LOST_ANSWERS, &[])?;
        found
            .rows
            .iter()
            .map(|row| {
                Ok(LostAnswer {
                    order_id: integer(row, 0)?,
                    keyed: integer(row, 1)? != 0,
                    replayed: integer(row, 2)? != 0,
                    duplicates: integer(row, 3)?,
                })
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    Ok(serde_json::to_value(lost).unwrap_or_default())
}

/// For each lost answer: was its request keyed, was the key replayed, and
/// how many later orders repeat its customer and lines exactly.
const LOST_ANSWERS: &str = "
WITH lines AS (
    SELECT order_id, group_concat(product_id || 'x' || quantity, ',') AS items
    FROM (SELECT order_id, product_id, quantity FROM order_items
          WHERE order_id >= (SELECT min(order_id) FROM api_lost_responses)
          ORDER BY order_id, product_id, quantity)
    GROUP BY order_id
)
SELECT lost.order_id,
       EXISTS (SELECT 1 FROM api_idempotency_keys k WHERE k.order_id = lost.order_id),
       EXISTS (SELECT 1 FROM api_replays r WHERE r.order_id = lost.order_id),
       (SELECT count(*) FROM orders later
          JOIN lines later_lines ON later_lines.order_id = later.id
        WHERE later.id > lost.order_id
          AND later.customer_id = first.customer_id
          AND later_lines.items = first_lines.items)
FROM api_lost_responses lost
JOIN orders first ON first.id = lost.order_id
JOIN lines first_lines ON first_lines.order_id = first.id
ORDER BY lost.lost_at DESC, lost.order_id DESC
LIMIT 20";

impl Spec {
    fn judge(&self, answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
        let lost: Vec<LostAnswer> = match answer.get("lost_answers") {
            None | Some(Value::Null) => Vec::new(),
            Some(list) => serde_json::from_value(list.clone()).map_err(|e| {
                AnswerError(format!("`lost_answers` is not a list of lost answers: {e}"))
            })?,
        };
        let safe = lost.iter().find(|l| l.safely_retried());
        let observed = match (safe, lost.first()) {
            (Some(safe), _) => safe.describe(),
            (None, Some(latest)) => latest.describe(),
            (None, None) => {
                "no answer has been lost yet: turn lose_responses on and create an order".into()
            }
        };
        Ok(vec![CheckOutcome::new(
            "an order whose answer was lost, retried with its Idempotency-Key, exists once",
            safe.is_some(),
        )
        .expected("a lost answer, replayed to a retry with the same key, and no second order")
        .observed(observed)])
    }
}

impl Checker for Spec {
    fn answer_source(&self) -> AnswerSource<'_> {
        AnswerSource::LabSettings("api")
    }

    fn public_input(&self) -> ExerciseInput {
        ExerciseInput::LabRequests {
            target: "the orders in your shop".into(),
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

    fn passes(answer: Value) -> bool {
        let spec: Spec = parse_check("[check]\nlab = \"api\"\nsafe_retry = true", 1).unwrap();
        spec.judge(&answer).unwrap().iter().all(|c| c.passed)
    }

    fn lost(keyed: bool, replayed: bool, duplicates: i64) -> Value {
        json!({"order_id": 7, "keyed": keyed, "replayed": replayed, "duplicates": duplicates})
    }

    #[test]
    fn only_a_keyed_replayed_retry_without_a_second_order_passes() {
        assert!(!passes(json!({})));
        assert!(!passes(json!({"lost_answers": [lost(false, false, 1)]})));
        assert!(!passes(json!({"lost_answers": [lost(true, false, 0)]})));
        assert!(!passes(json!({"lost_answers": [lost(true, true, 1)]})));
        assert!(passes(json!({"lost_answers": [lost(true, true, 0)]})));
        assert!(passes(
            json!({"lost_answers": [lost(false, false, 1), lost(true, true, 0)]})
        ));
    }

    #[test]
    fn the_check_must_ask_for_something() {
        assert!(load("[check]\nlab = \"api\"\nsafe_retry = false", 1).is_err());
        assert!(load("[check]\nlab = \"api\"", 1).is_err());
        assert!(load("[check]\nlab = \"api\"\nsafe_retry = true", 1).is_ok());
    }
}
