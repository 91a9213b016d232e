//! SQL highlighting: a small tokenizer, so no editor library ships in the
//! browser bundle. The server highlights a query's first render with it;
//! the browser, each edit.
//!
//! An editor is a plain `<textarea>` laid exactly over a highlighted
//! `<pre>`: the browser keeps everything a text field does (selection,
//! undo, screen readers, mobile keyboards).

/// What a piece of SQL text is, for colouring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// A reserved word such as SELECT.
    Keyword,
    /// A function name followed by `(`.
    Function,
    /// A string literal.
    Text,
    /// A numeric literal.
    Number,
    /// A comment.
    Comment,
    /// Anything else: names, punctuation, spaces.
    Plain,
}

const KEYWORDS: [&str; 72] = [
    "ALL",
    "ALTER",
    "AND",
    "AS",
    "ASC",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CASE",
    "CHECK",
    "COMMIT",
    "CREATE",
    "CROSS",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DISTINCT",
    "DROP",
    "ELSE",
    "END",
    "EXCEPT",
    "EXISTS",
    "EXPLAIN",
    "FOREIGN",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "IF",
    "IMMEDIATE",
    "IN",
    "INDEX",
    "INNER",
    "INSERT",
    "INTERSECT",
    "INTO",
    "IS",
    "JOIN",
    "KEY",
    "LEFT",
    "LIKE",
    "LIMIT",
    "NOT",
    "NULL",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "PARTITION",
    "PLAN",
    "PRIMARY",
    "QUERY",
    "RECURSIVE",
    "REFERENCES",
    "RIGHT",
    "ROLLBACK",
    "SELECT",
    "SET",
    "TABLE",
    "THEN",
    "TRANSACTION",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VALUES",
    "VIEW",
    "WHEN",
    "WHERE",
    "WITH",
];

/// Splits `sql` into coloured pieces that join back to exactly `sql`.
pub fn tokenize(sql: &str) -> Vec<(Token, &str)> {
    let bytes = sql.as_bytes();
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &sql[at..];
        let (token, length) = if rest.starts_with("--") {
            (Token::Comment, rest.find('\n').unwrap_or(rest.len()))
        } else if rest.starts_with("/*") {
            (
                Token::Comment,
                rest.find("*/").map_or(rest.len(), |i| i + 2),
            )
        } else if rest.starts_with('\'') {
            (Token::Text, quoted_length(rest, '\''))
        } else if rest.starts_with('"') || rest.starts_with('`') {
            let quote = rest.chars().next().unwrap_or('"');
            (Token::Plain, quoted_length(rest, quote))
        } else if bytes[at].is_ascii_digit() {
            let length = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
                .unwrap_or(rest.len());
            (Token::Number, length)
        } else if bytes[at].is_ascii_alphabetic() || bytes[at] == b'_' {
            let length = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let word = &rest[..length];
            let token = if KEYWORDS.contains(&word.to_ascii_uppercase().as_str()) {
                Token::Keyword
            } else if rest[length..].starts_with('(') {
                Token::Function
            } else {
                Token::Plain
            };
            (token, length)
        } else {
            (Token::Plain, rest.chars().next().map_or(1, char::len_utf8))
        };
        pieces.push((token, &rest[..length.max(1).min(rest.len())]));
        at += length.max(1).min(rest.len());
    }
    pieces
}

/// Length of a quoted piece, doubled quotes included, up to its closing quote.
fn quoted_length(text: &str, quote: char) -> usize {
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            if chars.peek().map(|(_, n)| *n) == Some(quote) {
                chars.next();
            } else {
                return i + 1;
            }
        }
    }
    text.len()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `sql` as HTML spans with one class per token kind.
pub fn highlight_html(sql: &str) -> String {
    let mut html = String::with_capacity(sql.len() * 2);
    for (token, text) in tokenize(sql) {
        let class = match token {
            Token::Keyword => "sql-k",
            Token::Function => "sql-f",
            Token::Text => "sql-s",
            Token::Number => "sql-n",
            Token::Comment => "sql-c",
            Token::Plain => {
                html.push_str(&escape(text));
                continue;
            }
        };
        html.push_str("<span class=\"");
        html.push_str(class);
        html.push_str("\">");
        html.push_str(&escape(text));
        html.push_str("</span>");
    }
    // A trailing newline needs a character after it to take up a line.
    html.push(' ');
    html
}

/// The class a query plan's step is shown with: a full scan, a search
/// through an index, or neither.
pub fn plan_step_class(detail: &str) -> &'static str {
    if detail.starts_with("SCAN") && !detail.contains("COVERING INDEX") {
        "plan-step plan-scan"
    } else if detail.contains("USING INDEX") || detail.contains("COVERING INDEX") {
        "plan-step plan-search"
    } else {
        "plan-step"
    }
}

/// The heading of a failed statement's message, from the SQL lab's error
/// `kind` (`timeout`, `refused`, ...).
pub fn error_kind_label(kind: &str) -> &'static str {
    match kind {
        "timeout" => "Stopped",
        "refused" => "Refused",
        "full" => "Sandbox full",
        _ => "Error",
    }
}

/// Keeps a server-rendered editor's highlighting and height in step with
/// its text (the exercise card's query field).
#[cfg(feature = "entry")]
pub(crate) fn wake_editor(editor: web_sys::Element) {
    let (Some(input), Some(code)) = (
        crate::dom::find(&editor, "textarea"),
        crate::dom::find(&editor, ".sql-highlight code"),
    ) else {
        return;
    };
    crate::dom::on(&input.clone(), "input", move |_| {
        let text = crate::dom::value(&input);
        code.set_inner_html(&highlight_html(&text));
        let _ = input.set_attribute("rows", &crate::text::integer(line_count(&text) as u64));
    });
}

/// The rows an editor needs to show `text` whole.
pub fn line_count(text: &str) -> usize {
    text.lines().count().max(1) + usize::from(text.ends_with('\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_join_back_to_the_text() {
        let sql = "SELECT name, count(*) AS n -- how many\nFROM \"order items\" WHERE note = 'it''s' AND id > 10.5;";
        let pieces = tokenize(sql);
        assert_eq!(pieces.iter().map(|(_, t)| *t).collect::<String>(), sql);
        assert!(pieces.contains(&(Token::Keyword, "SELECT")));
        assert!(pieces.contains(&(Token::Function, "count")));
        assert!(pieces.contains(&(Token::Comment, "-- how many")));
        assert!(pieces.contains(&(Token::Text, "'it''s'")));
        assert!(pieces.contains(&(Token::Number, "10.5")));
        assert!(pieces.contains(&(Token::Plain, "\"order items\"")));
    }

    #[test]
    fn plan_steps_and_errors_are_labelled_by_what_they_are() {
        assert_eq!(plan_step_class("SCAN orders"), "plan-step plan-scan");
        assert_eq!(
            plan_step_class("SCAN orders USING COVERING INDEX idx"),
            "plan-step plan-search"
        );
        assert_eq!(
            plan_step_class("SEARCH orders USING INDEX idx (customer_id=?)"),
            "plan-step plan-search"
        );
        assert_eq!(plan_step_class("USE TEMP B-TREE FOR ORDER BY"), "plan-step");
        assert_eq!(error_kind_label("timeout"), "Stopped");
        assert_eq!(error_kind_label("full"), "Sandbox full");
        assert_eq!(error_kind_label(""), "Error");
    }

    #[test]
    fn highlighting_escapes_html_and_handles_unclosed_pieces() {
        let html = highlight_html("SELECT '<b>");
        assert!(html.contains("&lt;b&gt;"));
        assert!(!html.contains("<b>"));
        assert_eq!(tokenize("/* open").len(), 1);
        assert_eq!(tokenize("é").len(), 1);
    }
}
