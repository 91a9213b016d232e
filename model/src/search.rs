//! Course search: what `/search` shows and `GET /api/search` answers.

use serde::{Deserialize, Serialize};

/// The hits for one query, best first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// The query as searched (trimmed, cut to the longest query searched).
    pub query: String,
    /// The best hits, at most as many as were asked for.
    pub hits: Vec<SearchHit>,
    /// How many places matched, shown or not.
    pub total: usize,
    /// Words of the query that matched nothing, even with a typo allowed.
    pub unmatched: Vec<String>,
}

/// One place in the course that matches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// A whole lesson, one of its sections, or an exercise.
    pub kind: SearchHitKind,
    /// The lesson's title, the section's heading or the exercise's title.
    pub title: String,
    /// Where it is: the module for a lesson, the lesson for a section or an exercise.
    pub context: String,
    /// The link: the lesson, or the section or exercise card in it.
    pub href: String,
    /// Words around the first match, with the matching words marked.
    pub snippet: Vec<SnippetPart>,
}

/// What a hit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchHitKind {
    /// A lesson, by its title, summary, objectives or opening text.
    Lesson,
    /// A section of a lesson.
    Section,
    /// An exercise.
    Exercise,
}

impl SearchHitKind {
    /// The word a reader sees beside the hit.
    pub fn label(self) -> &'static str {
        match self {
            Self::Lesson => "Lesson",
            Self::Section => "Section",
            Self::Exercise => "Exercise",
        }
    }
}

/// A run of snippet text; `hit` runs are the words that matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetPart {
    /// The text.
    pub text: String,
    /// Whether it matched the query.
    pub hit: bool,
}
