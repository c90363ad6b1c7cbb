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
//! call that saw it break fails, since whether its COMMIT arrived is unknown.
//!
//! TLS: `sslmode=require` in the address connects with TLS (rustls, the ring provider)
//! and checks the server's certificate and host name against `PGSSLROOTCERT` (a PEM
//! file, libpq's variable) or the system's roots: what libpq calls `verify-full`, since a
//! TLS connection whose peer is not checked protects nothing against the relay it is
//! there for. `sslmode=disable` and `prefer` (the driver's default) connect in plain TCP:
//! for loopback and private networks.

use super::super::error::StoreError;
use super::types::{Cell, Value};
use ::postgres::config::SslMode;
use ::postgres::error::SqlState;
use ::postgres::types::{IsNull, ToSql, Type};
use ::postgres::{Client, Config, NoTls, Statement};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::cell::RefCell;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

/// How long a write is re-run after serialization failures before the error is
/// reported (the same patience as SQLite's busy timeout).
pub const RETRY_FOR: Duration = Duration::from_secs(10);

/// How each kind of transaction begins: writes SERIALIZABLE (module docs), reads one
/// snapshot, migrations READ COMMITTED (they lock first, then must see what the holder
/// before them committed).
pub(crate) const BEGIN_WRITE: &str = "BEGIN ISOLATION LEVEL SERIALIZABLE";
pub(crate) const BEGIN_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
pub(crate) const BEGIN_MIGRATION: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";

/// How long connecting to the server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// True for `postgres://` and `postgresql://` addresses (libpq's URI forms).
pub fn is_url(s: &str) -> bool {
    let lower = s.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// A connection address with its password left out, for messages and `Debug`.
pub fn redacted(config: &Config) -> String {
    let user = config.get_user().unwrap_or("");
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            ::postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            ::postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("");
    let at = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    format!("postgres://{at}{host}:{port}/{db}")
}

/// The driver's settings for `url`: a password not in it comes from `PGPASSWORD` (as
/// with libpq, so that it need not appear in a command line); a 10 s connect timeout and
/// the application name `sm-cli` unless the address sets them.
pub(crate) fn config(url: &str) -> Result<Config, StoreError> {
    let mut config = Config::from_str(url.trim()).map_err(|e| StoreError::Open {
        path: "the PostgreSQL address".into(),
        reason: e.to_string(),
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_password().is_none() {
        if let Some(pw) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty()) {
            config.password(pw.as_encoded_bytes());
        }
    }
    if config.get_application_name().is_none() {
        config.application_name("sm-cli");
    }
    Ok(config)
}

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

/// A new client for `config`: TLS when it says `sslmode=require` (module docs), plain
/// TCP otherwise. `name` names the server in errors.
pub(crate) fn connect_client(config: &Config, name: &str) -> Result<Client, StoreError> {
    let roots = std::env::var_os("PGSSLROOTCERT")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from);
    connect_trusting(config, name, roots.as_deref())
}

/// [`connect_client`] with the TLS roots given: a PEM file, or `None` for the system's.
pub(crate) fn connect_trusting(
    config: &Config,
    name: &str,
    roots: Option<&std::path::Path>,
) -> Result<Client, StoreError> {
    let open_err = |reason: String| StoreError::Open {
        path: name.to_string(),
        reason,
    };
    match config.get_ssl_mode() {
        SslMode::Require => {
            let tls = tls_connector(roots).map_err(open_err)?;
            config.connect(tls)
        }
        _ => config.connect(NoTls),
    }
    .map_err(|e| open_err(describe(&e)))
}

/// The TLS side of `sslmode=require`: the roots of the PEM file `roots`, else the
/// system's.
fn tls_connector(
    roots: Option<&std::path::Path>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let config = match roots {
        Some(path) => {
            let shown = path.display().to_string();
            let pem = std::fs::read(path)
                .map_err(|e| format!("PGSSLROOTCERT: cannot read {shown}: {e}"))?;
            let mut roots = rustls::RootCertStore::empty();
            for der in CertificateDer::pem_slice_iter(&pem) {
                let der = der.map_err(|e| format!("PGSSLROOTCERT {shown}: {e}"))?;
                roots
                    .add(der)
                    .map_err(|e| format!("PGSSLROOTCERT {shown}: unusable CA ({e})"))?;
            }
            if roots.is_empty() {
                return Err(format!("PGSSLROOTCERT {shown}: no CERTIFICATE block"));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => {
            let verifier = rustls_platform_verifier::Verifier::new(provider)
                .map_err(|e| format!("TLS: the system's roots: {e}"))?;
            builder
                .dangerous() // not dangerous: the platform verifier checks everything
                .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
                .with_no_client_auth()
        }
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// The driver's error with its cause (the driver's own text is often only "error
/// performing TLS handshake" or "db error").
fn describe(e: &::postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = s.source();
    }
    text
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

fn params<'v>(args: &'v [Value<'_>]) -> Vec<&'v (dyn ToSql + Sync)> {
    args.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// Rewrites SQLite's numbered placeholders `?N` to PostgreSQL's `$N`, leaving quoted
/// literals and identifiers alone. A bare `?` is refused: the store numbers them all.
pub(crate) fn placeholders(sql: &str) -> Result<String, StoreError> {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '?') => {
                if !chars.peek().is_some_and(char::is_ascii_digit) {
                    return Err(StoreError::Corrupt(format!(
                        "unnumbered placeholder in a store query: {sql}"
                    )));
                }
                out.push('$');
            }
            (None, c) => out.push(c),
        }
    }
    Ok(out)
}

impl ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
                _ => Err(format!("an integer bound to a {ty} parameter").into()),
            },
            Value::Text(t) => t.to_sql(ty, out),
            Value::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql`: which types fit depends on the variant.
        true
    }

    ::postgres::types::to_sql_checked!();
}

pub(super) fn cell(row: &::postgres::Row, idx: usize) -> Result<Cell, StoreError> {
    let Some(column) = row.columns().get(idx) else {
        return Err(StoreError::Corrupt(format!("no column {idx}")));
    };
    let ty = column.type_().clone();
    let cell = match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(idx)?.map(Cell::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(idx)?
            .map(|v| Cell::Int(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(idx)?
            .map(|v| Cell::Int(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(idx)?
            .map(|v| Cell::Int(v.into())),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            row.try_get::<_, Option<String>>(idx)?.map(Cell::Text)
        }
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(idx)?.map(Cell::Blob),
        other => {
            return Err(StoreError::Corrupt(format!(
                "column {idx} has the unexpected type {other}"
            )))
        }
    };
    Ok(cell.unwrap_or(Cell::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered_outside_quotes() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d = ?12").unwrap(),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d = $12"
        );
        assert!(placeholders("SELECT ? FROM t").is_err());
    }

    #[test]
    fn addresses_are_recognised_and_shown_without_password() {
        assert!(is_url("postgres://u:p@h/db"));
        assert!(is_url("PostgreSQL://h/db"));
        assert!(!is_url("/var/lib/sm.sqlite3"));
        assert!(!is_url("postgres.sqlite3"));
        let config = Config::from_str("postgres://alice:s3cret@db.example:6543/sm").unwrap();
        let shown = redacted(&config);
        assert_eq!(shown, "postgres://alice@db.example:6543/sm");
        assert!(!shown.contains("s3cret"));
    }
}
