//! What the device-change commands (`provision`, `device-change`, `rekey`, `sync`) share
//! (issue 3, CLI): the terminal options, the SM store, and the loop that connects the
//! card to the SM: GetEID, then each SM request through the [`Terminal`] and each card
//! answer back to the SM, timed (see [`Timings`]). The SM is an [`SmEndpoint`]: the
//! [`SmService`] on the store of `--sm-db`, or the remote SM of `--sm` (issue 12), which
//! the loop cannot tell apart.

use crate::context::App;
use crate::errors::CliError;
use crate::output::Report;
use crate::sm::credential::SmCredential;
use crate::sm::remote::client::{HttpsSm, RemoteSm};
use crate::sm::remote::SmEndpoint;
use crate::sm::service::{FlowReport, Next, Order, Policy, SmError, SmService};
use crate::sm::store::Store;
use crate::terminal::answers::{check_imei, read_parameters, GivenParameter};
use crate::terminal::prompt::{NoPrompter, Prompter, TtyPrompter};
use crate::terminal::{Answers, DcCard, ParamSource, Terminal, Timings};
use apdu::crypto::KdfParams;
use apdu::Eid;
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The terminal's identity and the parameter source, for every flow.
#[derive(Debug, Clone, Args)]
pub struct TerminalArgs {
    /// The terminal's IMEI (15 digits with a Luhn check digit), given to the card when
    /// it asks (PROVIDE LOCAL INFORMATION)
    #[arg(long, env = "SM_CLI_IMEI", value_name = "IMEI")]
    pub imei: Option<String>,
    /// Read the key-generation parameter from the first line of stdin instead of a
    /// hidden prompt
    #[arg(long, conflicts_with = "param_file")]
    pub param_stdin: bool,
    /// Read the key-generation parameter from the first line of a file
    #[arg(long, value_name = "PATH")]
    pub param_file: Option<PathBuf>,
}

/// `--kdf`: the cost of the key stretching recorded with the subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KdfChoice {
    /// Argon2id 64 MiB, t=3 (about 0.25 s on the card): for real use
    Production,
    /// Argon2id 1 MiB, t=1 (milliseconds): for tests and CI only
    Test,
}

impl KdfChoice {
    pub fn params(self) -> KdfParams {
        match self {
            KdfChoice::Production => KdfParams::PRODUCTION,
            KdfChoice::Test => KdfParams::TEST,
        }
    }
}

/// Opens the SM store at `--sm-db` (or `SM_CLI_DB`) or the default path. The flows
/// create it (and the default location's directory) when it is not there yet; a given
/// path's directory must exist.
pub fn open_store(app: &App) -> Result<Store, CliError> {
    let store = match app.global.sm_db() {
        Some(p) => Store::open(p),
        None => Store::open_default(),
    };
    store.map_err(|e| CliError::Sm(SmError::from(e)))
}

/// The SM's credential from `--sm-pki` / `SM_CLI_PKI`, else the shipped test one; a
/// folder that does not hold a usable CERT.DPpb is a usage error naming the file.
pub fn sm_credential(app: &App) -> Result<SmCredential, CliError> {
    match app.global.sm_pki() {
        Some(dir) => {
            SmCredential::load(&dir).map_err(|e| CliError::Usage(format!("--sm-pki: {e}")))
        }
        None => SmCredential::test().map_err(|e| CliError::Usage(format!("test credential: {e}"))),
    }
}

/// Opens the SM store for a command that only reads it or changes records that must be
/// there (`sm list | show | audit | unlock`): a missing store is an error naming its
/// path, never a new empty one.
pub fn open_existing_store(app: &App) -> Result<Store, CliError> {
    if app.global.sm_url.is_some() {
        return Err(CliError::Usage(
            "--sm: this command reads a local store; the operator commands over the network \
             are `sm-cli --sm URL --operator-token-file FILE sm ...`"
                .into(),
        ));
    }
    let path = match app.global.sm_db() {
        Some(p) => p,
        None => Store::default_path().map_err(|e| CliError::Sm(SmError::from(e)))?,
    };
    Store::open_existing(path).map_err(|e| CliError::Sm(SmError::from(e)))
}

/// The answers of the terminal: options, parameters read ahead (before the card is
/// touched), and prompts on the controlling terminal when there is one.
pub fn answers(
    imei: Option<String>,
    op_id: Option<String>,
    current: Option<ParamSource>,
    new: Option<ParamSource>,
) -> Result<Answers, CliError> {
    if let Some(i) = &imei {
        check_imei(i)?;
    }
    let (current, new): (Option<GivenParameter>, Option<GivenParameter>) =
        read_parameters(current.as_ref(), new.as_ref(), &mut std::io::stdin().lock())?;
    let prompter: Box<dyn Prompter> = if crate::terminal::prompt::have_tty() {
        Box::new(TtyPrompter)
    } else {
        Box::new(NoPrompter)
    };
    Ok(Answers {
        op_id,
        imei,
        current,
        new,
        prompter,
    })
}

/// The result of a flow, as printed.
#[derive(Debug, Serialize)]
pub struct FlowOutput {
    pub reader: String,
    #[serde(flatten)]
    pub report: FlowReport,
    pub timings: Timings,
}

impl Report for FlowOutput {
    fn human(&self) -> String {
        let mut lines = self.report.lines();
        lines.push(self.timings.summary());
        lines.join("\n")
    }
}

/// Runs the SM's requests on a card until the flow ends; `sm_time` collects the SM's
/// own time (for a remote SM, with the network). Returns the report.
pub fn drive<C: DcCard, E: SmEndpoint + ?Sized>(
    sm: &E,
    terminal: &mut Terminal<'_, C>,
    order: Order,
    eid: Eid,
    sm_time: &mut Duration,
) -> Result<FlowReport, CliError> {
    let t = Instant::now();
    let (mut conv, mut req) = sm.start(order, eid)?;
    *sm_time += t.elapsed();
    loop {
        let answer = terminal.run(&req)?;
        let t = Instant::now();
        let next = sm.step(&mut conv, answer);
        *sm_time += t.elapsed();
        match next? {
            Next::Send(r) => req = r,
            Next::Finished(report) => return Ok(*report),
        }
    }
}

/// Connects to the card, runs `order` with the SM (remote at `--sm`, else here on
/// `--sm-db`), prints the outcome.
pub fn run_flow(app: &App, order: Order, answers: Answers) -> Result<(), CliError> {
    let start = Instant::now();
    match app.global.sm_url() {
        Some(url) => {
            if app.global.sm_db.is_some() {
                return Err(CliError::Usage(
                    "--sm and --sm-db exclude each other: the remote SM keeps its own store".into(),
                ));
            }
            let trust = crate::commands::download::trust(&app.global.sm_ca);
            let sm = RemoteSm::new(HttpsSm::new(&url, trust)?, url);
            run_with(app, &sm, order, answers, start)
        }
        None => {
            let store = open_store(app)?;
            let credential = sm_credential(app)?;
            let sm = SmService::new(&store, Policy::default(), &credential);
            run_with(app, &sm, order, answers, start)
        }
    }
}

/// [`run_flow`] with its SM.
fn run_with<E: SmEndpoint>(
    app: &App,
    sm: &E,
    order: Order,
    answers: Answers,
    start: Instant,
) -> Result<(), CliError> {
    let mut sm_time = Duration::ZERO;
    let mut timings = Timings::default();
    let (report, reader) = app.with_es10(|es10| {
        let eid = es10.get_eid()?;
        let mut terminal = Terminal::new(es10, answers);
        let r = drive(sm, &mut terminal, order, eid, &mut sm_time);
        timings.functions = std::mem::take(&mut terminal.timings);
        r
    })?;
    let total = start.elapsed();
    let accounted: Duration = timings
        .functions
        .iter()
        .map(|f| f.apdu_time() + f.input_time())
        .sum::<Duration>()
        + sm_time;
    timings.finish(total, sm_time, total.saturating_sub(accounted));
    app.out.emit(&FlowOutput {
        reader,
        report,
        timings,
    })
}

#[cfg(test)]
#[path = "method_tests.rs"]
mod tests;
