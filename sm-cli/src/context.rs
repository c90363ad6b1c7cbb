//! The run context every command gets: the global options ([`Global`], composed into
//! the command line by `cli`), the output mode, the `--record` recorder when one is
//! active, and the ways to reach the card (a plain session, or an ES10 session with
//! the ISD-R) with the `--timeout` watchdog and the recorder installed.

use crate::errors::CliError;
use crate::lpa::{Es10Session, DEFAULT_BLOCK_SIZE};
use crate::output::Output;
use crate::reader::{Pcsc, Session, Tracer, Watchdog};
use crate::script::recorder::Recorder;
use clap::Args;
use std::time::Duration;

/// Options every subcommand takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Print exactly one JSON document on stdout (errors: {"error":{...}}, exit non-zero)
    #[arg(long, global = true)]
    pub json: bool,
    /// Trace every APDU on stderr (secrets redacted)
    #[arg(long, global = true)]
    pub trace: bool,
    /// Reader: index (from `sm-cli readers`) or part of its name
    #[arg(
        short = 'r',
        long,
        global = true,
        env = "SM_CLI_READER",
        value_name = "INDEX|NAME"
    )]
    pub reader: Option<String>,
    /// Give up when the card does not answer within SECS seconds (0: wait for ever)
    #[arg(long, global = true, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    /// STORE DATA block size for ES10 messages (6-255; lpac uses 120)
    #[arg(long, global = true, default_value_t = DEFAULT_BLOCK_SIZE,
          value_parser = clap::value_parser!(u16).range(6..=255))]
    pub block_size: u16,
    /// The SM database: an SQLite file, or PostgreSQL as postgres://USER@HOST:PORT/DB
    /// (password from PGPASSWORD) [env: SM_CLI_DB] [default: <data
    /// dir>/veuicc/sm.sqlite3]
    // Not clap's `env =`: an argument clap takes from the environment counts as given,
    // and every usage line in every subcommand then shows `--sm-db <PATH>`.
    #[arg(long, global = true, value_name = "PATH")]
    pub sm_db: Option<std::path::PathBuf>,
    /// The SM's PKI folder (`card-sim pki init` layout): its CERT.DPpb and key sign the
    /// installs and removals it sends [env: SM_CLI_PKI] [default: the shipped TEST
    /// credential, trusted by cards made without --pki]
    #[arg(long, global = true, value_name = "DIR")]
    pub sm_pki: Option<std::path::PathBuf>,
    /// A remote SM (`sm-cli smdp serve`) for provision, device-change, rekey, sync and
    /// the `sm` operator commands, instead of opening the store here [env: SM_CLI_SM]
    #[arg(long = "sm", global = true, value_name = "https://HOST:PORT")]
    pub sm_url: Option<String>,
    /// CA certificates (PEM) the remote SM's TLS certificate must chain to, or `system`
    /// for the operating system's roots [default: the project's TEST CI, as `profiles
    /// download`]
    #[arg(long, global = true, value_name = "FILE")]
    pub sm_ca: Option<std::path::PathBuf>,
    /// The remote SM's operator token (one line, as `sm-cli smdp operator-token` writes
    /// it): `sm list|show|audit|unlock` with `--sm` send it [env:
    /// SM_CLI_OPERATOR_TOKEN_FILE]; `smdp serve` serves the operator endpoints to its
    /// holders (the file must be the server's, mode 0600 or stricter; not from the env)
    #[arg(long, global = true, value_name = "FILE")]
    pub operator_token_file: Option<std::path::PathBuf>,
    /// Write this command's APDU exchanges to FILE as a replayable script (secrets masked)
    #[arg(long, global = true, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
}

impl Global {
    /// The SM database path: `--sm-db`, else a non-empty `SM_CLI_DB`, else none (the
    /// default location).
    pub fn sm_db(&self) -> Option<std::path::PathBuf> {
        self.sm_db.clone().or_else(|| {
            std::env::var_os("SM_CLI_DB")
                .filter(|v| !v.is_empty())
                .map(std::path::PathBuf::from)
        })
    }

    /// The remote SM: `--sm`, else a non-empty `SM_CLI_SM`, else none (the SM runs in
    /// this process on `--sm-db`). Read here, not by clap, for the reason `sm_db` gives.
    pub fn sm_url(&self) -> Option<String> {
        self.sm_url
            .clone()
            .or_else(|| std::env::var("SM_CLI_SM").ok().filter(|v| !v.is_empty()))
    }

    /// The operator token file: `--operator-token-file`, else a non-empty
    /// `SM_CLI_OPERATOR_TOKEN_FILE`. Read here, not by clap, for the reason `sm_db` gives.
    pub fn operator_token_file(&self) -> Option<std::path::PathBuf> {
        self.operator_token_file.clone().or_else(|| {
            std::env::var_os("SM_CLI_OPERATOR_TOKEN_FILE")
                .filter(|v| !v.is_empty())
                .map(std::path::PathBuf::from)
        })
    }

    /// The SM's PKI folder: `--sm-pki`, else a non-empty `SM_CLI_PKI`, else none (the
    /// shipped test credential). Read here, not by clap, for the reason `sm_db` gives.
    pub fn sm_pki(&self) -> Option<std::path::PathBuf> {
        self.sm_pki.clone().or_else(|| {
            std::env::var_os("SM_CLI_PKI")
                .filter(|v| !v.is_empty())
                .map(std::path::PathBuf::from)
        })
    }
}

/// What a command runs with.
pub struct App {
    pub global: Global,
    pub out: Output,
    /// `--record`: installed on every session this run opens.
    pub recorder: Option<Recorder>,
}

impl App {
    /// The context of a run without recording.
    pub fn new(global: Global) -> App {
        let out = Output::new(global.json);
        App {
            global,
            out,
            recorder: None,
        }
    }

    /// Connects to the chosen reader's card (shared, T=0 or T=1).
    pub fn connect(&self) -> Result<Session, CliError> {
        self.connect_to(self.global.reader.as_deref())
    }

    /// Connects to the card of the reader `selector` names (the rules of `-r`) and takes
    /// it for the whole command ([`Session::hold`]: other programs wait until we are
    /// done; a card another program holds is waited for up to `--timeout`).
    pub fn connect_to(&self, selector: Option<&str>) -> Result<Session, CliError> {
        let mut pcsc = Pcsc::establish()?;
        let mut session =
            pcsc.connect(selector, Tracer::stderr(self.global.trace), self.watchdog())?;
        session.hold()?;
        Ok(match &self.recorder {
            Some(r) => session.tapped(r.tap()),
            None => session,
        })
    }

    /// The `--timeout` deadline: when the card stays silent, report it and exit, as the
    /// blocked PC/SC call cannot be interrupted.
    fn watchdog(&self) -> Watchdog {
        if self.global.timeout == 0 {
            return Watchdog::none();
        }
        let out = self.out;
        let recorder = self.recorder.clone();
        Watchdog::start(Duration::from_secs(self.global.timeout), move |e| {
            out.error(&e);
            // --record: keep what was exchanged before the card went silent.
            if let Some(Err(re)) = recorder.as_ref().map(|r| r.finish(Some(&e))) {
                eprintln!("error: {re}");
            }
            std::process::exit(e.exit_code().into());
        })
    }

    /// Connects, opens an ES10 session with the ISD-R, runs `f`, then closes the channel
    /// and disconnects (leaving the card powered). Returns `f`'s value and the reader name.
    pub fn with_es10<T>(
        &self,
        f: impl FnOnce(&mut Es10Session<'_, Session>) -> Result<T, CliError>,
    ) -> Result<(T, String), CliError> {
        let mut session = self.connect()?;
        let reader = session.reader().to_string();
        let mut es10 = Es10Session::open(&mut session, self.global.block_size.into())?;
        let value = f(&mut es10)?;
        es10.close()?;
        session.close()?;
        Ok((value, reader))
    }
}
