//! The store's one interface to its two databases (issue 12, "PostgreSQL"): an open
//! connection ([`Conn`]: SQLite, the embedded default, or PostgreSQL), the transaction
//! the store's queries run in ([`Tx`]), the values they bind and the columns they read
//! ([`types`]) and the rows ([`Row`]).
//!
//! Every query of the store is written once, in the SQL both databases speak, with
//! numbered placeholders `?1`, `?2`, ... (rewritten to `$1`, `$2`, ... for PostgreSQL).
//! Integers are 64-bit on both sides (SQLite INTEGER, PostgreSQL BIGINT), so a value
//! reads back the same from either. What differs lives in [`sqlite`] (WAL, pragmas,
//! `BEGIN IMMEDIATE`) and [`postgres`] (SERIALIZABLE with retry, reconnection).

pub mod pg_connect;
pub mod pg_values;
pub mod postgres;
pub mod sqlite;
pub mod types;

pub use types::IfMissing;
pub(crate) use types::{args, Bind, Column, Value};

use super::clock::Now;
use super::error::StoreError;
use rusqlite::{Transaction, TransactionBehavior};
use std::time::Instant;

/// An open database connection of the store.
pub(crate) enum Conn {
    Sqlite(rusqlite::Connection),
    /// Boxed: its configuration and statement cache dwarf an SQLite handle.
    Postgres(Box<postgres::PgConn>),
}

/// Which database a connection talks to (for the few statements that differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Conn {
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs `f` in one write transaction and commits if it succeeds; rolls back
    /// otherwise. SQLite: `BEGIN IMMEDIATE` (the one writer). PostgreSQL: SERIALIZABLE,
    /// re-running `f` from the start when the database reports a serialization failure
    /// or deadlock, so `f` must have no effect outside the transaction. The clock is
    /// read once the transaction has begun.
    pub(crate) fn write<T>(
        &self,
        mut f: impl FnMut(&Tx<'_>, &Now) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self {
            Conn::Sqlite(c) => {
                let tx = Transaction::new_unchecked(c, TransactionBehavior::Immediate)?;
                let now = Now::read();
                let out = f(&Tx::Sqlite(&tx), &now)?;
                tx.commit()?;
                Ok(out)
            }
            Conn::Postgres(c) => retrying(c, postgres::BEGIN_WRITE, f),
        }
    }

    /// A write that needs no isolation beyond its own statements (deleting expired
    /// rows): SQLite as [`Conn::write`]; PostgreSQL at READ COMMITTED, so that its range
    /// scan takes no SERIALIZABLE predicate lock for other servers' writes to collide
    /// with. Never for a read-modify-write.
    pub(crate) fn sweep<T>(
        &self,
        f: impl FnMut(&Tx<'_>, &Now) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self {
            Conn::Sqlite(_) => self.write(f),
            Conn::Postgres(c) => retrying(c, postgres::BEGIN_READ_COMMITTED, f),
        }
    }

    /// Runs `f` in one read-only transaction: a consistent snapshot across its queries.
    pub(crate) fn read<T>(
        &self,
        mut f: impl FnMut(&Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self {
            Conn::Sqlite(c) => {
                let tx = Transaction::new_unchecked(c, TransactionBehavior::Deferred)?;
                let out = f(&Tx::Sqlite(&tx))?;
                tx.commit()?;
                Ok(out)
            }
            Conn::Postgres(c) => c.transaction(postgres::BEGIN_READ, |pg| f(&Tx::Postgres(pg))),
        }
    }

    /// PostgreSQL: one READ COMMITTED transaction, not re-run (migrations, which take a
    /// lock first and must then see what the process that held it before committed).
    pub(crate) fn read_committed<T>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self {
            Conn::Sqlite(_) => Err(StoreError::Corrupt("READ COMMITTED is PostgreSQL's".into())),
            Conn::Postgres(c) => {
                c.transaction(postgres::BEGIN_READ_COMMITTED, |pg| f(&Tx::Postgres(pg)))
            }
        }
    }
}

/// A PostgreSQL transaction begun by `begin`, re-run from the start after a
/// serialization failure or deadlock (jittered backoff, up to
/// [`postgres::RETRY_FOR`]).
fn retrying<T>(
    c: &postgres::PgConn,
    begin: &str,
    mut f: impl FnMut(&Tx<'_>, &Now) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let deadline = Instant::now() + postgres::RETRY_FOR;
    let mut round = 0u32;
    loop {
        let out = c.transaction(begin, |pg| {
            let now = Now::read();
            f(&Tx::Postgres(pg), &now)
        });
        match out {
            Err(e) if postgres::is_conflict(&e) && Instant::now() < deadline => {
                round = round.saturating_add(1);
                std::thread::sleep(postgres::backoff(round));
            }
            other => return other,
        }
    }
}

/// A transaction in progress: the store's queries take one.
pub(crate) enum Tx<'a> {
    Sqlite(&'a rusqlite::Connection),
    Postgres(&'a postgres::PgConn),
}

impl Tx<'_> {
    /// Runs a statement; returns the number of rows it changed.
    pub(crate) fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<u64, StoreError> {
        match self {
            Tx::Sqlite(c) => {
                let n = c.prepare_cached(sql)?.execute(sqlite::params(args))?;
                Ok(n as u64)
            }
            Tx::Postgres(c) => c.execute(sql, args),
        }
    }

    /// The first row of a query mapped by `f`, or `None` when it returns no rows.
    pub(crate) fn query_opt<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        match self {
            Tx::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(sqlite::params(args))?;
                match rows.next()? {
                    Some(r) => Ok(Some(f(&Row::Sqlite(r))?)),
                    None => Ok(None),
                }
            }
            Tx::Postgres(c) => {
                let rows = c.query(sql, args)?;
                rows.first().map(|r| f(&Row::Postgres(r))).transpose()
            }
        }
    }

    /// The one row a query must return (an aggregate, `UPDATE ... RETURNING` of a row
    /// known to exist); no row is a database fault.
    pub(crate) fn query_one<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.query_opt(sql, args, f)?
            .ok_or_else(|| StoreError::Corrupt("a query that returns one row returned none".into()))
    }

    /// Every row of a query, each mapped by `f`, in the query's order.
    pub(crate) fn query_all<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Tx::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(sqlite::params(args))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(f(&Row::Sqlite(r))?);
                }
                Ok(out)
            }
            Tx::Postgres(c) => {
                let rows = c.query(sql, args)?;
                rows.iter().map(|r| f(&Row::Postgres(r))).collect()
            }
        }
    }
}

/// A row of a result.
pub(crate) enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a ::postgres::Row),
}

impl Row<'_> {
    /// Column `idx` as `T`; a column of another type is a malformed stored value.
    pub(crate) fn get<T: Column>(&self, idx: usize) -> Result<T, StoreError> {
        let cell = match self {
            Row::Sqlite(r) => sqlite::cell(r, idx)?,
            Row::Postgres(r) => pg_values::cell(r, idx)?,
        };
        let kind = cell.kind();
        T::from_cell(cell).ok_or_else(|| {
            StoreError::Corrupt(format!("column {idx} holds {kind}, not {}", T::WHAT))
        })
    }
}
