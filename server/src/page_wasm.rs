//! Which wasm a page loads. Leptos writes the same loader into every page:
//! the split build's main module, which fetches each island's code in
//! chunk files as the island wakes up. Before a page is sent (and cached),
//! its loader is fitted to the islands the page really carries:
//!
//! - no island: the loader is taken out, so the page fetches no Leptos wasm
//!   (the enhancer, which is not Leptos's, stays);
//! - islands for which a bundle was built (`scripts/build-bundles.sh`):
//!   the loader points at that bundle, one file holding exactly those
//!   islands, and the chunk preloads go; one file instead of hundreds cuts
//!   the bytes by about two fifths and the wait for the last island by five
//!   sixths on a slow phone (BENCHMARKS.md, "One wasm file per page");
//! - islands with no bundle (a lesson edited since the build, or a build
//!   without bundles, such as `make run`'s): the split build, unchanged.

use std::collections::HashMap;
use std::path::Path;

use crate::page_html::{attribute, inline_scripts, InlineScript};

/// Where the bundles live, under the site's package folder.
const BUNDLES_DIR: &str = "bundles";
/// In each bundle's folder: the islands it exports, one per line, as pages
/// name them (`data-component`, the island's name and its code's hash).
const ISLANDS_FILE: &str = "islands.txt";

/// The bundles found beside the split build, by the islands they hold.
#[derive(Debug, Default)]
pub(crate) struct PageBundles {
    /// Sorted island names, joined by spaces, to the bundle's folder name.
    by_islands: HashMap<String, String>,
}

impl PageBundles {
    /// The bundles under `site_root/pkg_dir/bundles`. A folder without its
    /// island list or its two files is skipped: pages fall back to the
    /// split build, which always works.
    pub(crate) fn find(site_root: &Path, pkg_dir: &str, output_name: &str) -> Self {
        let mut bundles = Self::default();
        let Ok(folders) = std::fs::read_dir(site_root.join(pkg_dir).join(BUNDLES_DIR)) else {
            return bundles;
        };
        for folder in folders.flatten() {
            let path = folder.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let complete = ["js", "wasm"]
                .iter()
                .all(|ext| path.join(format!("{output_name}.{ext}")).is_file());
            let Ok(list) = std::fs::read_to_string(path.join(ISLANDS_FILE)) else {
                continue;
            };
            let islands = island_key(list.lines().map(str::trim).filter(|l| !l.is_empty()));
            if complete && !islands.is_empty() && is_plain_name(name) {
                bundles.by_islands.insert(islands, name.to_string());
            }
        }
        if !bundles.by_islands.is_empty() {
            tracing::info!(
                bundles = bundles.len(),
                "pages with islands load a bundle of their own where one was built"
            );
        }
        bundles
    }

    /// How many bundles there are.
    pub(crate) fn len(&self) -> usize {
        self.by_islands.len()
    }

    /// The page with its loader fitted to its islands; `None` when the page
    /// stays as it is (islands without a bundle, or no loader to change).
    pub(crate) fn fit(&self, html: &str) -> Option<String> {
        let islands = islands_on(html);
        if islands.is_empty() {
            return without_leptos_wasm(html);
        }
        let bundle = self.by_islands.get(&island_key(islands.iter().copied()))?;
        self.with_bundle(html, bundle)
    }

    /// The page loading `bundle` instead of the split build: the loader's
    /// module and wasm preloads and its script point into the bundle's
    /// folder, and the chunk preloads go.
    fn with_bundle(&self, html: &str, bundle: &str) -> Option<String> {
        let head_end = html.find("</head>")?;
        let loader = loader_script(&html[..head_end])?;
        let [_, (pkg_at, pkg), (_, module), (_, wasm)] = loader_strings(loader.content)?;
        let folder = format!("{pkg}/{BUNDLES_DIR}/{bundle}");
        let (from, to) = (format!("/{pkg}/"), format!("/{folder}/"));
        let main_module = [format!("{from}{module}.js"), format!("{from}{wasm}.wasm")];
        let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
        for (range, tag) in preload_links(&html[..head_end]) {
            if is_enhancer(tag) {
                continue;
            }
            let ours =
                attribute(tag, "href").is_some_and(|href| main_module.iter().any(|m| m == href));
            // Chunk files and the splitter's loader: the bundle holds their code.
            let replacement = if ours {
                tag.replacen(&from, &to, 1)
            } else {
                String::new()
            };
            edits.push((range, replacement));
        }
        let pkg_at = loader.content_at + pkg_at;
        edits.push((pkg_at..pkg_at + pkg.len(), folder));
        Some(apply(html, edits))
    }
}

/// Island names as one key: sorted, without repeats, joined by spaces.
fn island_key<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut names: Vec<&str> = names.collect();
    names.sort_unstable();
    names.dedup();
    names.join(" ")
}

/// A bundle folder's name goes into URLs: letters, digits, `+`, `-`, `_`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'_'))
}

/// The `data-component` of every island on the page.
fn islands_on(html: &str) -> Vec<&str> {
    let mut islands = Vec::new();
    let mut offset = 0;
    while let Some(open) = html[offset..].find("<leptos-island").map(|at| offset + at) {
        let Some(end) = html[open..].find('>').map(|at| open + at) else {
            break;
        };
        if let Some(name) = attribute(&html[open..end], "data-component") {
            islands.push(name);
        }
        offset = end;
    }
    islands
}

/// A page with no island has nothing to hydrate: the page without Leptos's
/// loader (its module preload, its wasm preload and its loader script), so
/// the browser fetches no Leptos wasm, and without the hydration data
/// Leptos writes at the end of the body (`__RESOLVED_RESOURCES=...`), which
/// only that wasm reads. Those scripts carry the render's nonce, as the
/// loader does. `None` when there is no loader to take out.
fn without_leptos_wasm(html: &str) -> Option<String> {
    let head_end = html.find("</head>")?;
    let mut edits: Vec<_> = preload_links(&html[..head_end])
        .filter(|(_, tag)| !is_enhancer(tag))
        .map(|(range, _)| (range, String::new()))
        .collect();
    if let Some(loader) = loader_script(&html[..head_end]) {
        edits.push((loader.whole.clone(), String::new()));
        if let Some(nonce) = attribute(loader.tag, "nonce").filter(|n| !n.is_empty()) {
            let hydration_data = inline_scripts(&html[head_end..])
                .filter(|script| attribute(script.tag, "nonce") == Some(nonce))
                .map(|script| {
                    (
                        head_end + script.whole.start..head_end + script.whole.end,
                        String::new(),
                    )
                });
            edits.extend(hydration_data);
        }
    }
    (!edits.is_empty()).then(|| apply(html, edits))
}

/// The enhancer is not Leptos's: pages keep it whatever their islands.
fn is_enhancer(tag: &str) -> bool {
    tag.contains(app::ENHANCER_MODULE) || tag.contains(app::ENHANCER_WASM)
}

/// Module and wasm preloads among `head`'s `<link>` tags, with where each is.
fn preload_links(head: &str) -> impl Iterator<Item = (std::ops::Range<usize>, &str)> {
    let mut offset = 0;
    std::iter::from_fn(move || loop {
        let open = offset + head[offset..].find("<link ")?;
        let end = open + head[open..].find('>')? + 1;
        offset = end;
        let tag = &head[open..end];
        let preloads = tag.contains("rel=\"modulepreload\"")
            || (tag.contains("rel=\"preload\"") && tag.contains("application/wasm"));
        if preloads {
            return Some((open..end, tag));
        }
    })
}

/// Leptos's loader script, among the inline scripts of `head`.
fn loader_script(head: &str) -> Option<InlineScript<'_>> {
    inline_scripts(head).find(|script| script.content.contains("hydrateIslands"))
}

/// The strings Leptos calls its loader with, `(root, pkg, module name,
/// wasm name, defer)`, each with where it starts in the script. The loader
/// is a function written in parentheses, `((root, ...) => { ... })`.
fn loader_strings(script: &str) -> Option<[(usize, &str); 4]> {
    let body_end = script.rfind("})")? + "})".len();
    let mut at = body_end + script[body_end..].find('(')?;
    let mut next = || {
        let open = at + script[at..].find('"')? + 1;
        let close = open + script[open..].find('"')?;
        at = close + 1;
        Some((open, &script[open..close]))
    };
    Some([next()?, next()?, next()?, next()?])
}

/// `html` with each range replaced by its text; ranges do not overlap.
fn apply(html: &str, mut edits: Vec<(std::ops::Range<usize>, String)>) -> String {
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(html.len());
    let mut from = 0;
    for (range, text) in edits {
        out.push_str(&html[from..range.start]);
        out.push_str(&text);
        from = range.end;
    }
    out.push_str(&html[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Leptos writes into a split build's page, chunk preloads included.
    const LOADER: &str = r#"<link rel="modulepreload" href="/pkg/workbench.js" crossorigin=""><link rel="preload" href="/pkg/workbench.wasm" as="fetch" type="application/wasm" crossorigin=""><script type="module">((root, pkg_path, output_name, wasm_output_name) => { hydrateIslands(document.body) })
("", "pkg", "workbench", "workbench", false);</script>"#;
    const CHUNKS: &str = r#"<link rel="preload" href="/pkg/sql_runner_1.wasm" as="fetch" type="application/wasm" crossorigin=""><link rel="modulepreload" href="/pkg/__wasm_split.______________________.js" crossorigin="">"#;

    fn page(head: &str, body: &str) -> String {
        format!(
            r#"<html><head><script>theme()</script><link rel="stylesheet" href="/pkg/workbench.css">{head}</head><body>{body}</body></html>"#
        )
    }

    fn bundles(sets: &[(&str, &str)]) -> PageBundles {
        PageBundles {
            by_islands: sets
                .iter()
                .map(|(islands, folder)| (island_key(islands.split(' ')), folder.to_string()))
                .collect(),
        }
    }

    const SQL_AND_QUEUE: &str = r#"<leptos-island data-component="SqlSchema_12"><p>sql</p></leptos-island><leptos-island data-component="QueueConsole_34"></leptos-island><leptos-island data-component="SqlSchema_12"></leptos-island>"#;

    #[test]
    fn a_page_without_islands_loses_the_leptos_loader_and_keeps_the_rest() {
        let lighter = bundles(&[])
            .fit(&page(LOADER, "<main>hi</main>"))
            .expect("a loader to take out");
        assert_eq!(lighter, page("", "<main>hi</main>"));
    }

    #[test]
    fn a_page_without_islands_loses_the_hydration_data_and_keeps_other_scripts() {
        let loader = LOADER.replace(
            r#"<script type="module">"#,
            r#"<script type="module" nonce="n0nce">"#,
        );
        let body = r#"<main>hi</main><script>kept()</script><script nonce="n0nce">__RESOLVED_RESOURCES=[];</script><script nonce="n0nce">__INCOMPLETE_CHUNKS=[];</script>"#;
        let lighter = bundles(&[])
            .fit(&page(&loader, body))
            .expect("a loader to take out");
        assert_eq!(lighter, page("", "<main>hi</main><script>kept()</script>"));
    }

    #[test]
    fn a_page_without_islands_keeps_the_enhancer() {
        let enhancer = format!(
            r#"<link rel="modulepreload" href="{}"><link rel="preload" href="{}" as="fetch" type="application/wasm" crossorigin="">"#,
            app::ENHANCER_MODULE,
            app::ENHANCER_WASM
        );
        let lighter = bundles(&[])
            .fit(&page(&format!("{LOADER}{enhancer}"), ""))
            .expect("a loader to take out");
        assert_eq!(lighter, page(&enhancer, ""));
    }

    #[test]
    fn a_page_whose_islands_have_a_bundle_loads_it_and_no_chunk() {
        let fitted = bundles(&[("QueueConsole_34 SqlSchema_12", "QueueConsole+SqlSchema")])
            .fit(&page(&format!("{LOADER}{CHUNKS}"), SQL_AND_QUEUE))
            .expect("the page's bundle");
        let expected = page(
            &LOADER
                .replace(
                    "/pkg/workbench.",
                    "/pkg/bundles/QueueConsole+SqlSchema/workbench.",
                )
                .replace(
                    r#""pkg", "workbench""#,
                    r#""pkg/bundles/QueueConsole+SqlSchema", "workbench""#,
                ),
            SQL_AND_QUEUE,
        );
        assert_eq!(fitted, expected);
    }

    #[test]
    fn a_page_whose_islands_have_no_bundle_keeps_the_split_build() {
        let split = page(&format!("{LOADER}{CHUNKS}"), SQL_AND_QUEUE);
        for other in [
            "SqlSchema_12",
            "QueueConsole_34 SqlSchema_99",
            "QueueConsole_34 SqlSchema_12 CacheConsole_5",
        ] {
            assert_eq!(bundles(&[(other, "other")]).fit(&split), None, "{other}");
        }
    }

    #[test]
    fn bundles_are_found_on_disk_only_when_whole() {
        let site = tempfile::tempdir().unwrap();
        let folder = |name: &str, files: &[(&str, &str)]| {
            let dir = site.path().join("pkg/bundles").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            for (file, text) in files {
                std::fs::write(dir.join(file), text).unwrap();
            }
        };
        let whole = [
            ("workbench.js", ""),
            ("workbench.wasm", ""),
            ("islands.txt", "SqlSchema_12\nQueueConsole_34\n"),
        ];
        folder("QueueConsole+SqlSchema", &whole);
        folder("no-list", &whole[..2]);
        folder("no-wasm", &[whole[0], whole[2]]);
        folder("bad name", &whole);
        let found = PageBundles::find(site.path(), "pkg", "workbench");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found.fit(&page(LOADER, SQL_AND_QUEUE)).is_some());
        assert_eq!(
            PageBundles::find(&site.path().join("nothing"), "pkg", "workbench").len(),
            0
        );
    }
}
