//! The parts of a shared page that belong to its reader. The course home
//! and lesson pages are rendered once, for a reader the server does not
//! know, and served from memory to everyone; the server then fills these
//! slots for the reader at hand. Marking the slots and rendering what goes
//! in them use the pages' own components (`pages::reader_parts`), so the
//! markup is written once.
//!
//! Two kinds of slot:
//! - an element slot, `<reader-slot data-slot="NAME">…</reader-slot>`,
//!   outside any island (the header's account links, a module's deadlines):
//!   its whole content is replaced;
//! - a text slot, an element with `data-reader-text="NAME"` whose content
//!   is text: only that text is replaced, so an island around it hydrates
//!   the same nodes (an exercise card's status line).

/// The element that wraps an element slot (styled `display: contents`).
pub const SLOT_TAG: &str = "reader-slot";

/// The slot holding the header's site and account links.
pub const ACCOUNT_SLOT: &str = "account";

/// The name of the slot holding `module`'s deadlines.
pub fn due_slot(module: &str) -> String {
    format!("due:{module}")
}

/// The name of the text slot holding an exercise card's status line.
pub fn exercise_slot(id: &str, points: u32) -> String {
    format!("exercise:{id}:{points}")
}

/// What a slot's name says, parsed back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotName<'a> {
    /// The header's links.
    Account,
    /// A module's deadlines.
    Due(&'a str),
    /// An exercise's status line, with the exercise's points.
    Exercise {
        /// The exercise id.
        id: &'a str,
        /// The points it is worth.
        points: u32,
    },
}

impl<'a> SlotName<'a> {
    /// Reads a slot name; `None` for one this version does not make.
    pub fn parse(name: &'a str) -> Option<Self> {
        if name == ACCOUNT_SLOT {
            return Some(Self::Account);
        }
        if let Some(module) = name.strip_prefix("due:") {
            return Some(Self::Due(module));
        }
        let (id, points) = name.strip_prefix("exercise:")?.rsplit_once(':')?;
        Some(Self::Exercise {
            id,
            points: points.parse().ok()?,
        })
    }
}

/// A page cut at its slots: shared text, and slots with the content the
/// shared render gave them (what a reader with nothing of their own sees).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Bytes the same for every reader.
    Shared(String),
    /// A slot: its name and its shared content.
    Slot {
        /// The slot's name (see [`SlotName::parse`]).
        name: String,
        /// Its content in the shared render.
        shared: String,
    },
}

/// Cuts a rendered page at its slots. Text outside slots comes back
/// unchanged, so joining the pieces' shared content gives the page.
pub fn cut(page: &str) -> Vec<Piece> {
    let element_open = format!("<{SLOT_TAG} data-slot=\"");
    let element_close = format!("</{SLOT_TAG}>");
    let text_open = "data-reader-text=\"";
    let mut pieces = Vec::new();
    let mut rest = page;
    loop {
        let next = [
            rest.find(&element_open).map(|at| (at, true)),
            rest.find(text_open).map(|at| (at, false)),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some((at, element)) = next else { break };
        let open_len = if element {
            element_open.len()
        } else {
            text_open.len()
        };
        let after_marker = &rest[at + open_len..];
        let Some(name_end) = after_marker.find('"') else {
            break;
        };
        let name = &after_marker[..name_end];
        let Some(tag_end) = after_marker[name_end..].find('>') else {
            break;
        };
        let content_start = at + open_len + name_end + tag_end + 1;
        let content = &rest[content_start..];
        let content_len = if element {
            content.find(&element_close)
        } else {
            content.find('<')
        };
        let Some(content_len) = content_len else {
            break;
        };
        pieces.push(Piece::Shared(rest[..content_start].to_string()));
        pieces.push(Piece::Slot {
            name: name.to_string(),
            shared: content[..content_len].to_string(),
        });
        rest = &content[content_len..];
    }
    pieces.push(Piece::Shared(rest.to_string()));
    pieces
}

/// The status line of an exercise card (the enhancer writes the same
/// line after each attempt).
pub fn exercise_status(mark: &crate::model::ExerciseMark, points: u32) -> String {
    enhance::text::exercise_status(mark.attempts, mark.best_score, mark.passed, points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(pieces: &[Piece]) -> String {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Shared(text) => text.as_str(),
                Piece::Slot { shared, .. } => shared.as_str(),
            })
            .collect()
    }

    #[test]
    fn a_page_is_cut_at_its_element_and_text_slots_and_joins_back_unchanged() {
        let page = r#"<header><reader-slot data-slot="account"><a href="/signin">Sign in</a></reader-slot></header><p class="s" data-reader-text="exercise:x:3">Not attempted yet.<!></p><reader-slot data-slot="due:http"></reader-slot>end"#;
        let pieces = cut(page);
        assert_eq!(shared(&pieces), page);
        let slots: Vec<_> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Slot { name, shared } => Some((name.as_str(), shared.as_str())),
                Piece::Shared(_) => None,
            })
            .collect();
        assert_eq!(
            slots,
            [
                ("account", r#"<a href="/signin">Sign in</a>"#),
                ("exercise:x:3", "Not attempted yet."),
                ("due:http", ""),
            ]
        );
        assert_eq!(
            SlotName::parse("exercise:x:3"),
            Some(SlotName::Exercise { id: "x", points: 3 })
        );
        assert_eq!(SlotName::parse("due:http"), Some(SlotName::Due("http")));
        assert_eq!(SlotName::parse("exercise:x"), None);
    }

    #[test]
    fn a_page_without_slots_is_one_shared_piece() {
        assert_eq!(cut("<p>hi</p>"), [Piece::Shared("<p>hi</p>".into())]);
    }

    #[test]
    fn the_status_line_says_how_the_exercise_went() {
        use crate::model::ExerciseMark;
        let mark = |attempts, best_score, passed| ExerciseMark {
            attempts,
            best_score,
            passed,
        };
        assert_eq!(
            exercise_status(&mark(0, None, false), 3),
            "Not attempted yet."
        );
        assert_eq!(
            exercise_status(&mark(1, Some(3), true), 3),
            "Done: 3 of 3 points, in 1 attempt."
        );
        assert_eq!(
            exercise_status(&mark(2, Some(1), false), 3),
            "Best so far: 1 of 3 points after 2 attempts."
        );
    }
}
