//! Reads a course folder into a [`Course`], collecting every authoring error.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::search::SearchHitKind;
use model::{CourseOutline, LessonLink, LessonPage, ModuleSummary};
use serde::Deserialize;

use super::search::{SearchIndex, SearchPlace};
use super::Vocabulary;
use crate::grading::Exercises;
use crate::markup::{self, AuthoringError, AuthoringErrors, Embeds, LessonMeta, SectionText};

/// A loaded, validated course, served from memory.
#[derive(Debug, Default)]
pub struct Course {
    outline: Arc<CourseOutline>,
    lessons: HashMap<(String, String), Arc<LessonPage>>,
    /// Each lesson's file, for errors found after loading (the lint).
    sources: HashMap<(String, String), PathBuf>,
    exercises: Arc<Exercises>,
    search: Arc<SearchIndex>,
}

impl Course {
    /// The course home outline.
    pub fn outline(&self) -> Arc<CourseOutline> {
        self.outline.clone()
    }

    /// One lesson by module slug and lesson slug.
    pub fn lesson(&self, module: &str, slug: &str) -> Option<Arc<LessonPage>> {
        self.lessons
            .get(&(module.to_string(), slug.to_string()))
            .cloned()
    }

    /// The file lesson `module/slug` was loaded from.
    pub fn lesson_source(&self, module: &str, slug: &str) -> Option<&Path> {
        self.sources
            .get(&(module.to_string(), slug.to_string()))
            .map(PathBuf::as_path)
    }

    /// How many lessons the course has.
    pub fn lesson_count(&self) -> usize {
        self.lessons.len()
    }

    /// The course's lessons, sections and exercises, indexed for search.
    pub fn search(&self) -> &SearchIndex {
        &self.search
    }

    /// The course's exercises.
    pub fn exercises(&self) -> Arc<Exercises> {
        self.exercises.clone()
    }

    /// Exercises in teaching order: lesson by lesson, in the order their
    /// cards appear; exercises no lesson embeds follow their lesson's.
    pub fn exercises_in_order(&self) -> Vec<Arc<crate::grading::Exercise>> {
        let mut ordered: Vec<Arc<crate::grading::Exercise>> = Vec::new();
        for module in &self.outline.modules {
            for link in &module.lessons {
                let key = link.href.trim_start_matches("/lessons/");
                let embedded = self
                    .lessons
                    .iter()
                    .find(|((m, s), _)| format!("{m}/{s}") == key)
                    .map(|(_, page)| page.blocks.clone())
                    .unwrap_or_default();
                for block in embedded {
                    if let model::LessonBlock::Exercise(view) = block {
                        if let Some(exercise) = self.exercises.get(&view.id) {
                            if !ordered.iter().any(|e| e.id == exercise.id) {
                                ordered.push(exercise);
                            }
                        }
                    }
                }
                for exercise in self.exercises.iter().filter(|e| e.lesson == key) {
                    if !ordered.iter().any(|e| e.id == exercise.id) {
                        ordered.push(exercise.clone());
                    }
                }
            }
        }
        ordered
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CourseMeta {
    title: String,
    #[serde(default)]
    summary: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModuleMeta {
    title: String,
    #[serde(default)]
    summary: String,
}

/// A lesson before the whole course is known (so before previous/next links).
struct DraftLesson {
    module: String,
    slug: String,
    source: PathBuf,
    page: LessonPage,
    sections: Vec<SectionText>,
}

/// Loads the course in `root`, which may name what `vocabulary` holds,
/// or returns every authoring error in it.
pub fn load_course(root: &Path, vocabulary: &Vocabulary) -> Result<Course, AuthoringErrors> {
    let mut loader = Loader {
        root,
        widgets: &vocabulary.widgets,
        errors: Vec::new(),
        exercises: Exercises::default(),
    };
    let course_meta = loader.course_meta();
    loader.exercises = Exercises::load(
        &root.join("exercises"),
        &vocabulary.kinds,
        &shown,
        &mut loader.errors,
    );
    let (modules, drafts) = loader.modules();
    loader.check_exercise_lessons(&drafts);
    if !loader.errors.is_empty() {
        return Err(AuthoringErrors(loader.errors));
    }
    let exercises = std::mem::take(&mut loader.exercises);
    Ok(assemble(course_meta, modules, drafts, exercises))
}

/// The path as the author would type it: relative when the course is the working folder.
pub(crate) fn shown(path: &Path) -> PathBuf {
    path.strip_prefix(".")
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

struct Loader<'a> {
    root: &'a Path,
    widgets: &'a [&'static str],
    errors: Vec<AuthoringError>,
    exercises: Exercises,
}

impl Loader<'_> {
    fn shown(&self, path: &Path) -> PathBuf {
        shown(path)
    }

    fn error(&mut self, path: &Path, line: usize, message: impl Into<String>) {
        let shown = self.shown(path);
        self.errors.push(AuthoringError::new(shown, line, message));
    }

    fn read(&mut self, path: &Path) -> Option<String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) => {
                self.error(path, 1, format!("cannot read: {e}"));
                None
            }
        }
    }

    fn toml_file<T: serde::de::DeserializeOwned>(&mut self, path: &Path) -> Option<T> {
        let text = self.read(path)?;
        match markup::front_matter_parse::<T>(&text, 1) {
            Ok(value) => Some(value),
            Err((line, message)) => {
                self.error(path, line, message.replacen("front matter: ", "", 1));
                None
            }
        }
    }

    /// Every exercise must belong to a lesson that exists.
    fn check_exercise_lessons(&mut self, drafts: &[DraftLesson]) {
        let lessons: HashSet<String> = drafts
            .iter()
            .map(|d| format!("{}/{}", d.module, d.slug))
            .collect();
        let missing: Vec<(PathBuf, usize, String)> = self
            .exercises
            .iter()
            .filter(|e| !lessons.contains(&e.lesson))
            .map(|e| (e.source.0.clone(), e.source.1, e.lesson.clone()))
            .collect();
        for (path, line, lesson) in missing {
            self.error(
                &path,
                line,
                format!("`lesson` {lesson:?} is not a lesson of this course: write it as `module/slug`, e.g. \"http/anatomy\""),
            );
        }
    }

    fn course_meta(&mut self) -> CourseMeta {
        let path = self.root.join("course.toml");
        let fallback = CourseMeta {
            title: "Backend Workbench".into(),
            summary: "Learn backend development by sending real requests to real servers.".into(),
        };
        if path.exists() {
            self.toml_file(&path).unwrap_or(fallback)
        } else {
            fallback
        }
    }

    fn modules(&mut self) -> (Vec<ModuleSummary>, Vec<DraftLesson>) {
        let lessons_dir = self.root.join("lessons");
        let Some(entries) = self.numbered_entries(&lessons_dir, true) else {
            return (Vec::new(), Vec::new());
        };
        let mut modules = Vec::new();
        let mut drafts = Vec::new();
        let mut seen = HashMap::new();
        for (number, slug, path) in entries {
            if let Some(first) = seen.insert(slug.clone(), path.clone()) {
                let first = self.shown(&first);
                self.error(
                    &path,
                    1,
                    format!(
                        "duplicate module slug `{slug}`: {} uses it too",
                        first.display()
                    ),
                );
                continue;
            }
            let meta_path = path.join("module.toml");
            let meta = if meta_path.exists() {
                self.toml_file(&meta_path).unwrap_or_default()
            } else {
                ModuleMeta::default()
            };
            let title = if meta.title.is_empty() {
                slug.clone()
            } else {
                meta.title
            };
            let module_drafts = self.lessons(&path, &slug, &title);
            modules.push(ModuleSummary {
                slug: slug.clone(),
                number,
                title,
                summary: meta.summary,
                lessons: module_drafts.iter().map(|d| d.page.link.clone()).collect(),
            });
            drafts.extend(module_drafts);
        }
        (modules, drafts)
    }

    fn lessons(
        &mut self,
        module_dir: &Path,
        module_slug: &str,
        module_title: &str,
    ) -> Vec<DraftLesson> {
        let Some(entries) = self.numbered_entries(module_dir, false) else {
            return Vec::new();
        };
        let mut slugs = HashSet::new();
        let mut drafts = Vec::new();
        for (_, slug, path) in entries {
            if !slugs.insert(slug.clone()) {
                self.error(
                    &path,
                    1,
                    format!("duplicate lesson slug `{slug}` in module `{module_slug}`"),
                );
                continue;
            }
            if let Some((page, sections)) = self.lesson(&path, module_slug, &slug, module_title) {
                drafts.push(DraftLesson {
                    module: module_slug.to_string(),
                    slug,
                    source: self.shown(&path),
                    page,
                    sections,
                });
            }
        }
        drafts
    }

    fn lesson(
        &mut self,
        path: &Path,
        module_slug: &str,
        slug: &str,
        module_title: &str,
    ) -> Option<(LessonPage, Vec<SectionText>)> {
        let text = self.read(path)?;
        let split = match markup::front_matter_split(&text) {
            Ok(split) => split,
            Err((line, message)) => {
                self.error(path, line, message);
                return None;
            }
        };
        let meta = match markup::front_matter_parse::<LessonMeta>(split.front, split.front_line) {
            Ok(meta) => meta,
            Err((line, message)) => {
                self.error(path, line, message);
                return None;
            }
        };
        if meta.title.trim().is_empty() {
            self.error(
                path,
                split.front_line,
                "front matter: `title` must not be empty",
            );
        }
        let embeds = Embeds {
            exercises: &|id| self.exercises.get(id).map(|e| e.view()),
            widgets: self.widgets,
        };
        let body = match markup::render_markdown(split.body, split.body_line, embeds) {
            Ok(body) => body,
            Err(errors) => {
                for (line, message) in errors {
                    self.error(path, line, message);
                }
                return None;
            }
        };
        let page = LessonPage {
            module_title: module_title.to_string(),
            link: LessonLink {
                href: format!("/lessons/{module_slug}/{slug}"),
                title: meta.title,
                summary: meta.summary,
                minutes: meta.minutes,
            },
            objectives: meta.objectives,
            toc: body.toc,
            blocks: body.blocks,
            previous: None,
            next: None,
        };
        Some((page, body.sections))
    }

    /// Entries named `NN-slug` (folders, or `.md` files), sorted by number.
    fn numbered_entries(
        &mut self,
        dir: &Path,
        folders: bool,
    ) -> Option<Vec<(u32, String, PathBuf)>> {
        let listing = match std::fs::read_dir(dir) {
            Ok(listing) => listing,
            Err(e) => {
                self.error(dir, 1, format!("cannot read the folder: {e}"));
                return None;
            }
        };
        let mut entries = Vec::new();
        for entry in listing.filter_map(Result::ok) {
            let path = entry.path();
            let is_dir = path.is_dir();
            let name = entry.file_name().to_string_lossy().to_string();
            let stem = if folders {
                if !is_dir {
                    continue;
                }
                name.clone()
            } else {
                match name.strip_suffix(".md") {
                    Some(stem) if !is_dir => stem.to_string(),
                    _ => continue,
                }
            };
            match parse_numbered(&stem) {
                Some((number, slug)) => entries.push((number, slug, path)),
                None => self.error(
                    &path,
                    1,
                    format!("`{name}` must be named `NN-slug` (digits, a dash, then lowercase letters, digits and dashes)"),
                ),
            }
        }
        entries.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        Some(entries)
    }
}

/// Splits `01-status-codes` into `(1, "status-codes")`.
fn parse_numbered(name: &str) -> Option<(u32, String)> {
    let (number, slug) = name.split_once('-')?;
    let valid_slug = !slug.is_empty()
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    (valid_slug && !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
        .then(|| Some((number.parse().ok()?, slug.to_string())))
        .flatten()
}

/// Links lessons to their neighbours in course order and indexes them.
fn assemble(
    meta: CourseMeta,
    modules: Vec<ModuleSummary>,
    mut drafts: Vec<DraftLesson>,
    exercises: Exercises,
) -> Course {
    let links: Vec<LessonLink> = drafts.iter().map(|d| d.page.link.clone()).collect();
    for (i, draft) in drafts.iter_mut().enumerate() {
        draft.page.previous = i.checked_sub(1).map(|p| links[p].clone());
        draft.page.next = links.get(i + 1).cloned();
    }
    let search = Arc::new(SearchIndex::build(search_places(&drafts, &exercises)));
    Course {
        search,
        outline: Arc::new(CourseOutline {
            title: meta.title,
            summary: meta.summary,
            modules,
        }),
        sources: drafts
            .iter()
            .map(|d| ((d.module.clone(), d.slug.clone()), d.source.clone()))
            .collect(),
        lessons: drafts
            .into_iter()
            .map(|d| ((d.module, d.slug), Arc::new(d.page)))
            .collect(),
        exercises: Arc::new(exercises),
    }
}

/// What search finds: each lesson (title, summary, objectives and opening
/// text), each of its sections, and each exercise, linked to its card.
fn search_places(drafts: &[DraftLesson], exercises: &Exercises) -> Vec<SearchPlace> {
    let mut places = Vec::new();
    let mut lesson_titles = HashMap::new();
    for draft in drafts {
        let page = &draft.page;
        let href = &page.link.href;
        lesson_titles.insert(
            format!("{}/{}", draft.module, draft.slug),
            (href, &page.link.title),
        );
        let opening = draft.sections.iter().find(|s| s.id.is_none());
        places.push(SearchPlace {
            kind: SearchHitKind::Lesson,
            title: page.link.title.clone(),
            context: page.module_title.clone(),
            href: href.clone(),
            summary: std::iter::once(page.link.summary.as_str())
                .chain(page.objectives.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            text: opening.map(|s| s.text.clone()).unwrap_or_default(),
        });
        for section in &draft.sections {
            let Some(id) = &section.id else { continue };
            places.push(SearchPlace {
                kind: SearchHitKind::Section,
                title: section.heading.clone(),
                context: page.link.title.clone(),
                href: format!("{href}#{id}"),
                summary: String::new(),
                text: section.text.clone(),
            });
        }
    }
    for exercise in exercises.iter() {
        let Some((href, lesson_title)) = lesson_titles.get(&exercise.lesson) else {
            continue;
        };
        places.push(SearchPlace {
            kind: SearchHitKind::Exercise,
            title: exercise.title.clone(),
            context: (*lesson_title).clone(),
            href: format!("{href}#exercise-{}", exercise.id),
            summary: String::new(),
            text: exercise.prompt_text.clone(),
        });
    }
    places
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names_split_into_number_and_slug() {
        assert_eq!(
            parse_numbered("01-status-codes"),
            Some((1, "status-codes".into()))
        );
        assert_eq!(parse_numbered("status-codes"), None);
        assert_eq!(parse_numbered("01-Status"), None);
        assert_eq!(parse_numbered("01-"), None);
    }
}
