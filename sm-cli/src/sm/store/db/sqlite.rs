//! SQLite, the embedded default (issue 5): one file, WAL journal with
//! `synchronous=FULL` (a committed change survives a crash of the process or the
//! machine), a 10 s busy timeout, and every read-modify-write in one `BEGIN IMMEDIATE`
//! transaction, so parallel sm-cli processes on one file neither lose updates nor see
//! "database is locked". Secret columns are overwritten on disk when freed
//! (`secure_delete`). A new file is created with mode 0600, its directory 0700.

use super::super::error::StoreError;
use super::types::{Cell, IfMissing, Value};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a call waits for another process's write transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens the file at `path` (`missing` says what to do when it is not there) and
/// configures the connection. The schema is the caller's.
pub(crate) fn open(path: &Path, missing: IfMissing) -> Result<Connection, StoreError> {
    match missing {
        IfMissing::Refuse if !path.exists() => {
            return Err(StoreError::Missing(path.display().to_string()))
        }
        IfMissing::Refuse => {}
        IfMissing::Create => create_private(path, false)?,
        IfMissing::CreateWithDirectory => create_private(path, true)?,
    }
    let open_err = |e: rusqlite::Error| StoreError::Open {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    let mode = enable_wal(&conn).map_err(open_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Open {
            path: path.display().to_string(),
            reason: format!("the file system does not allow WAL mode (got {mode})"),
        });
    }
    configure(conn, &path.display().to_string())
}

/// A private database in memory, for tests and dry runs.
pub(crate) fn open_in_memory() -> Result<Connection, StoreError> {
    configure(Connection::open_in_memory()?, ":memory:")
}

fn configure(conn: Connection, name: &str) -> Result<Connection, StoreError> {
    let open_err = |e: rusqlite::Error| StoreError::Open {
        path: name.to_string(),
        reason: e.to_string(),
    };
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(open_err)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(open_err)?;
    conn.pragma_update(None, "secure_delete", true)
        .map_err(open_err)?;
    Ok(conn)
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(v),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

pub(super) fn params<'v, 'a>(
    args: &'v [Value<'a>],
) -> rusqlite::ParamsFromIter<std::slice::Iter<'v, Value<'a>>> {
    rusqlite::params_from_iter(args.iter())
}

pub(super) fn cell(row: &rusqlite::Row<'_>, idx: usize) -> Result<Cell, StoreError> {
    Ok(match row.get_ref(idx)? {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(v) => Cell::Int(v),
        ValueRef::Real(v) => return Err(StoreError::Corrupt(format!("column {idx} holds {v}"))),
        ValueRef::Text(t) => Cell::Text(
            std::str::from_utf8(t)
                .map_err(|_| StoreError::Corrupt(format!("column {idx}: text is not UTF-8")))?
                .to_string(),
        ),
        ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
    })
}

/// Switches a file to WAL mode (persistent: later opens only read the mode) and
/// returns the resulting mode. The switch needs an exclusive lock, and SQLite answers
/// `SQLITE_BUSY` at once, without its busy handler, when waiting could deadlock (two
/// processes opening a new file together), so contention is retried here until
/// [`BUSY_TIMEOUT`].
fn enable_wal(conn: &Connection) -> rusqlite::Result<String> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        let attempt = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .and_then(|mode| {
                if mode.eq_ignore_ascii_case("wal") {
                    Ok(mode)
                } else {
                    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                }
            });
        match attempt {
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Creates the file's directory (0700 when we create it) and an empty file with mode
/// 0600 if none exists, so that SQLite, which gives the WAL and shared-memory files the
/// database's mode, never makes the secrets world-readable.
fn create_private(path: &Path, with_directory: bool) -> Result<(), StoreError> {
    let io_err = |p: &Path, source| StoreError::Io {
        path: p.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() && !with_directory {
            return Err(StoreError::NoDirectory(dir.to_path_buf()));
        }
        if !dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(|e| io_err(dir, e))?;
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_err(path, e)),
    }
}
