//! The course the server is serving, swappable at run time: in dev mode a file
//! watcher reloads it on save, and pages listening on the content-events
//! stream refresh themselves. A reload with errors keeps the last good course.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

use super::load::{load_course, Course};
use super::Vocabulary;
use crate::markup::AuthoringErrors;

/// The served course and its version number (bumped on every successful reload).
pub struct LiveCourse {
    root: PathBuf,
    vocabulary: Vocabulary,
    current: RwLock<Arc<Course>>,
    version: watch::Sender<u64>,
    watcher: Mutex<Option<notify::RecommendedWatcher>>,
}

impl LiveCourse {
    /// Loads the course in `root`, which may name what `vocabulary` holds;
    /// fails with every authoring error.
    pub fn load(root: &Path, vocabulary: Vocabulary) -> Result<Arc<Self>, AuthoringErrors> {
        let course = load_course(root, &vocabulary)?;
        Ok(Arc::new(Self {
            root: root.to_path_buf(),
            vocabulary,
            current: RwLock::new(Arc::new(course)),
            version: watch::channel(1).0,
            watcher: Mutex::new(None),
        }))
    }

    /// The course as it is now.
    pub fn current(&self) -> Arc<Course> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads the course folder again (blocking IO); keeps the old course on errors.
    pub fn reload(&self) -> Result<(), AuthoringErrors> {
        let course = load_course(&self.root, &self.vocabulary)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(course);
        self.version.send_modify(|v| *v += 1);
        Ok(())
    }

    /// The version number: 1 at start, one more for each successful reload.
    pub fn version(&self) -> u64 {
        *self.version.borrow()
    }

    /// Changes to the version number, for the pages' reload stream.
    pub fn versions(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Starts watching the course folder; each burst of file events triggers one reload.
    pub fn watch(self: &Arc<Self>) -> notify::Result<()> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|e| !e.kind.is_access()) {
                    let _ = tx.send(());
                }
            })?;
        // Only the content: a course folder may also hold `target/` or `data/`, which change constantly.
        watcher.watch(&self.root.join("lessons"), RecursiveMode::Recursive)?;
        for optional in ["exercises", "course.toml"] {
            let path = self.root.join(optional);
            if path.exists() {
                watcher.watch(&path, RecursiveMode::Recursive)?;
            }
        }
        *self.watcher.lock().unwrap_or_else(|e| e.into_inner()) = Some(watcher);
        let course = Arc::clone(self);
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                // An editor's save is several events; let the burst finish, then reload once.
                while let Ok(Some(())) =
                    tokio::time::timeout(Duration::from_millis(75), rx.recv()).await
                {
                }
                let reloader = Arc::clone(&course);
                match tokio::task::spawn_blocking(move || reloader.reload()).await {
                    Ok(Ok(())) => {
                        tracing::info!(lessons = course.current().lesson_count(), "course reloaded")
                    }
                    Ok(Err(errors)) => {
                        tracing::warn!("course not reloaded; fix these and save again:\n{errors}")
                    }
                    Err(e) => tracing::error!(error = %e, "course reload task failed"),
                }
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn lesson(title: &str) -> String {
        format!("+++\ntitle = \"{title}\"\nsummary = \"s\"\nminutes = 1\n+++\n\nBody.\n")
    }

    #[test]
    fn a_reload_with_errors_keeps_the_last_good_course() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "lessons/01-intro/01-first.md", &lesson("First"));
        let course = LiveCourse::load(dir.path(), Vocabulary::built_in()).unwrap();
        let version = *course.versions().borrow();

        write(
            dir.path(),
            "lessons/01-intro/01-first.md",
            "+++\ntitle = 1\n+++\n",
        );
        let errors = course.reload().unwrap_err();
        assert!(errors.to_string().contains("01-first.md:2:"), "{errors}");
        assert_eq!(
            course
                .current()
                .lesson("intro", "first")
                .unwrap()
                .link
                .title,
            "First"
        );
        assert_eq!(*course.versions().borrow(), version, "no reload announced");

        write(
            dir.path(),
            "lessons/01-intro/01-first.md",
            &lesson("Second"),
        );
        course.reload().unwrap();
        assert_eq!(
            course
                .current()
                .lesson("intro", "first")
                .unwrap()
                .link
                .title,
            "Second"
        );
        assert_eq!(*course.versions().borrow(), version + 1);
    }
}
