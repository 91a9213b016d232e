//! A small JSONPath-like selector for exercise checks: `$` is the whole
//! document, `.name` a field, `[2]` an array element, `["odd name"]` a field
//! whose name is not a plain word. `$.items[0].id` picks the first item's id.

use serde_json::Value;

/// One step of a selector.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Field(String),
    Index(usize),
}

/// A parsed selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Selector {
    text: String,
    steps: Vec<Step>,
}

impl Selector {
    /// Parses `text`, or says what is wrong with it.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let rest = text
            .strip_prefix('$')
            .ok_or_else(|| format!("selector {text:?} must start with `$`"))?;
        let mut steps = Vec::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '.' => {
                    let mut name = String::new();
                    while let Some((_, c)) = chars.peek() {
                        if *c == '.' || *c == '[' {
                            break;
                        }
                        name.push(*c);
                        chars.next();
                    }
                    if name.is_empty() {
                        return Err(format!(
                            "selector {text:?}: a `.` at {} names no field",
                            at + 1
                        ));
                    }
                    steps.push(Step::Field(name));
                }
                '[' => {
                    let close = rest[at..]
                        .find(']')
                        .map(|i| at + i)
                        .ok_or_else(|| format!("selector {text:?}: `[` is never closed"))?;
                    let inner = &rest[at + 1..close];
                    let step = if let Some(quoted) =
                        inner.strip_prefix('"').and_then(|s| s.strip_suffix('"'))
                    {
                        Step::Field(quoted.to_string())
                    } else {
                        Step::Index(inner.parse().map_err(|_| {
                            format!("selector {text:?}: `[{inner}]` is neither an index nor a quoted name")
                        })?)
                    };
                    steps.push(step);
                    while chars.peek().is_some_and(|(i, _)| *i <= close) {
                        chars.next();
                    }
                }
                other => {
                    return Err(format!(
                        "selector {text:?}: unexpected {other:?} at {}; use `.name` or `[index]`",
                        at + 1
                    ))
                }
            }
        }
        Ok(Self {
            text: text.to_string(),
            steps,
        })
    }

    /// The value the selector points at, if there is one.
    pub(crate) fn select<'a>(&self, document: &'a Value) -> Option<&'a Value> {
        self.steps
            .iter()
            .try_fold(document, |value, step| match step {
                Step::Field(name) => value.get(name),
                Step::Index(index) => value.get(*index),
            })
    }

    /// The selector as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_walk_fields_and_indexes() {
        let doc = json!({"items": [{"id": 7, "odd key": true}], "status": "ok"});
        let pick = |s: &str| Selector::parse(s).unwrap().select(&doc).cloned();
        assert_eq!(pick("$"), Some(doc.clone()));
        assert_eq!(pick("$.status"), Some(json!("ok")));
        assert_eq!(pick("$.items[0].id"), Some(json!(7)));
        assert_eq!(pick("$.items[0][\"odd key\"]"), Some(json!(true)));
        assert_eq!(pick("$.items[1]"), None);
        assert_eq!(pick("$.missing.deeper"), None);
    }

    #[test]
    fn malformed_selectors_say_what_is_wrong() {
        assert!(Selector::parse("status")
            .unwrap_err()
            .contains("start with `$`"));
        assert!(Selector::parse("$.")
            .unwrap_err()
            .contains("names no field"));
        assert!(Selector::parse("$.items[x]").unwrap_err().contains("index"));
        assert!(Selector::parse("$.items[0")
            .unwrap_err()
            .contains("never closed"));
        assert!(Selector::parse("$items").is_err());
    }
}
