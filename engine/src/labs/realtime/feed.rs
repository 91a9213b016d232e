//! Each student's feed: its latest messages, a signal that wakes whoever
//! waits for the next one, and what each transport has cost. Messages are
//! numbered and written by the durable log ([`super::log`]) before anyone
//! is sent them; memory holds what clients read, and a feed not in memory
//! (after a restart, or forgotten idle) is loaded from the log.
//!
//! Bounds: a feed keeps its latest [`KEPT_EVENTS`] messages (at most about
//! 115 KiB); the server keeps [`MAX_FEEDS`] feeds in memory, forgetting the
//! least recently used one nobody is connected to when a new student needs
//! one; a student may hold [`MAX_OPEN_PER_STUDENT`] streams, sockets and
//! waiting polls at once, and the whole server [`MAX_OPEN_TOTAL`]; idle
//! students' feeds leave memory ([`Feeds::forget_idle`]). What each
//! transport cost lives in memory only.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use model::labs::realtime::{FeedEvent, FeedPage, FeedStats, Transport, TransportStats};
use tokio::sync::watch;

use super::log::{FeedLog, Logged};
use crate::error::ApiError;
use crate::students::StudentId;

/// Messages a feed keeps; older ones are gone, and a poll says how many it missed.
pub(crate) const KEPT_EVENTS: usize = 100;
/// Streams, sockets and waiting polls one student may hold open at once.
pub(crate) const MAX_OPEN_PER_STUDENT: u32 = 8;
/// Streams, sockets and waiting polls the whole server holds open at once.
pub(crate) const MAX_OPEN_TOTAL: usize = 1024;
/// Longest message, in characters.
pub(crate) const MAX_TEXT_CHARS: usize = 280;
/// Feeds the server keeps; beyond them the least recently used idle one
/// goes (feeds with open connections stay: [`MAX_OPEN_TOTAL`] bounds those).
pub(crate) const MAX_FEEDS: usize = 1000;
/// A feed nobody touched for this long is forgotten.
const IDLE_MS: i64 = 60 * 60 * 1000;

/// A message as the feed takes it, or what is wrong with it.
pub(crate) fn checked_text(text: &str) -> Result<String, String> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 {
        return Err("A message needs some text.".into());
    }
    if chars > MAX_TEXT_CHARS {
        return Err(format!(
            "A message may have at most {MAX_TEXT_CHARS} characters; this one has {chars}."
        ));
    }
    Ok(text.to_string())
}

/// Every student's feed.
pub(crate) struct Feeds {
    per_student: Mutex<HashMap<StudentId, Arc<Feed>>>,
    log: Arc<FeedLog>,
    /// Open streams, sockets and waiting polls on the whole server.
    open_total: Arc<AtomicUsize>,
    /// The server is shutting down: open connections end.
    stopping: watch::Receiver<bool>,
    max_feeds: usize,
}

impl Feeds {
    /// None in memory yet, logged in `log`; connections end when
    /// `stopping` turns `true`.
    pub(crate) fn new(log: FeedLog, stopping: watch::Receiver<bool>) -> Self {
        Self::keeping(MAX_FEEDS, log, stopping)
    }

    /// None in memory yet, and at most `max_feeds` idle ones kept there.
    fn keeping(max_feeds: usize, log: FeedLog, stopping: watch::Receiver<bool>) -> Self {
        Self {
            per_student: Mutex::default(),
            log: Arc::new(log),
            open_total: Arc::default(),
            stopping,
            max_feeds,
        }
    }

    /// Completes when the server starts shutting down.
    pub(crate) async fn stopping(&self) {
        let mut stopping = self.stopping.clone();
        let _ = stopping.wait_for(|stopping| *stopping).await;
    }

    /// The student's feed: the one in memory, or the log's (empty for a
    /// student who never published).
    pub(crate) async fn of(&self, student: &StudentId, now_ms: i64) -> Result<Arc<Feed>, ApiError> {
        if let Some(feed) = self.in_memory(student, now_ms) {
            return Ok(feed);
        }
        let logged = self.log.load(student, now_ms).await.map_err(log_failed)?;
        let mut feeds = self.lock();
        // Another request may have loaded it meanwhile: theirs is the one.
        if let Some(feed) = feeds.get(student) {
            feed.touch(now_ms);
            return Ok(feed.clone());
        }
        if feeds.len() >= self.max_feeds {
            forget_least_recently_used(&mut feeds);
        }
        let feed = Arc::new(Feed::logged(student.clone(), self.log.clone(), logged));
        feed.touch(now_ms);
        feeds.insert(student.clone(), feed.clone());
        Ok(feed)
    }

    fn in_memory(&self, student: &StudentId, now_ms: i64) -> Option<Arc<Feed>> {
        let feeds = self.lock();
        let feed = feeds.get(student)?;
        feed.touch(now_ms);
        Some(feed.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StudentId, Arc<Feed>>> {
        self.per_student.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets feeds untouched for an hour that nobody is connected to (the
    /// log keeps them), and prunes the log in the background.
    pub(crate) fn forget_idle(&self, now_ms: i64) {
        self.lock().retain(|_, feed| {
            let inner = feed.lock();
            now_ms - inner.last_touched_ms < IDLE_MS || inner.open_total() > 0
        });
        let log = self.log.clone();
        tokio::spawn(async move {
            if let Err(e) = log.forget_unused(now_ms).await {
                tracing::warn!(error = %e, "the real-time feeds' log could not be pruned");
            }
        });
    }

    /// Counts one more open stream, socket or waiting poll of `transport`
    /// for the student, or says why not; the count drops with the guard.
    pub(crate) fn open(&self, feed: &Arc<Feed>, transport: Transport) -> Result<Open, ApiError> {
        let mut inner = feed.lock();
        if inner.open_total() >= MAX_OPEN_PER_STUDENT {
            return Err(ApiError::TooManyRequests {
                message: format!(
                    "You have {MAX_OPEN_PER_STUDENT} streams, sockets and waiting polls open, the most one student may hold. Close one (stop a transport, or close a tab) and try again."
                ),
                retry_after_secs: 5,
            });
        }
        let total = self.open_total.fetch_add(1, Ordering::SeqCst);
        if total >= MAX_OPEN_TOTAL {
            self.open_total.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::Unavailable(format!(
                "The server holds {MAX_OPEN_TOTAL} streams open, the most it allows; try again in a moment."
            )));
        }
        let counters = inner.counters(transport);
        counters.open += 1;
        counters.requests += 1;
        Ok(Open {
            feed: feed.clone(),
            transport,
            open_total: self.open_total.clone(),
        })
    }
}

/// The log could not be read or written: the request fails, and says so.
fn log_failed(error: sqlx::Error) -> ApiError {
    tracing::error!(%error, "the real-time feeds' log failed");
    ApiError::Unavailable(
        "The feed's log on the server's disk cannot be used just now; nothing was lost or sent. Try again in a moment.".into(),
    )
}

/// Forgets the least recently touched feed that nobody is connected to.
fn forget_least_recently_used(feeds: &mut HashMap<StudentId, Arc<Feed>>) {
    let idle = feeds
        .iter()
        .filter_map(|(student, feed)| {
            let inner = feed.lock();
            (inner.open_total() == 0).then(|| (inner.last_touched_ms, student.clone()))
        })
        .min_by_key(|(touched, _)| *touched);
    if let Some((_, student)) = idle {
        feeds.remove(&student);
    }
}

/// One open stream, socket or waiting poll, counted until dropped.
pub(crate) struct Open {
    feed: Arc<Feed>,
    transport: Transport,
    open_total: Arc<AtomicUsize>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.open_total.fetch_sub(1, Ordering::SeqCst);
        let mut inner = self.feed.lock();
        let counters = inner.counters(self.transport);
        counters.open = counters.open.saturating_sub(1);
    }
}

/// One student's feed.
pub(crate) struct Feed {
    student: StudentId,
    log: Arc<FeedLog>,
    /// Held while a message is written, so messages enter memory in the
    /// order the log numbered them.
    writing: tokio::sync::Mutex<()>,
    inner: Mutex<FeedInner>,
    /// The newest message's number, for waiters.
    newest: watch::Sender<u64>,
}

#[derive(Default)]
struct FeedInner {
    events: VecDeque<FeedEvent>,
    last_id: u64,
    published: u64,
    last_touched_ms: i64,
    costs: [Costs; 4],
}

/// What one transport has cost: [`TransportStats`] without its name.
#[derive(Clone, Copy, Default)]
struct Costs {
    requests: u64,
    empty_answers: u64,
    messages: u64,
    body_bytes: u64,
    open: u32,
}

impl FeedInner {
    fn counters(&mut self, transport: Transport) -> &mut Costs {
        let index = Transport::ALL
            .iter()
            .position(|t| *t == transport)
            .unwrap_or_default();
        &mut self.costs[index]
    }

    fn open_total(&self) -> u32 {
        self.costs.iter().map(|c| c.open).sum()
    }
}

impl Feed {
    /// The student's feed as the log holds it.
    fn logged(student: StudentId, log: Arc<FeedLog>, logged: Logged) -> Self {
        Self {
            student,
            log,
            writing: tokio::sync::Mutex::new(()),
            inner: Mutex::new(FeedInner {
                events: logged.events.into(),
                last_id: logged.last_id,
                ..FeedInner::default()
            }),
            newest: watch::Sender::new(logged.last_id),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FeedInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn touch(&self, now_ms: i64) {
        self.lock().last_touched_ms = now_ms;
    }

    /// Logs a message, then adds it and wakes everyone waiting for one;
    /// nobody is sent a message the log does not hold.
    pub(crate) async fn publish(&self, text: String, now_ms: i64) -> Result<FeedEvent, ApiError> {
        let _writing = self.writing.lock().await;
        let event = self
            .log
            .append(&self.student, text, now_ms)
            .await
            .map_err(log_failed)?;
        {
            let mut inner = self.lock();
            inner.last_id = event.id;
            inner.published += 1;
            if inner.events.len() == KEPT_EVENTS {
                inner.events.pop_front();
            }
            inner.events.push_back(event.clone());
        }
        self.newest.send_replace(event.id);
        Ok(event)
    }

    /// The messages after `after`, and how many of those the feed no longer
    /// keeps. An `after` this feed never reached was given by an earlier
    /// feed (one the log forgot, or on another data folder): the
    /// client gets everything kept, and is told the numbers started again,
    /// instead of waiting in silence for a number this feed has not
    /// reached.
    pub(crate) fn since(&self, after: u64) -> FeedPage {
        let inner = self.lock();
        let restarted = after > inner.last_id;
        let after = if restarted { 0 } else { after };
        let oldest_kept = inner.events.front().map_or(inner.last_id + 1, |e| e.id);
        FeedPage {
            events: inner
                .events
                .iter()
                .filter(|e| e.id > after)
                .cloned()
                .collect(),
            last_id: inner.last_id,
            missed: oldest_kept.saturating_sub(after + 1),
            restarted,
        }
    }

    /// A receiver that changes whenever a message is published.
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.newest.subscribe()
    }

    /// Counts one poll (a request of its own) and what it answered.
    pub(crate) fn count_poll(&self, transport: Transport, page: &FeedPage, body_bytes: usize) {
        let mut inner = self.lock();
        let counters = inner.counters(transport);
        if transport == Transport::ShortPoll {
            // A long poll was counted when it opened.
            counters.requests += 1;
        }
        if page.events.is_empty() {
            counters.empty_answers += 1;
        }
        counters.messages += page.events.len() as u64;
        counters.body_bytes += body_bytes as u64;
    }

    /// Counts messages and bytes sent on an open stream or socket.
    pub(crate) fn count_sent(&self, transport: Transport, messages: u64, body_bytes: usize) {
        let mut inner = self.lock();
        let counters = inner.counters(transport);
        counters.messages += messages;
        counters.body_bytes += body_bytes as u64;
    }

    /// The feed's costs so far.
    pub(crate) fn stats(&self) -> FeedStats {
        let inner = self.lock();
        FeedStats {
            published: inner.published,
            transports: Transport::ALL
                .iter()
                .zip(inner.costs.iter())
                .map(|(transport, c)| TransportStats {
                    transport: *transport,
                    requests: c.requests,
                    empty_answers: c.empty_answers,
                    messages: c.messages,
                    body_bytes: c.body_bytes,
                    open: c.open,
                })
                .collect(),
        }
    }

    /// Empties the feed (in the log too) and zeroes the costs; open streams
    /// stay open and stay counted. Numbers go on from where they were, so a
    /// client that asks for what came after its last number is never sent
    /// old news.
    pub(crate) async fn reset(&self) -> Result<(), ApiError> {
        let _writing = self.writing.lock().await;
        self.log.clear(&self.student).await.map_err(log_failed)?;
        let mut inner = self.lock();
        inner.events.clear();
        inner.published = 0;
        for costs in &mut inner.costs {
            *costs = Costs {
                open: costs.open,
                ..Costs::default()
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn student() -> StudentId {
        StudentId::from_raw("s-1")
    }

    /// Feeds logged in a folder of their own, at most `max_feeds` in memory.
    fn feeds(max_feeds: usize) -> (Feeds, tempfile::TempDir) {
        let folder = tempfile::tempdir().unwrap();
        let log = FeedLog::open(folder.path());
        (
            Feeds::keeping(max_feeds, log, watch::channel(false).1),
            folder,
        )
    }

    async fn a_feed() -> (Arc<Feed>, tempfile::TempDir) {
        let (feeds, folder) = feeds(MAX_FEEDS);
        (feeds.of(&student(), 0).await.unwrap(), folder)
    }

    #[tokio::test]
    async fn a_poll_gets_what_came_after_its_last_number() {
        let (feed, _folder) = a_feed().await;
        for text in ["a", "b", "c"] {
            feed.publish(text.into(), 0).await.unwrap();
        }
        let page = feed.since(1);
        let texts: Vec<_> = page.events.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["b", "c"]);
        assert_eq!((page.last_id, page.missed), (3, 0));
        assert!(feed.since(3).events.is_empty());
    }

    #[tokio::test]
    async fn a_client_away_too_long_is_told_what_it_missed() {
        let (feed, _folder) = a_feed().await;
        for i in 0..KEPT_EVENTS + 5 {
            feed.publish(format!("m{i}"), 0).await.unwrap();
        }
        let page = feed.since(0);
        assert_eq!(page.events.len(), KEPT_EVENTS);
        assert_eq!(page.missed, 5);
        assert_eq!(page.events[0].id, 6);
        assert_eq!(feed.since(10).missed, 0);
    }

    #[tokio::test]
    async fn a_feed_forgotten_in_memory_comes_back_from_the_log_where_it_was() {
        let (feeds, _folder) = feeds(MAX_FEEDS);
        let feed = feeds.of(&student(), 0).await.unwrap();
        for text in ["a", "b"] {
            feed.publish(text.into(), 0).await.unwrap();
        }
        feeds.forget_idle(IDLE_MS * 2);
        let reloaded = feeds.of(&student(), IDLE_MS * 2).await.unwrap();
        assert!(!Arc::ptr_eq(&reloaded, &feed), "memory forgot it");
        let page = reloaded.since(1);
        assert!(!page.restarted, "the log kept its numbers");
        assert_eq!(page.events.len(), 1);
        assert_eq!(page.events[0].text, "b");
        assert_eq!(reloaded.publish("c".into(), 0).await.unwrap().id, 3);
    }

    #[tokio::test]
    async fn a_number_from_a_feed_that_started_again_gets_everything_kept() {
        let (feed, _folder) = a_feed().await;
        feed.publish("first after the log was lost".into(), 1)
            .await
            .unwrap();
        let page = feed.since(57);
        assert!(page.restarted);
        assert_eq!(page.events.len(), 1, "not a silent wait for message 58");
        assert_eq!((page.last_id, page.missed), (1, 0));
        assert!(!feed.since(1).restarted, "its own numbers are not news");
    }

    #[tokio::test]
    async fn a_reset_keeps_numbering_so_nobody_gets_old_news() {
        let (feeds, _folder) = feeds(MAX_FEEDS);
        let feed = feeds.of(&student(), 0).await.unwrap();
        feed.publish("old".into(), 0).await.unwrap();
        feed.reset().await.unwrap();
        let page = feed.since(1);
        assert!(page.events.is_empty());
        assert_eq!(page.missed, 0);
        assert_eq!(feed.publish("new".into(), 0).await.unwrap().id, 2);
        feeds.forget_idle(IDLE_MS * 2);
        let reloaded = feeds.of(&student(), IDLE_MS * 2).await.unwrap();
        let texts: Vec<_> = reloaded
            .since(0)
            .events
            .into_iter()
            .map(|e| e.text)
            .collect();
        assert_eq!(texts, ["new"], "the log was emptied too");
    }

    #[tokio::test]
    async fn a_log_that_cannot_be_written_refuses_the_message_and_sends_nothing() {
        let folder = tempfile::tempdir().unwrap();
        // A file where the log's folder should be.
        let blocked = folder.path().join("realtime");
        std::fs::write(&blocked, "not a folder").unwrap();
        let feeds = Feeds::new(FeedLog::open(&blocked), watch::channel(false).1);
        let refused = feeds.of(&student(), 0).await;
        assert!(matches!(refused, Err(ApiError::Unavailable(_))));
    }

    #[tokio::test]
    async fn open_streams_are_capped_per_student_and_released_on_drop() {
        let (feeds, _folder) = feeds(MAX_FEEDS);
        let feed = feeds.of(&student(), 0).await.unwrap();
        let held: Vec<_> = (0..MAX_OPEN_PER_STUDENT)
            .map(|_| feeds.open(&feed, Transport::Sse).unwrap())
            .collect();
        assert!(matches!(
            feeds.open(&feed, Transport::WebSocket),
            Err(ApiError::TooManyRequests { .. })
        ));
        drop(held);
        assert!(feeds.open(&feed, Transport::WebSocket).is_ok());
        let stats = feed.stats();
        assert_eq!(
            stats.transports[2].requests,
            u64::from(MAX_OPEN_PER_STUDENT)
        );
        assert_eq!(stats.transports[2].open, 0);
    }

    #[tokio::test]
    async fn the_server_keeps_a_bounded_number_of_feeds_least_recently_used_first() {
        let (feeds, _folder) = feeds(2);
        let (ada, bob, cy) = (
            StudentId::from_raw("ada"),
            StudentId::from_raw("bob"),
            StudentId::from_raw("cy"),
        );
        let listened = feeds.of(&ada, 0).await.unwrap();
        let _open = feeds.open(&listened, Transport::Sse).unwrap();
        let idle = feeds.of(&bob, 1).await.unwrap();
        feeds.of(&cy, 2).await.unwrap();
        // Ada is the least recent but has a stream open; Bob's idle feed goes.
        assert!(Arc::ptr_eq(&feeds.of(&ada, 3).await.unwrap(), &listened));
        assert!(!Arc::ptr_eq(&feeds.of(&bob, 4).await.unwrap(), &idle));
    }

    #[tokio::test]
    async fn idle_feeds_are_forgotten_unless_someone_listens() {
        let (feeds, _folder) = feeds(MAX_FEEDS);
        let feed = feeds.of(&student(), 0).await.unwrap();
        let open = feeds.open(&feed, Transport::Sse).unwrap();
        feeds.forget_idle(IDLE_MS * 2);
        assert!(Arc::ptr_eq(
            &feeds.of(&student(), IDLE_MS * 2).await.unwrap(),
            &feed
        ));
        drop(open);
        feeds.forget_idle(IDLE_MS * 4);
        assert!(!Arc::ptr_eq(
            &feeds.of(&student(), IDLE_MS * 4).await.unwrap(),
            &feed
        ));
    }
}
