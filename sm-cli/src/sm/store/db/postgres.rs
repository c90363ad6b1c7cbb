//! PostgreSQL (issue 12, "PostgreSQL"): for several `smdp serve` processes on one
//! database. Driver: the synchronous `postgres` crate (rust-postgres), so the store keeps
//! one blocking API for both databases.
//!
//! Concurrency: every write transaction runs at SERIALIZABLE and is re-run from the start
//! when PostgreSQL reports a serialization failure (40001) or a deadlock (40P01), with a
//! jittered backoff, for up to [`RETRY_FOR`]. Why SERIALIZABLE rather than row locks:
//! each store operation is written as a read-modify-write that assumes a serial order
//! (SQLite's single writer gives one); SERIALIZABLE gives PostgreSQL's guarantee of the
//! same thing (the result equals some serial order of the committed transactions) for
//! every query, present and future, where `SELECT ... FOR UPDATE` would have to be
//! placed by hand on every read that a write depends on, and a forgotten one is a lost
//! update. The price, re-running a conflicting transaction, is low: transactions touch
//! one record and last milliseconds, and the closures have no effect outside the
//! database. Reads run at REPEATABLE READ READ ONLY (one snapshot, never a conflict).
//!
//! A connection that breaks (the server restarted) is replaced at the next call; the
//! call that saw it break fails, since whether its COMMIT arrived is unknown. Addresses,
//! connecting and TLS: [`super::pg_connect`]; values and placeholders:
//! [`super::pg_values`].

use super::super::error::StoreError;
use super::pg_connect::{config, connect_client, redacted};
use super::pg_values::{params, placeholders};
use super::types::Value;
use ::postgres::error::SqlState;
use ::postgres::{Client, Config, Statement};
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

/// How long a write is re-run after serialization failures before the error is
/// reported (the same patience as SQLite's busy timeout).
pub const RETRY_FOR: Duration = Duration::from_secs(10);

/// How each kind of transaction begins: writes SERIALIZABLE (module docs), reads one
/// snapshot, migrations and sweeps READ COMMITTED (migrations lock first, then must see
/// what the holder before them committed; sweeps must take no predicate locks).
pub(crate) const BEGIN_WRITE: &str = "BEGIN ISOLATION LEVEL SERIALIZABLE";
pub(crate) const BEGIN_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
pub(crate) const BEGIN_READ_COMMITTED: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";

/// One connection to the server, re-established when it breaks, with its prepared
/// statements (one `Parse` per distinct query per connection).
pub(crate) struct PgConn {
    config: Config,
    name: String,
    client: RefCell<Option<Client>>,
    statements: RefCell<HashMap<String, Statement>>,
}

impl PgConn {
    /// Parses `url` and connects.
    pub(crate) fn connect(url: &str) -> Result<PgConn, StoreError> {
        let config = config(url)?;
        let name = redacted(&config);
        let conn = PgConn {
            client: RefCell::new(None),
            statements: RefCell::new(HashMap::new()),
            config,
            name,
        };
        conn.ensure_connected()?;
        Ok(conn)
    }

    /// The address without its password.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Connects if there is no client yet or the last one broke.
    fn ensure_connected(&self) -> Result<(), StoreError> {
        let mut slot = self.client.borrow_mut();
        if slot.as_ref().is_none_or(Client::is_closed) {
            *slot = None;
            self.statements.borrow_mut().clear();
            let client = connect_client(&self.config, &self.name)?;
            *slot = Some(client);
        }
        Ok(())
    }

    /// Runs `f` on the client (connected by [`PgConn::ensure_connected`]).
    fn with_client<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, ::postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut slot = self.client.borrow_mut();
        let Some(client) = slot.as_mut() else {
            return Err(StoreError::Open {
                path: self.name.clone(),
                reason: "the connection was lost".into(),
            });
        };
        Ok(f(client)?)
    }

    /// One transaction opened by `begin`: `f`, then COMMIT; ROLLBACK when `f` fails
    /// or panics. `f` runs its statements through this connection.
    pub(crate) fn transaction<T>(
        &self,
        begin: &str,
        f: impl FnOnce(&PgConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.ensure_connected()?;
        self.with_client(|c| c.batch_execute(begin))?;
        let mut open = OpenTx {
            conn: self,
            done: false,
        };
        let out = f(self)?;
        open.done = true;
        self.with_client(|c| c.batch_execute("COMMIT"))?;
        Ok(out)
    }

    /// The prepared statement of `sql` (prepared once per connection).
    fn statement(&self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let rewritten = placeholders(sql)?;
        let s = self.with_client(|c| c.prepare(&rewritten))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// Runs a statement in the open transaction; the number of rows it changed.
    pub(crate) fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<u64, StoreError> {
        let statement = self.statement(sql)?;
        self.with_client(|c| c.execute(&statement, &params(args)))
    }

    /// The rows of a query in the open transaction.
    pub(crate) fn query(
        &self,
        sql: &str,
        args: &[Value<'_>],
    ) -> Result<Vec<::postgres::Row>, StoreError> {
        let statement = self.statement(sql)?;
        self.with_client(|c| c.query(&statement, &params(args)))
    }

    /// Runs several statements without placeholders (a migration step).
    pub(crate) fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.with_client(|c| c.batch_execute(sql))
    }
}

impl Drop for PgConn {
    /// The synchronous client runs a runtime of its own to close its connection, which
    /// panics inside another tokio runtime ("Cannot start a runtime from within a
    /// runtime"): `smdp serve` drops its store when its server stops, inside one. There
    /// the client is dropped on a thread of its own.
    fn drop(&mut self) {
        self.statements.get_mut().clear();
        let Some(client) = self.client.get_mut().take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::spawn(move || drop(client)).join();
        }
    }
}

/// Rolls back a transaction that did not reach its COMMIT: `f` failed or panicked.
/// (A failed COMMIT has already ended the transaction on the server.) On a broken
/// connection the ROLLBACK fails too, and the next call reconnects.
struct OpenTx<'a> {
    conn: &'a PgConn,
    done: bool,
}

impl Drop for OpenTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.with_client(|c| c.batch_execute("ROLLBACK"));
        }
    }
}

/// A serialization failure or deadlock: the transaction did nothing and may be re-run.
pub(crate) fn is_conflict(e: &StoreError) -> bool {
    match e {
        StoreError::Postgres(e) => matches!(
            e.code(),
            Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
        ),
        _ => false,
    }
}

/// 1, 2, 4 ... 64 ms, each with up to as much again of jitter (so two servers that
/// collided do not collide again in lockstep).
pub(crate) fn backoff(round: u32) -> Duration {
    let base = 1u64 << round.min(6);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let jitter = (nanos ^ u64::from(std::process::id()).rotate_left(17)) % (base * 1000);
    Duration::from_millis(base) + Duration::from_micros(jitter)
}
