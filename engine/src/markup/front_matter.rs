//! TOML front matter between `+++` lines, as Zola writes it.

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// What a lesson's front matter says.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LessonMeta {
    pub(crate) title: String,
    pub(crate) summary: String,
    #[serde(default)]
    pub(crate) objectives: Vec<String>,
    pub(crate) minutes: u32,
}

/// A markdown file cut into its front matter and its body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Split<'a> {
    pub(crate) front: &'a str,
    /// Line number of the front matter's first line.
    pub(crate) front_line: usize,
    pub(crate) body: &'a str,
    /// Line number of the body's first line.
    pub(crate) body_line: usize,
}

/// Cuts `text` at its `+++` fences; the error is `(line, message)`.
pub(crate) fn split(text: &str) -> Result<Split<'_>, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(after_open) = text
        .strip_prefix("+++\n")
        .or_else(|| text.strip_prefix("+++\r\n"))
    else {
        return Err((
            1,
            "a lesson starts with a `+++` line, then TOML front matter, then another `+++` line"
                .into(),
        ));
    };
    let mut offset = 0;
    for (index, line) in after_open.split_inclusive('\n').enumerate() {
        if line.trim_end() == "+++" {
            return Ok(Split {
                front: &after_open[..offset],
                front_line: 2,
                body: &after_open[offset + line.len()..],
                body_line: index + 3,
            });
        }
        offset += line.len();
    }
    Err((
        1,
        "the front matter is never closed: add a `+++` line after it".into(),
    ))
}

/// Parses TOML, reporting the error's line within the file.
pub(crate) fn parse<T: DeserializeOwned>(
    toml_text: &str,
    first_line: usize,
) -> Result<T, (usize, String)> {
    toml::from_str(toml_text).map_err(|e| {
        let line = e
            .span()
            .map(|span| toml_text[..span.start].matches('\n').count())
            .unwrap_or(0);
        (
            first_line + line,
            format!("front matter: {}", e.message().trim_end()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_finds_front_matter_and_body_lines() {
        let split = split("+++\ntitle = \"x\"\n+++\n\n# Body\n").unwrap();
        assert_eq!(split.front, "title = \"x\"\n");
        assert_eq!(split.front_line, 2);
        assert_eq!(split.body, "\n# Body\n");
        assert_eq!(split.body_line, 4);
    }

    #[test]
    fn a_file_without_an_opening_fence_is_an_error_on_line_one() {
        assert_eq!(split("title = 1\n").unwrap_err().0, 1);
    }

    #[test]
    fn an_unclosed_front_matter_is_an_error() {
        assert!(split("+++\ntitle = 1\n")
            .unwrap_err()
            .1
            .contains("never closed"));
    }

    #[test]
    fn toml_errors_point_at_the_line_in_the_file() {
        let text = "title = \"a\"\nsummary = \"b\"\nminutes = \"ten\"\n";
        let (line, message) = parse::<LessonMeta>(text, 2).unwrap_err();
        assert_eq!(line, 4);
        assert!(message.contains("invalid type"), "{message}");
    }

    #[test]
    fn unknown_front_matter_keys_are_refused() {
        let text = "title = \"a\"\nsummary = \"b\"\nminutes = 5\ntitel = \"typo\"\n";
        let (line, message) = parse::<LessonMeta>(text, 2).unwrap_err();
        assert_eq!(line, 5);
        assert!(message.contains("titel"), "{message}");
    }
}
