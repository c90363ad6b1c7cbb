//! `sm-cli smdp serve --listen ADDR:PORT [--pki DIR] [--hostname NAME] [--tls-cert F
//! --tls-key F]`: the SM-DP+ (`crate::smdp`) behind the ES9+ HTTPS server
//! (`crate::es9p::server`), in the foreground until SIGTERM or Ctrl-C, then exit 0 after
//! the requests in flight are answered.
//!
//! One line on stdout once the socket is bound (`--json`: one JSON object), naming the
//! address actually bound, so `--listen 127.0.0.1:0` is usable: tests read the line. One
//! line per request on stderr (the server's log).
//!
//! The same server is the device-change SM (issue 12): `/veuicc/sm/v1/startFlow` and
//! `stepFlow` ([`crate::sm::remote::server`]) run the flows of terminals started with
//! `--sm https://ADDR:PORT`, on the same store (`--sm-db`) with the SM credential of
//! `--sm-pki` (as the terminal uses it without `--sm`).
//!
//! `--operator-token-file FILE` (the global option, given on the command line: not
//! taken from `SM_CLI_OPERATOR_TOKEN_FILE`, so that the endpoints exist only when asked
//! for in so many words) adds the operator endpoints `/veuicc/sm/v1/admin/list`,
//! `show`, `audit`, `unlock` ([`crate::sm::remote::admin`]) for holders of the token;
//! the file is read before the socket is bound and refused unless it is this user's
//! with mode 0600 or stricter. Without it those paths are 404.
//!
//! The TLS identity: `--tls-cert/--tls-key` (PEM; chain allowed) when given, else the
//! CERT.DPtls of `--pki DIR` (SGP.26 layout), else the project's test DPtls
//! (card-sim/test-pki: `testsmdpplus1.example.com`, `localhost`, `127.0.0.1`).

use crate::context::App;
use crate::errors::CliError;
use crate::es9p::server::{Foreground, Limits, ServerConfig, ServerError, TlsIdentity};
use crate::es9p::Es9Handler;
use crate::output::Report;
use crate::sm::remote::server::{SessionLimits, SmServer};
use crate::sm::remote::token::OperatorToken;
use crate::sm::remote::with_sm::WithSm;
use crate::smdp::{Smdp, SmdpConfig, TEST_HOST};
use clap::Args;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0: any free port; the line printed names it)
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// SGP.26 PKI folder: DPauth, DPpb and DPtls keys and certificates (as `card-sim pki
    /// init` writes it); default: the project's test PKI
    #[arg(long, value_name = "DIR")]
    pub pki: Option<PathBuf>,
    /// The SM-DP+ address (FQDN) this server is known by: in activation codes and the
    /// signed serverAddress; the TLS certificate must name it
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// TLS certificate (PEM, leaf first, chain allowed) instead of the PKI's DPtls
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM: PKCS#8 or SEC1) of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Connections served at once (more wait in the listen backlog)
    #[arg(long, value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub max_connections: u32,
}

/// The line printed once listening.
#[derive(Serialize)]
struct Listening {
    listening: String,
    smdp_address: String,
    tls_certificate: String,
}

impl Report for Listening {
    fn human(&self) -> String {
        format!(
            "listening on {} (SM-DP+ address {}, TLS certificate: {})",
            self.listening, self.smdp_address, self.tls_certificate
        )
    }
}

fn identity(args: &ServeArgs) -> Result<TlsIdentity, CliError> {
    let id = match (&args.tls_cert, &args.tls_key, &args.pki) {
        (Some(cert), Some(key), _) => TlsIdentity::from_pem_files(cert, key),
        (_, _, Some(dir)) => TlsIdentity::from_pki_dir(dir),
        _ => TlsIdentity::test_pki(),
    };
    id.map_err(|e| CliError::Usage(e.to_string()))
}

/// The SM-DP+ address (`host[:port]`, as activation codes and smdpAddress carry it):
/// `--hostname` (default: the SGP.26 test host) with the bound port unless it is 443.
fn smdp_address(hostname: Option<&str>, bound: SocketAddr) -> String {
    let host = hostname.unwrap_or(TEST_HOST);
    match bound.port() {
        443 => host.to_string(),
        port => format!("{host}:{port}"),
    }
}

pub fn run(app: &App, args: ServeArgs) -> Result<(), CliError> {
    // Before anything is bound: a token file others may read stops the start.
    let token = match &app.global.operator_token_file {
        Some(path) => Some(
            OperatorToken::load(path, true)
                .map_err(|e| CliError::Usage(format!("--operator-token-file: {e}")))?,
        ),
        None => None,
    };
    let identity = identity(&args)?;
    let tls_certificate = identity.cert_source().to_string();
    let host = args
        .hostname
        .clone()
        .unwrap_or_else(|| TEST_HOST.to_string());
    if !identity.names(&host) {
        eprintln!(
            "sm-cli: warning: the TLS certificate ({tls_certificate}) does not name {host}: \
             LPAs will refuse it (give --hostname, or a certificate for it)"
        );
    }
    let mut config = ServerConfig::new(args.listen, identity);
    config.limits = Limits {
        max_connections: args.max_connections as usize,
        ..Limits::default()
    };
    let server = Foreground::bind(config).map_err(server_error)?;
    let bound = server.local_addr();
    // The SM-DP+ is made once the port is known: its address includes it.
    let mut smdp = SmdpConfig::new(smdp_address(args.hostname.as_deref(), bound));
    smdp.pki = args.pki.clone();
    smdp.sm_db = app.global.sm_db();
    let mut sm = SmServer::new(
        crate::commands::method::open_store(app)?,
        crate::commands::method::sm_credential(app)?,
        SessionLimits::default(),
    );
    if let Some(token) = token {
        sm = sm.with_operator_token(token);
    }
    let handler: Arc<dyn Es9Handler> = Arc::new(WithSm {
        es9: Smdp::open(&smdp)?,
        sm,
    });
    app.out.emit(&Listening {
        listening: bound.to_string(),
        smdp_address: smdp.address.clone(),
        tls_certificate,
    })?;
    let served = server.serve_until_signal(handler);
    if !served.drained {
        eprintln!("sm-cli: requests were still in flight when the drain time ran out");
    }
    Ok(())
}

fn server_error(e: ServerError) -> CliError {
    match e {
        ServerError::Bind { ref source, .. } => {
            CliError::Io(std::io::Error::new(source.kind(), e.to_string()))
        }
        ServerError::Identity(i) => CliError::Usage(i.to_string()),
        ServerError::Runtime(io) => CliError::Io(io),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_carries_the_port_unless_443() {
        let at = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
        assert_eq!(smdp_address(None, at(8443)), format!("{TEST_HOST}:8443"));
        assert_eq!(
            smdp_address(Some("smdp.example.com"), at(443)),
            "smdp.example.com"
        );
        assert_eq!(smdp_address(Some("localhost"), at(1234)), "localhost:1234");
    }
}
