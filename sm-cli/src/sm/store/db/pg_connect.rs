//! Reaching a PostgreSQL server (issue 12): which `--sm-db` values are PostgreSQL
//! addresses, the driver's settings for one (the password from `PGPASSWORD`, shown
//! without it), and the connection itself, plain or TLS.
//!
//! TLS: `sslmode=require` in the address connects with TLS (rustls, the ring provider)
//! and checks the server's certificate and host name against `PGSSLROOTCERT` (a PEM
//! file, libpq's variable) or the system's roots: what libpq calls `verify-full`, since a
//! TLS connection whose peer is not checked protects nothing against the relay it is
//! there for. `sslmode=disable` and `prefer` (the driver's default) connect in plain TCP:
//! for loopback and private networks.

use super::super::error::StoreError;
use ::postgres::config::SslMode;
use ::postgres::{Client, Config, NoTls};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::str::FromStr;
use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

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
