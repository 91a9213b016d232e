//! The guarded SQLite connection that runs students' SQL.
//!
//! This is the one place in the workbench that calls SQLite's C API
//! directly (through `libsqlite3-sys`, the crate sqlx itself is built on),
//! because the guard rails need hooks sqlx does not expose:
//! - an **authorizer** refuses ATTACH/DETACH (and so `VACUUM INTO`),
//!   extension loading, virtual tables other than FTS5, temporary
//!   tables, every PRAGMA that is not read-only introspection, and any
//!   database but `main`;
//! - a **progress handler** interrupts a statement past its deadline;
//! - `sqlite3_prepare_v2`'s tail pointer tells whether the text holds
//!   more than one statement, and `sqlite3_error_offset` where an error is;
//! - the connection limits (`SQLITE_LIMIT_ATTACHED` = 0, lengths) and
//!   `max_page_count` cap what a statement may do and how big the file gets.
//!
//! Every call is blocking: callers run it on a blocking thread.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;
use std::ptr;
use std::time::{Duration, Instant};

use libsqlite3_sys as ffi;
use serde::Serialize;
use serde_json::Value;

pub use model::labs::sql::{Column, ErrorKind, Position, QueryOutput, SqlValue};

/// Page size of sandboxes; with [`Db::open`]'s `max_pages` it bounds the file.
pub const PAGE_SIZE: u64 = 4096;

/// Longest text or blob a value may be (1 MiB), so `zeroblob(1e9)` is refused.
const MAX_VALUE_BYTES: c_int = 1 << 20;
/// Longest SQL text accepted (64 KiB).
const MAX_SQL_BYTES: c_int = 64 * 1024;
/// Characters of a text value sent back before it is cut.
const MAX_TEXT_CHARS: usize = 2000;
/// Columns a result may have.
const MAX_COLUMNS: c_int = 100;
/// Bytes of values one result may carry before the run stops reading (8 MiB).
const MAX_RESULT_BYTES: usize = 8 << 20;
/// Memory all of SQLite in this process may hold (512 MiB). Some statements
/// grow while they are prepared, before the progress handler ever runs (a
/// CTE referenced twice at each of twenty levels is copied a million
/// times); this ceiling turns that into an error instead of an exhausted
/// machine. It is far above what the platform database and the sandboxes
/// need together.
const HEAP_LIMIT: i64 = 512 << 20;

/// PRAGMAs a student may run: they only describe the schema.
const INTROSPECTION_PRAGMAS: [&str; 8] = [
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "foreign_key_check",
];

/// How a connection may touch its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A student's own sandbox: any statement the authorizer allows.
    ReadWrite,
    /// A shared dataset that never changes (grading): no writes at all.
    ReadOnly,
}

/// What a single run may use.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Wall-clock time one statement may take before it is interrupted.
    pub time: Duration,
    /// Rows returned; the run stops reading after this many.
    pub max_rows: usize,
}

/// An error with SQLite's own message and, where known, its position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct SqlError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// SQLite's message, or the sandbox's reason.
    pub message: String,
    /// 1-based line and column in the SQL text, when SQLite knows it.
    pub position: Option<Position>,
}

impl SqlError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            position: None,
        }
    }
}

/// One open connection with the sandbox's guard rails.
pub struct Db {
    raw: *mut ffi::sqlite3,
    /// Read by the progress handler: the running statement's deadline.
    /// Owned (from `Box::into_raw`) and freed after the connection closes;
    /// only ever accessed through this pointer, never through a `Box`.
    deadline: *mut Option<Instant>,
    /// The first refusal the authorizer made during the current prepare
    /// (owned like `deadline`).
    refusal: *mut Option<String>,
    /// Times SQLite called the busy handler since it was last read, once
    /// [`Db::count_busy_waits`] installed it (owned like `deadline`).
    busy_waits: *mut u32,
    /// What the last statement run cost, as SQLite counted it.
    last_steps: StepCounts,
}

/// How much work SQLite did for one statement, from its own counters
/// (`sqlite3_stmt_status`): what the API lab shows as "rows scanned".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct StepCounts {
    /// Rows stepped over in full table scans (an `OFFSET` walks past them).
    pub full_scan_steps: u64,
    /// Sorts the statement needed.
    pub sorts: u64,
    /// Virtual machine instructions run: the statement's whole effort.
    pub vm_steps: u64,
}

// SAFETY: the connection is opened in serialized mode (SQLITE_OPEN_FULLMUTEX)
// and owned by one `Db`; moving it between threads is allowed by SQLite.
unsafe impl Send for Db {}

/// How long a statement waits for another connection's lock on the file
/// (another server's, on a shared data folder) before it is refused as busy.
const LOCK_WAIT_MS: c_int = 1_000;

impl Db {
    /// Opens `path` with the guard rails installed. A read-write sandbox
    /// may grow to `max_pages` pages of [`PAGE_SIZE`] bytes.
    pub fn open(path: &Path, access: Access, max_pages: u64) -> Result<Self, SqlError> {
        static HEAP: std::sync::Once = std::sync::Once::new();
        // SAFETY: sets a process-wide limit; safe to call at any time.
        HEAP.call_once(|| unsafe {
            ffi::sqlite3_hard_heap_limit64(HEAP_LIMIT);
        });
        let (uri, flags) = match access {
            Access::ReadWrite => (
                format!("file:{}", uri_path(path)),
                ffi::SQLITE_OPEN_READWRITE,
            ),
            // immutable: a dataset is written once, then renamed into place.
            Access::ReadOnly => (
                format!("file:{}?mode=ro&immutable=1", uri_path(path)),
                ffi::SQLITE_OPEN_READONLY,
            ),
        };
        let c_uri = CString::new(uri).map_err(|_| SqlError::new(ErrorKind::Runtime, "bad path"))?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid C string and out-pointer; on failure the handle is still closed below.
        let rc = unsafe {
            ffi::sqlite3_open_v2(
                c_uri.as_ptr(),
                &mut raw,
                flags | ffi::SQLITE_OPEN_URI | ffi::SQLITE_OPEN_FULLMUTEX,
                ptr::null(),
            )
        };
        let mut db = Self {
            raw,
            deadline: Box::into_raw(Box::new(None)),
            refusal: Box::into_raw(Box::new(None)),
            busy_waits: Box::into_raw(Box::new(0)),
            last_steps: StepCounts::default(),
        };
        if rc != ffi::SQLITE_OK {
            return Err(db.error(ErrorKind::Runtime));
        }
        db.configure(access, max_pages)?;
        Ok(db)
    }

    /// Settings made before the authorizer is installed, which then keeps
    /// the student from changing them.
    fn configure(&mut self, access: Access, max_pages: u64) -> Result<(), SqlError> {
        // SAFETY: `self.raw` is an open connection; the pointers handed to the
        // callbacks are boxes owned by `self`, which outlive the connection.
        unsafe {
            ffi::sqlite3_extended_result_codes(self.raw, 1);
            // Another server on the same data folder may hold the file's
            // write lock for a moment (in one server a student's statements
            // run one at a time): wait for it rather than refuse.
            ffi::sqlite3_busy_timeout(self.raw, LOCK_WAIT_MS);
            ffi::sqlite3_limit(self.raw, ffi::SQLITE_LIMIT_ATTACHED, 0);
            ffi::sqlite3_limit(self.raw, ffi::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES);
            ffi::sqlite3_limit(self.raw, ffi::SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES);
            ffi::sqlite3_limit(self.raw, ffi::SQLITE_LIMIT_COLUMN, MAX_COLUMNS);
            ffi::sqlite3_db_config(
                self.raw,
                ffi::SQLITE_DBCONFIG_DEFENSIVE,
                1 as c_int,
                ptr::null_mut::<c_int>(),
            );
            ffi::sqlite3_db_config(
                self.raw,
                ffi::SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION,
                0 as c_int,
                ptr::null_mut::<c_int>(),
            );
        }
        let pragmas = match access {
            // WAL: readers never wait for a writer, as in most servers' databases.
            Access::ReadWrite => format!(
                "PRAGMA journal_mode = WAL; PRAGMA journal_size_limit = 8388608; PRAGMA foreign_keys = ON; PRAGMA max_page_count = {max_pages}; PRAGMA cache_size = -4000;"
            ),
            Access::ReadOnly => "PRAGMA query_only = ON; PRAGMA cache_size = -4000;".to_string(),
        };
        self.execute_trusted(&pragmas)?;
        // SAFETY: as above.
        unsafe {
            ffi::sqlite3_progress_handler(
                self.raw,
                1000,
                Some(past_deadline),
                self.deadline.cast(),
            );
            ffi::sqlite3_set_authorizer(self.raw, Some(authorize), self.refusal.cast());
        }
        Ok(())
    }

    /// Runs trusted SQL (the workbench's own, never a student's) with no
    /// authorizer in the way only before it is installed; afterwards the
    /// authorizer applies to it too.
    pub fn execute_trusted(&mut self, sql: &str) -> Result<(), SqlError> {
        let c_sql =
            CString::new(sql).map_err(|_| SqlError::new(ErrorKind::Syntax, "NUL in SQL"))?;
        // SAFETY: open connection, valid C string, no callback.
        let rc = unsafe {
            ffi::sqlite3_exec(
                self.raw,
                c_sql.as_ptr(),
                None,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(self.error(classify(rc)))
        }
    }

    /// Runs exactly one statement of `sql` within `limits`.
    pub fn run(&mut self, sql: &str, limits: Limits) -> Result<QueryOutput, SqlError> {
        self.run_with(sql, limits, &[])
    }

    /// [`Db::run`] with `?` parameters bound in order (integers or text).
    pub fn run_with(
        &mut self,
        sql: &str,
        limits: Limits,
        parameters: &[Value],
    ) -> Result<QueryOutput, SqlError> {
        let started = Instant::now();
        self.set_deadline(Some(started + limits.time));
        let result = self.run_inner(sql, limits, parameters, started);
        self.set_deadline(None);
        result
    }

    fn run_inner(
        &mut self,
        sql: &str,
        limits: Limits,
        parameters: &[Value],
        started: Instant,
    ) -> Result<QueryOutput, SqlError> {
        let statement = self.prepare_one(sql)?;
        statement
            .bind(parameters)
            .map_err(|_| self.error(ErrorKind::Runtime))?;
        let columns = statement.columns();
        let read_only = statement.read_only();
        let mut rows = Vec::new();
        let mut truncated = false;
        let mut bytes = 0;
        loop {
            // SAFETY: a prepared statement of this connection.
            match unsafe { ffi::sqlite3_step(statement.raw) } {
                ffi::SQLITE_ROW if rows.len() == limits.max_rows || bytes > MAX_RESULT_BYTES => {
                    truncated = true;
                    break;
                }
                ffi::SQLITE_ROW => {
                    let row = statement.row(columns.len());
                    bytes += row.iter().map(size_of_value).sum::<usize>();
                    rows.push(row);
                }
                ffi::SQLITE_DONE => break,
                rc => {
                    let error = self.error(classify(rc));
                    drop(statement);
                    return Err(error);
                }
            }
        }
        self.last_steps = statement.step_counts();
        drop(statement);
        // SAFETY: open connection.
        let changes = if read_only {
            0
        } else {
            unsafe { ffi::sqlite3_changes64(self.raw) }.max(0) as u64
        };
        Ok(QueryOutput {
            columns,
            rows,
            truncated,
            changes,
            read_only,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// What the last statement run by [`Db::run_with`] cost.
    pub fn last_step_counts(&self) -> StepCounts {
        self.last_steps
    }

    /// Whether the one statement in `sql` only reads, without running it.
    pub fn is_read_only(&mut self, sql: &str) -> Result<bool, SqlError> {
        Ok(self.prepare_one(sql)?.read_only())
    }

    /// Prepares the one statement in `sql`, refusing empty and multiple ones.
    fn prepare_one(&mut self, sql: &str) -> Result<Statement, SqlError> {
        let (statement, rest) = self.prepare(sql, 0)?;
        let Some(statement) = statement else {
            return Err(SqlError::new(
                ErrorKind::Shape,
                "there is no SQL statement to run",
            ));
        };
        if let (Some(_second), _) = self.prepare(sql, rest)? {
            return Err(SqlError {
                kind: ErrorKind::Shape,
                message: "one statement per run: remove everything after the first `;`".into(),
                position: Some(position_of(sql, rest)),
            });
        }
        Ok(statement)
    }

    /// Prepares the statement starting at byte `from`; also returns where
    /// the next one would start.
    fn prepare(&mut self, sql: &str, from: usize) -> Result<(Option<Statement>, usize), SqlError> {
        let text = &sql.as_bytes()[from..];
        if text.iter().all(u8::is_ascii_whitespace) {
            return Ok((None, sql.len()));
        }
        let length = c_int::try_from(text.len())
            .map_err(|_| SqlError::new(ErrorKind::Shape, "the SQL text is too long"))?;
        let mut raw = ptr::null_mut();
        let mut tail: *const c_char = ptr::null();
        self.take_refusal();
        // SAFETY: `text` outlives the call; out-pointers are valid.
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(self.raw, text.as_ptr().cast(), length, &mut raw, &mut tail)
        };
        if rc != ffi::SQLITE_OK {
            let mut error = self.error(classify(rc));
            if let Some(reason) = self.take_refusal() {
                error.kind = ErrorKind::Refused;
                error.message = reason;
            }
            // SQLite counts from where this statement starts.
            error.position = self.error_offset().map(|at| position_of(sql, from + at));
            return Err(error);
        }
        let consumed = (tail as usize).saturating_sub(text.as_ptr() as usize);
        let statement = (!raw.is_null()).then_some(Statement { raw });
        Ok((statement, from + consumed))
    }

    /// Installs a busy handler that never sleeps: it counts the call and
    /// lets the statement fail with `SQLITE_BUSY` at once. SQLite calls a
    /// busy handler only when waiting could help (not, for one, when a
    /// transaction that has already read wants to write), so the count
    /// tells a lock a busy timeout would wait for from one SQLite refuses
    /// outright. Read it with [`Db::take_busy_waits`].
    pub(crate) fn count_busy_waits(&mut self) {
        // SAFETY: open connection; the counter is a box owned by `self`,
        // freed only after the connection closes.
        unsafe {
            ffi::sqlite3_busy_handler(self.raw, Some(count_busy_wait), self.busy_waits.cast());
        }
    }

    /// The busy handler's calls since the last time this was asked.
    pub(crate) fn take_busy_waits(&mut self) -> u32 {
        // SAFETY: as in `set_deadline`.
        unsafe { std::mem::take(&mut *self.busy_waits) }
    }

    fn set_deadline(&mut self, deadline: Option<Instant>) {
        // SAFETY: owned by `self`; SQLite reads it only during calls made
        // through `&mut self`, so nothing else touches it now.
        unsafe { *self.deadline = deadline };
    }

    fn take_refusal(&mut self) -> Option<String> {
        // SAFETY: as in `set_deadline`.
        unsafe { (*self.refusal).take() }
    }

    /// The last error on this connection, as an [`SqlError`].
    fn error(&self, kind: ErrorKind) -> SqlError {
        // SAFETY: open (or failed-open) connection; SQLite owns the message.
        let message = unsafe {
            CStr::from_ptr(ffi::sqlite3_errmsg(self.raw))
                .to_string_lossy()
                .into_owned()
        };
        let message = match kind {
            ErrorKind::Timeout => "the statement ran past its time limit and was stopped".into(),
            ErrorKind::Memory => "the statement needs more memory than the sandbox allows".into(),
            ErrorKind::Full => {
                "the sandbox is full: it reached its size limit (drop what you added, or reset it)"
                    .into()
            }
            _ => message,
        };
        SqlError::new(kind, message)
    }

    /// The byte offset of the last error in the statement's text, if known.
    fn error_offset(&self) -> Option<usize> {
        // SAFETY: open connection.
        usize::try_from(unsafe { ffi::sqlite3_error_offset(self.raw) }).ok()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // SAFETY: every statement borrows `self` mutably and is finalized
        // before the run returns, so none is left open here and the close
        // succeeds; only then are the callbacks' slots freed.
        unsafe {
            let rc = ffi::sqlite3_close(self.raw);
            debug_assert_eq!(rc, ffi::SQLITE_OK, "a statement outlived its run");
            drop(Box::from_raw(self.deadline));
            drop(Box::from_raw(self.refusal));
            drop(Box::from_raw(self.busy_waits));
        }
    }
}

/// A prepared statement, finalized on drop.
struct Statement {
    raw: *mut ffi::sqlite3_stmt,
}

impl Statement {
    fn step_counts(&self) -> StepCounts {
        // SAFETY: a prepared statement; reading a counter without resetting it.
        let counter = |op| unsafe { ffi::sqlite3_stmt_status(self.raw, op, 0) }.max(0) as u64;
        StepCounts {
            full_scan_steps: counter(ffi::SQLITE_STMTSTATUS_FULLSCAN_STEP),
            sorts: counter(ffi::SQLITE_STMTSTATUS_SORT),
            vm_steps: counter(ffi::SQLITE_STMTSTATUS_VM_STEP),
        }
    }

    fn bind(&self, parameters: &[Value]) -> Result<(), ()> {
        for (index, value) in parameters.iter().enumerate() {
            let at = index as c_int + 1;
            // SAFETY: prepared statement; SQLITE_TRANSIENT makes SQLite copy text.
            let rc = unsafe {
                match value {
                    Value::Number(n) if n.is_i64() => {
                        ffi::sqlite3_bind_int64(self.raw, at, n.as_i64().unwrap_or_default())
                    }
                    Value::Number(n) => {
                        ffi::sqlite3_bind_double(self.raw, at, n.as_f64().unwrap_or_default())
                    }
                    Value::String(s) => ffi::sqlite3_bind_text(
                        self.raw,
                        at,
                        s.as_ptr().cast(),
                        s.len() as c_int,
                        ffi::SQLITE_TRANSIENT(),
                    ),
                    _ => ffi::sqlite3_bind_null(self.raw, at),
                }
            };
            if rc != ffi::SQLITE_OK {
                return Err(());
            }
        }
        Ok(())
    }

    fn columns(&self) -> Vec<Column> {
        // SAFETY: prepared statement; names are copied before the next call.
        unsafe {
            (0..ffi::sqlite3_column_count(self.raw))
                .map(|i| Column {
                    name: text_of(ffi::sqlite3_column_name(self.raw, i)).unwrap_or_default(),
                    decl_type: text_of(ffi::sqlite3_column_decltype(self.raw, i)),
                })
                .collect()
        }
    }

    fn read_only(&self) -> bool {
        // SAFETY: prepared statement.
        unsafe { ffi::sqlite3_stmt_readonly(self.raw) != 0 }
    }

    /// The current row's values.
    fn row(&self, width: usize) -> Vec<SqlValue> {
        (0..width as c_int).map(|i| self.value(i)).collect()
    }

    fn value(&self, i: c_int) -> SqlValue {
        // SAFETY: the statement has a current row; blob/text pointers are
        // read before any other call on the statement.
        unsafe {
            match ffi::sqlite3_column_type(self.raw, i) {
                ffi::SQLITE_INTEGER => SqlValue::Integer(ffi::sqlite3_column_int64(self.raw, i)),
                ffi::SQLITE_FLOAT => {
                    // JSON has no NaN or infinity: those go as their text.
                    let x = ffi::sqlite3_column_double(self.raw, i);
                    if x.is_finite() {
                        SqlValue::Real(x)
                    } else {
                        SqlValue::Text(x.to_string())
                    }
                }
                ffi::SQLITE_TEXT => {
                    let text = ffi::sqlite3_column_text(self.raw, i);
                    if text.is_null() {
                        return SqlValue::Null;
                    }
                    let bytes = std::slice::from_raw_parts(
                        text,
                        ffi::sqlite3_column_bytes(self.raw, i) as usize,
                    );
                    let text = String::from_utf8_lossy(bytes);
                    SqlValue::Text(cut(&text))
                }
                ffi::SQLITE_BLOB => {
                    let length = ffi::sqlite3_column_bytes(self.raw, i) as usize;
                    let bytes: &[u8] = if length == 0 {
                        &[]
                    } else {
                        std::slice::from_raw_parts(
                            ffi::sqlite3_column_blob(self.raw, i).cast(),
                            length,
                        )
                    };
                    let hex: String = bytes.iter().take(32).map(|b| format!("{b:02X}")).collect();
                    let more = if length > 32 { "…" } else { "" };
                    SqlValue::Text(format!("x'{hex}'{more}"))
                }
                _ => SqlValue::Null,
            }
        }
    }
}

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: prepared by this module and finalized once.
        unsafe {
            ffi::sqlite3_finalize(self.raw);
        }
    }
}

/// Roughly what a value weighs in a JSON answer.
fn size_of_value(value: &SqlValue) -> usize {
    match value {
        SqlValue::Text(s) => s.len() + 2,
        _ => 8,
    }
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// # Safety
/// `text` is null or a NUL-terminated string.
unsafe fn text_of(text: *const c_char) -> Option<String> {
    (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned())
}

fn uri_path(path: &Path) -> String {
    // A URI path: percent-encode the characters URIs give a meaning to.
    path.display()
        .to_string()
        .replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23")
}

/// Maps a result code to what it means for a student.
fn classify(rc: c_int) -> ErrorKind {
    if rc == ffi::SQLITE_BUSY_SNAPSHOT {
        return ErrorKind::StaleSnapshot;
    }
    match rc & 0xff {
        ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED => ErrorKind::Busy,
        ffi::SQLITE_INTERRUPT => ErrorKind::Timeout,
        ffi::SQLITE_NOMEM | ffi::SQLITE_TOOBIG => ErrorKind::Memory,
        ffi::SQLITE_FULL => ErrorKind::Full,
        ffi::SQLITE_AUTH => ErrorKind::Refused,
        ffi::SQLITE_ERROR => ErrorKind::Syntax,
        _ => ErrorKind::Runtime,
    }
}

/// The 1-based line and column of byte `offset` in `sql`.
fn position_of(sql: &str, offset: usize) -> Position {
    let mut end = offset.min(sql.len());
    while !sql.is_char_boundary(end) {
        end -= 1;
    }
    let before = &sql[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line,
        column: before[line_start..].chars().count() + 1,
    }
}

/// Progress handler: non-zero interrupts the statement.
extern "C" fn past_deadline(deadline: *mut c_void) -> c_int {
    // SAFETY: the pointer is the `Db`'s boxed deadline, alive while it is open.
    let deadline = unsafe { &*deadline.cast::<Option<Instant>>() };
    c_int::from(deadline.is_some_and(|d| Instant::now() >= d))
}

/// Busy handler of [`Db::count_busy_waits`]: counts, and gives up (0).
extern "C" fn count_busy_wait(count: *mut c_void, _attempt: c_int) -> c_int {
    // SAFETY: the pointer is the `Db`'s boxed counter, alive while it is
    // open, and SQLite calls this only from within a call through `&mut Db`.
    let count = unsafe { &mut *count.cast::<u32>() };
    *count += 1;
    0
}

/// The authorizer: what a student's statement may do.
extern "C" fn authorize(
    refusal: *mut c_void,
    action: c_int,
    first: *const c_char,
    second: *const c_char,
    database: *const c_char,
    _trigger: *const c_char,
) -> c_int {
    // SAFETY: SQLite passes NUL-terminated strings or nulls; `refusal` is
    // the `Db`'s boxed slot, alive while it is open.
    let (first, second, database) = unsafe { (text_of(first), text_of(second), text_of(database)) };
    match refuse(
        action,
        first.as_deref(),
        second.as_deref(),
        database.as_deref(),
    ) {
        None => ffi::SQLITE_OK,
        Some(reason) => {
            let slot = unsafe { &mut *refusal.cast::<Option<String>>() };
            slot.get_or_insert(reason);
            ffi::SQLITE_DENY
        }
    }
}

/// Why the sandbox refuses an action, or `None` to allow it.
fn refuse(
    action: c_int,
    first: Option<&str>,
    second: Option<&str>,
    database: Option<&str>,
) -> Option<String> {
    match action {
        ffi::SQLITE_ATTACH | ffi::SQLITE_DETACH => Some(
            "ATTACH and DETACH are refused: your sandbox is the only database you can reach (VACUUM attaches a database to rebuild into, so it is refused too)"
                .into(),
        ),
        ffi::SQLITE_PRAGMA => {
            let name = first.unwrap_or_default().to_ascii_lowercase();
            // FTS5 reads the read-only `data_version` counter on its own, to
            // notice changes made by other connections.
            let introspection =
                INTROSPECTION_PRAGMAS.contains(&name.as_str()) || name == "data_version";
            // A table-valued introspection pragma takes a table name, never a setting.
            (!introspection).then(|| {
                format!(
                    "PRAGMA {name} is refused: the sandbox allows only {}",
                    INTROSPECTION_PRAGMAS.join(", ")
                )
            })
        }
        ffi::SQLITE_FUNCTION => {
            let name = second.unwrap_or_default().to_ascii_lowercase();
            // fts3_tokenizer hands out a raw pointer: an address, not data.
            match name.as_str() {
                "load_extension" => Some("load_extension is refused: the sandbox loads no extensions".into()),
                "fts3_tokenizer" => Some("fts3_tokenizer is refused in the sandbox".into()),
                _ => None,
            }
        }
        // FTS5 is the one module allowed, for the search lesson's live demo:
        // its index lives in ordinary shadow tables of `main`, which
        // SQLITE_DBCONFIG_DEFENSIVE keeps students from writing to directly.
        ffi::SQLITE_CREATE_VTABLE | ffi::SQLITE_DROP_VTABLE
            if second.is_some_and(|module| module.eq_ignore_ascii_case("fts5")) =>
        {
            None
        }
        ffi::SQLITE_CREATE_VTABLE | ffi::SQLITE_DROP_VTABLE => {
            Some("virtual tables are refused in the sandbox, except fts5 full-text indexes".into())
        }
        ffi::SQLITE_CREATE_TEMP_INDEX
        | ffi::SQLITE_CREATE_TEMP_TABLE
        | ffi::SQLITE_CREATE_TEMP_TRIGGER
        | ffi::SQLITE_CREATE_TEMP_VIEW => Some(
            "temporary objects are refused: create an ordinary table in your sandbox instead"
                .into(),
        ),
        _ => match database {
            Some(name) if name != "main" && name != "temp" => {
                Some(format!("database `{name}` is out of reach: only `main` is yours"))
            }
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        time: Duration::from_millis(500),
        max_rows: 5,
    };

    fn scratch() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        std::fs::write(&path, b"").unwrap();
        let mut db = Db::open(&path, Access::ReadWrite, 2000).unwrap();
        db.run("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)", LIMITS)
            .unwrap();
        db.run("INSERT INTO t (b) VALUES ('x'), ('y'), (NULL)", LIMITS)
            .unwrap();
        (dir, db)
    }

    #[test]
    fn a_select_returns_typed_columns_and_json_values() {
        let (_dir, mut db) = scratch();
        let out = db
            .run("SELECT a, b, a * 1.5 AS c FROM t ORDER BY a", LIMITS)
            .unwrap();
        assert_eq!(out.columns[0].decl_type.as_deref(), Some("INTEGER"));
        assert_eq!(out.columns[2].name, "c");
        assert_eq!(
            out.rows[0],
            vec![
                SqlValue::Integer(1),
                SqlValue::Text("x".into()),
                SqlValue::Real(1.5)
            ]
        );
        assert_eq!(out.rows[2][1], SqlValue::Null);
        assert!(out.read_only && !out.truncated);
    }

    #[test]
    fn writes_report_changes_and_rows_stop_at_the_cap() {
        let (_dir, mut db) = scratch();
        let out = db.run("INSERT INTO t (b) SELECT b FROM t", LIMITS).unwrap();
        assert_eq!(out.changes, 3);
        let out = db.run("SELECT * FROM t", LIMITS).unwrap();
        assert_eq!(out.rows.len(), 5);
        assert!(out.truncated);
    }

    #[test]
    fn errors_carry_sqlites_message_and_a_position() {
        let (_dir, mut db) = scratch();
        let error = db.run("SELECT a,\n  nope FROM t", LIMITS).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Syntax);
        assert!(error.message.contains("no such column: nope"), "{error:?}");
        assert_eq!(error.position, Some(Position { line: 2, column: 3 }));
    }

    #[test]
    fn only_one_statement_runs() {
        let (_dir, mut db) = scratch();
        let error = db.run("SELECT 1; DELETE FROM t", LIMITS).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Shape);
        assert_eq!(
            db.run("SELECT count(*) FROM t", LIMITS).unwrap().rows[0][0],
            SqlValue::Integer(3)
        );
        // A trailing semicolon or comment is not a second statement.
        assert!(db.run("SELECT 1; -- done\n", LIMITS).is_ok());
        assert_eq!(db.run("  ", LIMITS).unwrap_err().kind, ErrorKind::Shape);
    }

    #[test]
    fn dangerous_statements_are_refused_with_a_reason() {
        let (dir, mut db) = scratch();
        let other = dir.path().join("other.db").display().to_string();
        for sql in [
            format!("ATTACH '{other}' AS other"),
            format!("VACUUM INTO '{other}'"),
            "SELECT load_extension('x')".to_string(),
            "PRAGMA writable_schema = ON".to_string(),
            "PRAGMA foreign_keys = OFF".to_string(),
            "PRAGMA max_page_count = 1000000".to_string(),
            "CREATE TEMP TABLE x (a)".to_string(),
        ] {
            let error = db.run(&sql, LIMITS).unwrap_err();
            assert_eq!(error.kind, ErrorKind::Refused, "{sql}: {error:?}");
        }
        assert!(!dir.path().join("other.db").exists());
        assert!(db.run("PRAGMA table_info(t)", LIMITS).is_ok());
    }

    #[test]
    fn fts5_is_the_one_virtual_table_allowed() {
        let (_dir, mut db) = scratch();
        db.run(
            "CREATE VIRTUAL TABLE s USING fts5(b, content='t', content_rowid='a')",
            LIMITS,
        )
        .unwrap();
        db.run("INSERT INTO s(s) VALUES ('rebuild')", LIMITS)
            .unwrap();
        let out = db
            .run("SELECT rowid FROM s WHERE s MATCH 'y'", LIMITS)
            .unwrap();
        assert_eq!(out.rows, vec![vec![SqlValue::Integer(2)]]);
        // Its shadow tables cannot be written directly (DEFENSIVE).
        assert!(db.run("DELETE FROM s_data", LIMITS).is_err());
        for sql in [
            "CREATE VIRTUAL TABLE r USING rtree(id, lo, hi)",
            "CREATE VIRTUAL TABLE f USING fts4(b)",
        ] {
            let error = db.run(sql, LIMITS).unwrap_err();
            assert_eq!(error.kind, ErrorKind::Refused, "{sql}: {error:?}");
        }
        db.run("DROP TABLE s", LIMITS).unwrap();
    }

    #[test]
    fn a_runaway_statement_is_interrupted_at_its_deadline() {
        let (_dir, mut db) = scratch();
        let started = Instant::now();
        let error = db
            .run(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
                LIMITS,
            )
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Timeout);
        assert!(started.elapsed() < Duration::from_secs(5));
        // The connection is usable afterwards.
        assert!(db.run("SELECT 1", LIMITS).is_ok());
    }

    #[test]
    fn wide_rows_stop_at_the_byte_budget_and_too_many_columns_are_refused() {
        let (_dir, mut db) = scratch();
        let columns = vec!["x"; 100].join(", ");
        let sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) SELECT {columns} FROM n, (SELECT printf('%.2000c', 'y') AS x)"
        );
        let out = db
            .run(
                &sql,
                Limits {
                    max_rows: 1000,
                    ..LIMITS
                },
            )
            .unwrap();
        assert!(out.truncated);
        assert!(
            out.rows.len() < 100,
            "{} rows of 200 KB each",
            out.rows.len()
        );
        let too_wide = format!("SELECT {}", vec!["1"; 101].join(", "));
        assert!(db.run(&too_wide, LIMITS).is_err());
    }

    #[test]
    fn the_file_cannot_grow_past_its_page_cap() {
        let (_dir, mut db) = scratch();
        let error = db
            .run(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) INSERT INTO t (b) SELECT hex(randomblob(200)) FROM n",
                Limits { time: Duration::from_secs(30), ..LIMITS },
            )
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Full, "{error:?}");
    }
}
