//! Course search: every lesson, section and exercise, indexed by its words
//! when the course loads (so a reload re-indexes with it), and searched in
//! memory.
//!
//! - Words are lowercased and lightly stemmed (a plural `s` goes), so
//!   "caches" finds "cache"; a few very common words are not indexed.
//! - Titles weigh more than headings, and headings more than running text;
//!   rare words more than common ones.
//! - A query word also matches words it begins (the last word, as the
//!   reader is still typing it) and words one typo away (two for long
//!   words), for less.
//! - A place must match every query word that matches anything; a word
//!   that matches nothing is reported rather than emptying the results.

use std::collections::{BTreeMap, HashMap};

use model::search::{SearchHit, SearchHitKind, SearchResults, SnippetPart};

/// The longest query searched, in characters; the rest is ignored.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most query words searched.
const MAX_QUERY_WORDS: usize = 8;
/// Characters of text a snippet shows around its first match.
const SNIPPET_CHARS: usize = 160;

/// How much a word counts in each part of a place.
const TITLE_WEIGHT: f32 = 6.0;
const HEADING_WEIGHT: f32 = 3.0;
const SUMMARY_WEIGHT: f32 = 2.0;
const TEXT_WEIGHT: f32 = 1.0;

/// How much a word found by prefix or by a typo counts, against an exact one.
const PREFIX_FACTOR: f32 = 0.7;
const TYPO_FACTOR: f32 = 0.5;

/// Words too common to tell places apart.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "if", "in", "is", "it", "its",
    "of", "on", "or", "so", "that", "the", "their", "then", "this", "to", "was", "we", "what",
    "when", "which", "with", "you", "your",
];

/// One place a search can lead to, as given to [`SearchIndex::build`].
#[derive(Clone, Debug)]
pub struct SearchPlace {
    /// What it is.
    pub kind: SearchHitKind,
    /// Its title or heading.
    pub title: String,
    /// Where it is, for the reader.
    pub context: String,
    /// Its link.
    pub href: String,
    /// Shorter text that says what it is about (a summary, objectives).
    pub summary: String,
    /// Its running text.
    pub text: String,
}

/// Where a word occurs: the place and how much it counts there.
#[derive(Clone, Copy, Debug)]
struct Posting {
    place: u32,
    weight: f32,
}

/// The searchable course.
#[derive(Debug, Default)]
pub struct SearchIndex {
    places: Vec<SearchPlace>,
    /// Each indexed word, with where it occurs, sorted so a prefix is a range.
    words: BTreeMap<String, Vec<Posting>>,
}

impl SearchIndex {
    /// Indexes `places`.
    pub fn build(places: Vec<SearchPlace>) -> Self {
        let mut words: BTreeMap<String, HashMap<u32, f32>> = BTreeMap::new();
        for (i, place) in places.iter().enumerate() {
            let i = i as u32;
            let title_weight = match place.kind {
                SearchHitKind::Section => HEADING_WEIGHT,
                _ => TITLE_WEIGHT,
            };
            for (text, weight) in [
                (&place.title, title_weight),
                (&place.summary, SUMMARY_WEIGHT),
                (&place.text, TEXT_WEIGHT),
            ] {
                for word in index_words(text) {
                    *words.entry(word).or_default().entry(i).or_default() += weight;
                }
            }
        }
        let words = words
            .into_iter()
            .map(|(word, places)| {
                let mut postings: Vec<Posting> = places
                    .into_iter()
                    .map(|(place, weight)| Posting { place, weight })
                    .collect();
                postings.sort_by_key(|p| p.place);
                (word, postings)
            })
            .collect();
        Self { places, words }
    }

    /// How many places are indexed.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// The best `limit` places for `query`.
    pub fn search(&self, query: &str, limit: usize) -> SearchResults {
        // A query that ends in a space has its last word finished.
        let last_word_typed = query.ends_with(char::is_whitespace);
        let query: String = query.trim().chars().take(MAX_QUERY_CHARS).collect();
        let terms: Vec<String> = index_words(&query).take(MAX_QUERY_WORDS).collect();
        let mut scores: HashMap<u32, (usize, f32)> = HashMap::new();
        let mut matched_words: Vec<String> = Vec::new();
        let mut unmatched = Vec::new();
        let mut searched = 0;
        for (n, term) in terms.iter().enumerate() {
            let still_typing = n + 1 == terms.len() && !last_word_typed;
            let found = self.matches(term, still_typing);
            if found.is_empty() {
                unmatched.push(term.clone());
                continue;
            }
            searched += 1;
            let mut best: HashMap<u32, f32> = HashMap::new();
            for (word, factor) in found {
                let postings = &self.words[word];
                let rarity = (1.0 + self.places.len() as f32 / postings.len() as f32).ln();
                for posting in postings {
                    let score = posting.weight * factor * rarity;
                    let entry = best.entry(posting.place).or_default();
                    *entry = entry.max(score);
                }
                matched_words.push(word.clone());
            }
            for (place, score) in best {
                let entry = scores.entry(place).or_default();
                entry.0 += 1;
                entry.1 += score;
            }
        }
        let mut ranked: Vec<(u32, f32)> = scores
            .into_iter()
            .filter(|(_, (count, _))| *count == searched)
            .map(|(place, (_, score))| (place, score))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let total = ranked.len();
        let hits = ranked
            .into_iter()
            .take(limit)
            .map(|(place, _)| self.hit(place, &matched_words))
            .collect();
        SearchResults {
            query,
            hits,
            total,
            unmatched,
        }
    }

    /// Indexed words `term` matches, with how much each counts.
    fn matches(&self, term: &str, still_typing: bool) -> Vec<(&String, f32)> {
        let mut found: Vec<(&String, f32)> = Vec::new();
        if let Some((word, _)) = self.words.get_key_value(term) {
            found.push((word, 1.0));
        }
        let prefix_allowed = still_typing || term.chars().count() >= 4;
        if prefix_allowed {
            found.extend(
                self.words
                    .range::<str, _>((std::ops::Bound::Excluded(term), std::ops::Bound::Unbounded))
                    .take_while(|(word, _)| word.starts_with(term))
                    .map(|(word, _)| (word, PREFIX_FACTOR)),
            );
        }
        if found.is_empty() {
            let allowed = typos_allowed(term);
            if allowed > 0 {
                found.extend(
                    self.words
                        .keys()
                        .filter(|word| within_edits(term, word, allowed))
                        .map(|word| (word, TYPO_FACTOR)),
                );
            }
        }
        found
    }

    fn hit(&self, place: u32, matched_words: &[String]) -> SearchHit {
        let place = &self.places[place as usize];
        let source = if place.text.is_empty() {
            &place.summary
        } else {
            &place.text
        };
        SearchHit {
            kind: place.kind,
            title: place.title.clone(),
            context: place.context.clone(),
            href: place.href.clone(),
            snippet: snippet(source, matched_words),
        }
    }
}

/// The words of `text` as indexed: lowercase, stemmed, without stop words.
fn index_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| stem(&w.to_lowercase()))
        .filter(|w| w.chars().count() > 1 || w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
}

/// A word without its plural ending: "queries" as "query", "caches" as
/// "cache"; words ending in "ss", "us" or "is" keep their `s`.
fn stem(word: &str) -> String {
    if let Some(base) = word.strip_suffix("ies") {
        if base.chars().count() >= 2 {
            return format!("{base}y");
        }
    }
    let keeps_s = ["ss", "us", "is"].iter().any(|end| word.ends_with(end));
    match word.strip_suffix('s') {
        Some(base) if !keeps_s && base.chars().count() >= 3 => base.to_string(),
        _ => word.to_string(),
    }
}

/// Typos forgiven in a query word: none in short words, where one typo
/// makes another word; one from four letters; two from eight.
fn typos_allowed(term: &str) -> usize {
    match term.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Whether `a` becomes `b` in at most `limit` single-letter edits
/// (insert, delete, replace, or swap two neighbours).
fn within_edits(a: &str, b: &str, limit: usize) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return false;
    }
    // Rows of the optimal-string-alignment distance, two back for swaps.
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (previous[j] + 1)
                .min(row[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        if row.iter().min().is_some_and(|&m| m > limit) {
            return false;
        }
        before = std::mem::replace(&mut previous, row);
    }
    previous[b.len()] <= limit
}

/// About [`SNIPPET_CHARS`] of `text` around the first of `words`, cut at
/// spaces, with every occurrence of those words marked.
fn snippet(text: &str, words: &[String]) -> Vec<SnippetPart> {
    let spans = word_spans(text, words);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let first = spans.first().map_or(0, |s| s.0);
    let first_char = chars.partition_point(|(at, _)| *at < first);
    let start_char = first_char.saturating_sub(SNIPPET_CHARS / 4);
    let end_char = (start_char + SNIPPET_CHARS).min(chars.len());
    let byte = |c: usize| chars.get(c).map_or(text.len(), |(at, _)| *at);
    let mut start = byte(start_char);
    let mut end = byte(end_char);
    if start > 0 {
        start = text[start..first.max(start)]
            .find(' ')
            .map_or(start, |space| start + space + 1);
    }
    if end < text.len() {
        end = text[start..end]
            .rfind(' ')
            .map_or(end, |space| start + space);
    }
    let mut parts = Vec::new();
    let mut push = |text: &str, hit: bool| {
        if !text.is_empty() {
            parts.push(SnippetPart {
                text: text.to_string(),
                hit,
            });
        }
    };
    if start > 0 {
        push("… ", false);
    }
    let mut at = start;
    for &(from, to) in spans
        .iter()
        .filter(|(from, to)| *from >= start && *to <= end)
    {
        push(&text[at..from], false);
        push(&text[from..to], true);
        at = to;
    }
    push(&text[at..end], false);
    if end < text.len() {
        push(" …", false);
    }
    parts
}

/// Byte ranges of the words of `text` that index as one of `words`.
fn word_spans(text: &str, words: &[String]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (at, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(at),
            (false, Some(from)) => {
                let word = stem(&text[from..at].to_lowercase());
                if words.contains(&word) {
                    spans.push((from, at));
                }
                start = None;
            }
            _ => {}
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(kind: SearchHitKind, title: &str, text: &str) -> SearchPlace {
        SearchPlace {
            kind,
            title: title.into(),
            context: "ctx".into(),
            href: format!("/{}", title.to_lowercase().replace(' ', "-")),
            summary: String::new(),
            text: text.into(),
        }
    }

    fn index() -> SearchIndex {
        SearchIndex::build(vec![
            place(
                SearchHitKind::Lesson,
                "Why cache",
                "A cache keeps answers close to the reader.",
            ),
            place(
                SearchHitKind::Section,
                "Indexes",
                "An index lets the database find rows without a scan.",
            ),
            place(
                SearchHitKind::Exercise,
                "Rate limits",
                "Send requests until the limiter answers 429 Too Many Requests.",
            ),
            place(
                SearchHitKind::Section,
                "Stampedes",
                "When a cached answer expires, many requests miss at once: a stampede.",
            ),
        ])
    }

    fn titles(results: &SearchResults) -> Vec<&str> {
        results.hits.iter().map(|h| h.title.as_str()).collect()
    }

    #[test]
    fn a_title_word_ranks_above_the_same_word_in_text() {
        let results = index().search("cache", 10);
        assert_eq!(titles(&results), vec!["Why cache", "Stampedes"]);
    }

    #[test]
    fn plurals_and_typos_still_find() {
        assert_eq!(titles(&index().search("limiters", 10)), vec!["Rate limits"]);
        assert_eq!(titles(&index().search("stampde", 10)), vec!["Stampedes"]);
        assert_eq!(titles(&index().search("databse", 10)), vec!["Indexes"]);
    }

    #[test]
    fn the_word_being_typed_matches_as_a_prefix() {
        assert_eq!(titles(&index().search("sta", 10)), vec!["Stampedes"]);
        assert!(index().search("sta ", 10).hits.is_empty());
    }

    #[test]
    fn every_matching_word_must_be_there_and_unknown_ones_are_reported() {
        let results = index().search("cache expires", 10);
        assert_eq!(titles(&results), vec!["Stampedes"]);
        let results = index().search("cache zzqx", 10);
        assert_eq!(results.unmatched, vec!["zzqx"]);
        assert_eq!(titles(&results), vec!["Why cache", "Stampedes"]);
    }

    #[test]
    fn numbers_are_words() {
        assert_eq!(titles(&index().search("429", 10)), vec!["Rate limits"]);
    }

    #[test]
    fn snippets_mark_the_matching_words() {
        let results = index().search("scan", 10);
        let marked: Vec<&str> = results.hits[0]
            .snippet
            .iter()
            .filter(|p| p.hit)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(marked, vec!["scan"]);
    }

    #[test]
    fn long_text_is_cut_at_spaces_around_the_first_match() {
        let long = format!("{} needle {}", "word ".repeat(100), "word ".repeat(100));
        let parts = snippet(&long, &["needle".to_string()]);
        let text: String = parts.iter().map(|p| p.text.as_str()).collect();
        assert!(text.starts_with("… word"), "{text}");
        assert!(text.ends_with("word …"), "{text}");
        assert!(text.chars().count() <= SNIPPET_CHARS + 4, "{text}");
    }

    #[test]
    fn edits_count_swaps_as_one() {
        assert!(within_edits("cahce", "cache", 1));
        assert!(within_edits("cach", "cache", 1));
        assert!(!within_edits("cash", "cache", 1));
        assert!(within_edits("idempotnet", "idempotent", 2));
    }

    #[test]
    fn an_empty_or_stop_word_query_finds_nothing() {
        assert!(index().search("", 10).hits.is_empty());
        assert!(index().search("the of", 10).hits.is_empty());
    }
}
