//! One module per subcommand; [`run`] dispatches to them. [`App`] holds what every
//! command needs: the global options, the output mode, and ways to reach the card
//! (a plain session, or an ES10 session with the ISD-R).

pub mod apdu_cmd;
pub mod device_change;
pub mod info;
pub mod memory_reset;
pub mod method;
pub mod profiles;
pub mod provision;
pub mod readers;
pub mod rekey;
pub mod script_cmd;
pub mod sm_admin;
pub mod sync;
pub mod target;

use crate::cli::{Cli, Cmd, Global};
use crate::errors::CliError;
use crate::lpa::Es10Session;
use crate::output::Output;
use crate::reader::{Pcsc, Session, Tracer, Watchdog};
use std::time::Duration;

/// What a command runs with.
pub struct App {
    pub global: Global,
    pub out: Output,
}

impl App {
    pub fn new(global: Global) -> App {
        let out = Output::new(global.json);
        App { global, out }
    }

    /// Connects to the chosen reader's card (shared, T=0 or T=1).
    pub fn connect(&self) -> Result<Session, CliError> {
        let mut pcsc = Pcsc::establish()?;
        pcsc.connect(
            self.global.reader.as_deref(),
            Tracer::stderr(self.global.trace),
            self.watchdog(),
        )
    }

    /// The `--timeout` deadline: when the card stays silent, report it and exit, as the
    /// blocked PC/SC call cannot be interrupted.
    fn watchdog(&self) -> Watchdog {
        if self.global.timeout == 0 {
            return Watchdog::none();
        }
        let out = self.out;
        Watchdog::start(Duration::from_secs(self.global.timeout), move |e| {
            out.error(&e);
            // --record: keep what was exchanged before the card went silent.
            if let Err(re) = crate::script::recorder::finish(Some(&e)) {
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

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let app = App::new(cli.global);
    match cli.command {
        Cmd::Readers => readers::run(&app),
        Cmd::Info => info::run(&app),
        Cmd::Profiles(p) => profiles::run(&app, p),
        Cmd::MemoryReset(a) => memory_reset::run(&app, a),
        Cmd::Apdu(a) => apdu_cmd::run(&app, a),
        Cmd::Provision(a) => provision::run(&app, a),
        Cmd::DeviceChange(a) => device_change::run(&app, a),
        Cmd::Rekey(a) => rekey::run(&app, a),
        Cmd::Sync => sync::run(&app),
        Cmd::Sm(c) => sm_admin::run(&app, c),
        Cmd::Script(c) => script_cmd::run(&app, c),
    }
}
