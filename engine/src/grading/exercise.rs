//! Exercise files: `exercises/<id>.md`, loaded and validated with the lessons.
//!
//! ```text
//! +++
//! id = "http-verbs-read"            # the file name without .md
//! title = "Which method reads?"
//! kind = "quiz"                     # a kind the course's Kinds lists
//! points = 2
//! lesson = "http/status-codes-and-verbs"
//! [check]                           # what the kind needs, reference answers included
//! ...
//! +++
//! The prompt, in markdown.
//!
//! ## Hint
//! The first hint, revealed on request.
//!
//! ## Hint
//! The second.
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::{ExerciseView, LessonBlock};
use serde::Deserialize;

use super::{Checker, Kinds};
use crate::markup::{
    front_matter_parse, front_matter_split, render_markdown, AuthoringError, Embeds,
};

/// The fields every exercise has, whatever its kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExerciseMeta {
    id: String,
    title: String,
    kind: String,
    points: u32,
    lesson: String,
    /// What the course lint should accept here, because the author meant it.
    #[serde(default)]
    lint_allow: Vec<LintAllowance>,
    /// Read by the kind; only its presence matters here.
    check: toml::Value,
}

/// A finding of the course lint (`workbench check`) that an exercise's
/// author declares intended, in `lint_allow = [...]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LintAllowance {
    /// The check passes for a student who has done nothing yet: the lab's
    /// default settings, no recorded requests.
    PassesUntouched,
    /// An `sql` reference gives the same rows on the course dataset and
    /// the hidden one, so it cannot tell a query from a copied result.
    SameRowsOnHidden,
}

/// A loaded exercise. The checker holds the reference answers; only
/// [`Exercise::view`] goes to the browser.
#[derive(Debug)]
pub struct Exercise {
    /// The id, equal to the file name without `.md`.
    pub id: String,
    /// The title.
    pub title: String,
    /// The kind's name.
    pub kind: &'static str,
    /// Points for a full answer.
    pub points: u32,
    /// The lesson it belongs to, as `module/slug`.
    pub lesson: String,
    /// The prompt as HTML.
    pub prompt_html: String,
    /// Hints as HTML, in the order they are revealed.
    pub hints: Vec<String>,
    /// The kind's validated check, reference answers included.
    pub checker: Box<dyn Checker>,
    /// Where it was loaded from, and the line of its `lesson =` field.
    pub source: (PathBuf, usize),
    /// Lint findings its author declared intended.
    pub lint_allow: Vec<LintAllowance>,
    /// The prompt's words, for search.
    pub prompt_text: String,
}

impl Exercise {
    /// What the browser may see.
    pub fn view(&self) -> ExerciseView {
        ExerciseView {
            id: self.id.clone(),
            title: self.title.clone(),
            points: self.points,
            prompt_html: self.prompt_html.clone(),
            input: self.checker.public_input(),
            hint_count: self.hints.len() as u32,
        }
    }
}

/// Every exercise of a course, by id.
#[derive(Debug, Default)]
pub struct Exercises(BTreeMap<String, Arc<Exercise>>);

impl Exercises {
    /// One exercise.
    pub fn get(&self, id: &str) -> Option<Arc<Exercise>> {
        self.0.get(id).cloned()
    }

    /// All exercises, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Exercise>> {
        self.0.values()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Loads `dir/*.md` (except `README.md`), adding every authoring error to `errors`.
    pub(crate) fn load(
        dir: &Path,
        kinds: &Kinds,
        shown: &dyn Fn(&Path) -> PathBuf,
        errors: &mut Vec<AuthoringError>,
    ) -> Self {
        let mut exercises = BTreeMap::new();
        let Ok(listing) = std::fs::read_dir(dir) else {
            return Self(exercises);
        };
        let mut paths: Vec<PathBuf> = listing
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.eq_ignore_ascii_case("README.md"))
            })
            .collect();
        paths.sort();
        for path in paths {
            let mut report = |line: usize, message: String| {
                errors.push(AuthoringError::new(shown(&path), line, message));
            };
            match load_one(&path, kinds) {
                Ok(exercise) => {
                    if let Some(first) = exercises.get(&exercise.id) {
                        let first: &Arc<Exercise> = first;
                        report(
                            2,
                            format!(
                                "duplicate exercise id `{}`: {} has it too",
                                exercise.id,
                                shown(&first.source.0).display()
                            ),
                        );
                    } else {
                        exercises.insert(exercise.id.clone(), Arc::new(exercise));
                    }
                }
                Err(problems) => {
                    for (line, message) in problems {
                        report(line, message);
                    }
                }
            }
        }
        Self(exercises)
    }
}

fn load_one(path: &Path, kinds: &Kinds) -> Result<Exercise, Problems> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![(1, format!("cannot read: {e}"))])?;
    let split = front_matter_split(&text).map_err(|e| vec![e])?;
    let meta: ExerciseMeta =
        front_matter_parse(split.front, split.front_line).map_err(|e| vec![e])?;
    let line_of = |field: &str| {
        split.front_line
            + split
                .front
                .lines()
                .position(|l| l.trim_start().starts_with(field))
                .unwrap_or(0)
    };
    let mut problems = Vec::new();
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if meta.id != stem {
        problems.push((
            line_of("id"),
            format!(
                "`id` is {:?} but the file is {stem}.md; they must match",
                meta.id
            ),
        ));
    }
    if !meta
        .id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || meta.id.is_empty()
    {
        problems.push((
            line_of("id"),
            "`id` may hold only lowercase letters, digits and dashes".into(),
        ));
    }
    if meta.title.trim().is_empty() {
        problems.push((line_of("title"), "`title` must not be empty".into()));
    }
    if meta.points == 0 {
        problems.push((line_of("points"), "`points` must be at least 1".into()));
    }
    if !meta.check.is_table() {
        problems.push((
            line_of("check"),
            "`check` must be a table: `[check]`".into(),
        ));
    }
    let Some(kind) = kinds.get(&meta.kind) else {
        let names = kinds.names();
        problems.push((
            line_of("kind"),
            format!(
                "unknown kind `{}`: kinds are {}",
                meta.kind,
                names.join(", ")
            ),
        ));
        return Err(problems);
    };
    let checker = kind.load(split.front, split.front_line).map_err(|e| {
        let mut all = problems.clone();
        all.push(e);
        all
    })?;
    let (prompt_html, hints, prompt_text) =
        render_body(split.body, split.body_line).map_err(|mut e| {
            e.extend(problems.clone());
            e
        })?;
    if !problems.is_empty() {
        return Err(problems);
    }
    if prompt_html.trim().is_empty() {
        return Err(vec![(
            split.body_line,
            "the exercise has no prompt: write it after the front matter".into(),
        )]);
    }
    Ok(Exercise {
        id: meta.id,
        title: meta.title,
        kind: kind.name(),
        points: meta.points,
        lesson: meta.lesson,
        prompt_html,
        hints,
        checker,
        source: (path.to_path_buf(), line_of("lesson")),
        lint_allow: meta.lint_allow,
        prompt_text,
    })
}

/// Whether a line opens a hint: `## Hint`, optionally with more words.
fn is_hint_heading(line: &str) -> bool {
    line.trim_end()
        .strip_prefix("## ")
        .is_some_and(|rest| rest.trim().to_ascii_lowercase().starts_with("hint"))
}

/// Authoring problems as `(line, message)`.
type Problems = Vec<(usize, String)>;

/// The prompt and hints as HTML.
/// The prompt's HTML, each hint's HTML, and the prompt's words (for search).
fn render_body(body: &str, first_line: usize) -> Result<(String, Vec<String>, String), Problems> {
    let mut parts: Vec<(usize, String)> = vec![(first_line, String::new())];
    for (offset, line) in body.split_inclusive('\n').enumerate() {
        if is_hint_heading(line) {
            parts.push((first_line + offset + 1, String::new()));
        } else if let Some((_, text)) = parts.last_mut() {
            text.push_str(line);
        }
    }
    let mut rendered = Vec::new();
    let mut errors = Vec::new();
    let mut prompt_words = None;
    for (line, text) in &parts {
        match render_markdown(text, *line, Embeds::NONE) {
            Ok(body) => {
                prompt_words.get_or_insert_with(|| {
                    let words: Vec<&str> = body.sections.iter().map(|s| s.text.as_str()).collect();
                    words.join(" ")
                });
                let mut html = String::new();
                for block in body.blocks {
                    match block {
                        LessonBlock::Html(part) => html.push_str(&part),
                        _ => errors.push((
                            *line,
                            "an exercise prompt or hint cannot hold a widget".to_string(),
                        )),
                    }
                }
                rendered.push(html);
            }
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let prompt = rendered.remove(0);
    Ok((prompt, rendered, prompt_words.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_headings_split_the_body() {
        let (prompt, hints, _) = render_body(
            "Pick one.\n\n## Hint\nThink of reads.\n\n## Hint 2\nGET.\n",
            10,
        )
        .unwrap();
        assert!(prompt.contains("Pick one."));
        assert_eq!(hints.len(), 2);
        assert!(hints[1].contains("GET."));
        assert!(!is_hint_heading("### Hint"));
    }
}
