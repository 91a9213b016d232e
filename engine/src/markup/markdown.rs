//! Lesson markdown to lesson blocks. The pulldown-cmark options are built in
//! one place; each transform is a small named step over the event stream:
//! headings get anchors and feed the table of contents, fenced blocks become
//! highlighted code, callouts or live widgets.

use std::collections::HashSet;
use std::ops::Range;

use model::{LessonBlock, TocEntry};
use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::highlight::{self, escape_html};
use super::request_block;

/// Widgets a fenced block's info string may name.
const WIDGETS: [&str; 4] = ["http", "sql", "exercise", "widget"];
/// Callouts: fenced blocks whose content is markdown in a styled box.
const CALLOUTS: [(&str, &str); 3] = [("note", "Note"), ("tip", "Tip"), ("warning", "Warning")];
/// Ids the page frame already uses; headings must not take them.
const RESERVED_IDS: [&str; 2] = ["main", "top"];

/// The parser options every lesson is read with.
fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_SMART_PUNCTUATION
}

/// A rendered lesson body.
#[derive(Debug, Default)]
pub(crate) struct RenderedBody {
    pub(crate) blocks: Vec<LessonBlock>,
    pub(crate) toc: Vec<TocEntry>,
    /// The body's words section by section, for search: the text before
    /// the first heading, then one per `##` or `###` heading.
    pub(crate) sections: Vec<SectionText>,
}

/// The plain text of one section of a body, code included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SectionText {
    /// The heading's anchor id; `None` for the text before the first heading.
    pub(crate) id: Option<String>,
    /// The heading's text (empty before the first heading).
    pub(crate) heading: String,
    /// Its paragraphs, lists, tables and code, as words separated by spaces.
    pub(crate) text: String,
}

impl SectionText {
    fn add(&mut self, words: &str) {
        let words = words.trim();
        // Text split by markup (`**stampede**,`) joins without a space
        // before punctuation, so snippets read as written.
        let joins_tight = words.starts_with([',', '.', ';', ':', '!', '?', ')'])
            || self.text.ends_with(['(', ' ']);
        if !self.text.is_empty() && !joins_tight {
            self.text.push(' ');
        }
        self.text.push_str(words);
    }
}

/// What a body may embed besides markdown and request widgets.
#[derive(Clone, Copy)]
pub(crate) struct Embeds<'a> {
    /// The card of an exercise (```` ```exercise id ````): the course's
    /// exercises, or nothing where no exercise may be embedded.
    pub(crate) exercises: &'a dyn Fn(&str) -> Option<model::ExerciseView>,
    /// The lab widgets there are (```` ```widget name ````).
    pub(crate) widgets: &'a [&'a str],
}

impl Embeds<'static> {
    /// Neither exercises nor lab widgets.
    pub(crate) const NONE: Self = Self {
        exercises: &no_exercise,
        widgets: &[],
    };
}

fn no_exercise(_: &str) -> Option<model::ExerciseView> {
    None
}

/// Renders a lesson body whose first line is `first_line` of its file.
/// Errors are `(line, message)`.
pub(crate) fn render(
    body: &str,
    first_line: usize,
    embeds: Embeds<'_>,
) -> Result<RenderedBody, Vec<(usize, String)>> {
    let mut renderer = Renderer::new(body, first_line, embeds);
    let mut events = Parser::new_ext(body, options()).into_offset_iter();
    while let Some((event, range)) = events.next() {
        match event {
            Event::Start(Tag::Heading { level, id, .. }) => {
                let inner =
                    take_until(&mut events, |e| matches!(e, Event::End(TagEnd::Heading(_))));
                renderer.heading(level, id, inner, range);
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                let inner = take_until(&mut events, |e| matches!(e, Event::End(TagEnd::CodeBlock)));
                let code: String = inner
                    .iter()
                    .filter_map(|e| {
                        if let Event::Text(t) = e {
                            Some(t.as_ref())
                        } else {
                            None
                        }
                    })
                    .collect();
                renderer.code_block(&info, &code, range);
            }
            other => {
                renderer.note_text(&other);
                renderer.pending.push(other);
            }
        }
    }
    renderer.finish()
}

/// Collects the events up to (not including) the one that closes the current tag.
fn take_until<'a>(
    events: &mut impl Iterator<Item = (Event<'a>, Range<usize>)>,
    is_end: impl Fn(&Event<'a>) -> bool,
) -> Vec<Event<'a>> {
    events
        .by_ref()
        .map(|(e, _)| e)
        .take_while(|e| !is_end(e))
        .collect()
}

struct Renderer<'a> {
    body: &'a str,
    embeds: Embeds<'a>,
    first_line: usize,
    pending: Vec<Event<'a>>,
    blocks: Vec<LessonBlock>,
    toc: Vec<TocEntry>,
    sections: Vec<SectionText>,
    ids: HashSet<String>,
    errors: Vec<(usize, String)>,
}

impl<'a> Renderer<'a> {
    fn new(body: &'a str, first_line: usize, embeds: Embeds<'a>) -> Self {
        Self {
            body,
            embeds,
            first_line,
            pending: Vec::new(),
            blocks: Vec::new(),
            toc: Vec::new(),
            sections: vec![SectionText::default()],
            ids: RESERVED_IDS.iter().map(|s| s.to_string()).collect(),
            errors: Vec::new(),
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.first_line + self.body[..offset].matches('\n').count()
    }

    /// Step: the words of running text go to the current section.
    fn note_text(&mut self, event: &Event<'_>) {
        if let Event::Text(words) | Event::Code(words) = event {
            self.current_section().add(words);
        }
    }

    fn current_section(&mut self) -> &mut SectionText {
        if self.sections.is_empty() {
            self.sections.push(SectionText::default());
        }
        let last = self.sections.len() - 1;
        &mut self.sections[last]
    }

    /// Step: headings get a unique id and a self-link; levels 2 and 3 go in the contents.
    fn heading(
        &mut self,
        level: HeadingLevel,
        id: Option<CowStr<'a>>,
        inner: Vec<Event<'a>>,
        range: Range<usize>,
    ) {
        if level == HeadingLevel::H1 {
            let line = self.line_of(range.start);
            self.errors.push((line, "use `##` for sections: the lesson title in the front matter is the page's only level-1 heading".into()));
            return;
        }
        let text: String = inner
            .iter()
            .filter_map(|e| match e {
                Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                _ => None,
            })
            .collect();
        let id = self.unique_id(id.map(|i| i.to_string()).unwrap_or_else(|| slugify(&text)));
        let mut inner_html = String::new();
        pulldown_cmark::html::push_html(&mut inner_html, inner.into_iter());
        let n = level as usize;
        if n <= 3 {
            self.toc.push(TocEntry {
                level: n as u8,
                id: id.clone(),
                text: text.clone(),
            });
            self.sections.push(SectionText {
                id: Some(id.clone()),
                heading: text.clone(),
                text: String::new(),
            });
        } else {
            self.current_section().add(&text);
        }
        let html = format!(
            "<h{n} id=\"{id}\">{inner_html} <a class=\"anchor\" href=\"#{id}\" aria-label=\"Link to section: {}\">#</a></h{n}>\n",
            escape_html(&text)
        );
        self.pending.push(Event::Html(html.into()));
    }

    /// Step: a fenced block becomes a widget, a callout, or highlighted code.
    fn code_block(&mut self, info: &str, code: &str, range: Range<usize>) {
        let fence_line = self.line_of(range.start);
        let token = info.split_whitespace().next().unwrap_or_default();
        if !matches!(token, "exercise" | "widget") {
            self.current_section().add(code);
        }
        if token == "http" {
            match request_block::parse(code, fence_line + 1) {
                Ok(template) => {
                    self.flush();
                    self.blocks.push(LessonBlock::Request(template));
                }
                Err(errors) => self.errors.extend(errors),
            }
        } else if token == "sql" {
            self.flush();
            self.blocks
                .push(LessonBlock::Sql(code.trim_end().to_string()));
        } else if token == "exercise" {
            self.exercise_block(info, fence_line);
        } else if token == "widget" {
            self.lab_widget_block(info, fence_line);
        } else if let Some((_, title)) = CALLOUTS.iter().find(|(name, _)| *name == token) {
            let mut inner = String::new();
            pulldown_cmark::html::push_html(&mut inner, Parser::new_ext(code, options()));
            let html = format!("<div class=\"callout callout-{token}\" role=\"note\"><p class=\"callout-title\">{title}</p>{inner}</div>\n");
            self.pending.push(Event::Html(html.into()));
        } else if let Some(language) = highlight::language(token) {
            self.pending.push(Event::Html(
                highlight::code_block(code, token, language).into(),
            ));
        } else {
            let callouts: Vec<&str> = CALLOUTS.iter().map(|(n, _)| *n).collect();
            self.errors.push((
                fence_line,
                format!(
                    "unknown widget or language `{token}`: widgets are {}; callouts are {}",
                    WIDGETS.join(", "),
                    callouts.join(", ")
                ),
            ));
        }
    }

    /// Step: ```` ```exercise <id> ```` becomes the exercise's card.
    fn exercise_block(&mut self, info: &str, fence_line: usize) {
        let mut words = info.split_whitespace().skip(1);
        let (Some(id), None) = (words.next(), words.next()) else {
            self.errors.push((
                fence_line,
                "write an exercise block as ```exercise <id>, naming one exercise".into(),
            ));
            return;
        };
        match (self.embeds.exercises)(id) {
            Some(card) => {
                self.flush();
                self.blocks.push(LessonBlock::Exercise(card));
            }
            None => self.errors.push((
                fence_line,
                format!("no exercise `{id}`: there is no exercises/{id}.md (or it has errors)"),
            )),
        }
    }

    /// Step: ```` ```widget <name> ```` becomes a lab's own control.
    fn lab_widget_block(&mut self, info: &str, fence_line: usize) {
        let name = info.split_whitespace().nth(1).unwrap_or_default();
        if self.embeds.widgets.contains(&name) {
            self.flush();
            self.blocks.push(LessonBlock::LabWidget(name.to_string()));
        } else if self.embeds.widgets.is_empty() {
            self.errors.push((
                fence_line,
                format!("lab widget `{name}`: no lab widget can go here"),
            ));
        } else {
            self.errors.push((
                fence_line,
                format!(
                    "unknown lab widget `{name}`: widgets are {}",
                    self.embeds.widgets.join(", ")
                ),
            ));
        }
    }

    fn unique_id(&mut self, base: String) -> String {
        let base = if base.is_empty() {
            "section".to_string()
        } else {
            base
        };
        let mut candidate = base.clone();
        let mut n = 2;
        while !self.ids.insert(candidate.clone()) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        candidate
    }

    /// Turns the events gathered so far into one HTML block.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, self.pending.drain(..));
        if !html.trim().is_empty() {
            self.blocks.push(LessonBlock::Html(html));
        }
    }

    fn finish(mut self) -> Result<RenderedBody, Vec<(usize, String)>> {
        self.flush();
        if self.errors.is_empty() {
            Ok(RenderedBody {
                blocks: self.blocks,
                toc: self.toc,
                sections: self.sections,
            })
        } else {
            Err(self.errors)
        }
    }
}

/// A heading's text as an anchor id: lowercase words joined by `-`.
fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if (c.is_whitespace() || c == '-' || c == '_')
            && !slug.is_empty()
            && !slug.ends_with('-')
        {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html_of(body: &RenderedBody) -> String {
        body.blocks
            .iter()
            .filter_map(|b| {
                if let LessonBlock::Html(h) = b {
                    Some(h.as_str())
                } else {
                    None
                }
            })
            .collect()
    }

    #[test]
    fn headings_get_unique_anchors_and_fill_the_contents() {
        let body = render(
            "## Status codes\n\n### 2xx: success\n\n## Status codes\n",
            1,
            Embeds::NONE,
        )
        .unwrap();
        let ids: Vec<_> = body.toc.iter().map(|t| (t.level, t.id.as_str())).collect();
        assert_eq!(
            ids,
            vec![
                (2, "status-codes"),
                (3, "2xx-success"),
                (2, "status-codes-2")
            ]
        );
        assert!(html_of(&body).contains(
            "<h2 id=\"status-codes\">Status codes <a class=\"anchor\" href=\"#status-codes\""
        ));
    }

    #[test]
    fn a_heading_cannot_take_the_id_of_the_page_frame() {
        let body = render("## Main\n", 1, Embeds::NONE).unwrap();
        assert_eq!(body.toc[0].id, "main-2");
    }

    #[test]
    fn http_blocks_become_request_widgets_between_html() {
        let body = render(
            "Before.\n\n```http\nGET /labs/http/echo\n```\n\nAfter.\n",
            1,
            Embeds::NONE,
        )
        .unwrap();
        assert_eq!(body.blocks.len(), 3);
        assert!(matches!(&body.blocks[1], LessonBlock::Request(t) if t.url == "/labs/http/echo"));
    }

    #[test]
    fn lab_widgets_are_the_registered_ones_and_others_are_errors_at_their_fence() {
        let embeds = Embeds {
            widgets: &["cache-console"],
            ..Embeds::NONE
        };
        let body = render("Try it:\n\n```widget cache-console\n```\n", 1, embeds).unwrap();
        assert_eq!(
            body.blocks.last(),
            Some(&LessonBlock::LabWidget("cache-console".into()))
        );
        let errors = render("\n```widget cache-consol\n```\n", 7, embeds).unwrap_err();
        assert_eq!(errors[0].0, 8);
        assert!(
            errors[0].1.contains("widgets are cache-console"),
            "{errors:?}"
        );
        let errors = render("```widget cache-console\n```\n", 1, Embeds::NONE).unwrap_err();
        assert!(
            errors[0].1.contains("no lab widget can go here"),
            "{errors:?}"
        );
    }

    #[test]
    fn unknown_widgets_are_errors_at_the_fence_line() {
        let errors = render("Text\n\n```htpp\nGET /\n```\n", 5, Embeds::NONE).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, 7);
        assert!(errors[0].1.contains("unknown widget or language `htpp`"));
    }

    #[test]
    fn errors_inside_a_widget_point_at_their_own_line() {
        let errors = render(
            "```http\nGET /labs/http/echo\nbroken header\n```\n",
            10,
            Embeds::NONE,
        )
        .unwrap_err();
        assert_eq!(errors[0].0, 12);
    }

    #[test]
    fn callouts_render_their_markdown() {
        let body = render("```tip\nUse **curl -i**.\n```\n", 1, Embeds::NONE).unwrap();
        let html = html_of(&body);
        assert!(html.contains("class=\"callout callout-tip\""));
        assert!(html.contains("<strong>curl -i</strong>"));
    }

    #[test]
    fn sections_keep_their_words_as_written_for_search() {
        let body = render(
            "Intro (`GET`).\n\n## Stampedes\n\nA **cache stampede**, also called a *herd*.\n\n```sql\nSELECT 1\n```\n",
            1,
            Embeds::NONE,
        )
        .unwrap();
        let sections: Vec<(Option<&str>, &str, &str)> = body
            .sections
            .iter()
            .map(|s| (s.id.as_deref(), s.heading.as_str(), s.text.as_str()))
            .collect();
        assert_eq!(
            sections,
            vec![
                (None, "", "Intro (GET)."),
                (
                    Some("stampedes"),
                    "Stampedes",
                    "A cache stampede, also called a herd. SELECT 1"
                ),
            ]
        );
    }

    #[test]
    fn a_level_one_heading_in_the_body_is_an_error() {
        let errors = render("# Title again\n", 3, Embeds::NONE).unwrap_err();
        assert_eq!(errors[0].0, 3);
    }

    #[test]
    fn code_is_highlighted_on_the_server() {
        let html = html_of(&render("```json\n{\"a\": 1}\n```\n", 1, Embeds::NONE).unwrap());
        assert!(html.contains("hl-"), "{html}");
    }
}
