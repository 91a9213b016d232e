//! Syntax highlighting on the server, as CSS classes (`hl-*`), so the light and
//! dark themes colour code from the stylesheet and no highlighter ships to the browser.

use std::sync::LazyLock;

use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::{SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// Languages shown as plain text: no grammar, but not a typo either.
const PLAIN_LANGUAGES: [&str; 8] = [
    "text",
    "dockerfile",
    "plain",
    "console",
    "toml",
    "http-response",
    "ini",
    "csv",
];

/// How a fenced block's language will be shown.
pub(crate) enum Language {
    Highlighted(&'static SyntaxReference),
    Plain,
}

/// Finds the grammar for an info-string language, `None` for an unknown one.
pub(crate) fn language(token: &str) -> Option<Language> {
    if token.is_empty() || PLAIN_LANGUAGES.contains(&token) {
        return Some(Language::Plain);
    }
    SYNTAXES
        .find_syntax_by_token(token)
        .map(Language::Highlighted)
}

/// Renders a code block as `<pre><code>` with highlighting classes.
pub(crate) fn code_block(code: &str, token: &str, language: Language) -> String {
    let inner = match language {
        Language::Plain => escape_html(code),
        Language::Highlighted(syntax) => {
            highlighted(code, syntax).unwrap_or_else(|| escape_html(code))
        }
    };
    let label = if token.is_empty() {
        String::new()
    } else {
        format!(" data-lang=\"{}\"", escape_html(token))
    };
    // Focusable, because a long line scrolls sideways and keyboard users
    // must be able to scroll it too.
    format!("<pre class=\"code\" tabindex=\"0\"{label}><code>{inner}</code></pre>\n")
}

fn highlighted(code: &str, syntax: &SyntaxReference) -> Option<String> {
    let mut generator = ClassedHTMLGenerator::new_with_class_style(
        syntax,
        &SYNTAXES,
        ClassStyle::SpacedPrefixed { prefix: "hl-" },
    );
    for line in LinesWithEndings::from(code) {
        generator
            .parse_html_for_line_which_includes_newline(line)
            .ok()?;
    }
    Some(generator.finalize())
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_are_highlighted_with_classes() {
        let html = code_block("SELECT 1;\n", "sql", language("sql").unwrap());
        assert!(html.contains("class=\"hl-"), "{html}");
        assert!(html.contains("data-lang=\"sql\""));
    }

    #[test]
    fn plain_blocks_are_escaped() {
        let html = code_block("<b>&</b>\n", "text", language("text").unwrap());
        assert!(html.contains("&lt;b&gt;&amp;&lt;/b&gt;"), "{html}");
    }

    #[test]
    fn unknown_languages_are_not_found() {
        assert!(language("no-such-language").is_none());
    }
}
