//! One module per subcommand, each with its clap arguments and its `run`; [`run`]
//! dispatches to them. What every command runs with (global options, output mode, the
//! way to the card) is the run context, `crate::context::App`.

pub mod apdu_cmd;
pub mod confirmation_code;
pub mod device_change;
pub mod download;
pub mod info;
pub mod memory_reset;
pub mod method;
pub mod notifications;
pub mod profiles;
pub mod provision;
pub mod readers;
pub mod rekey;
pub mod script_cmd;
pub mod sm_admin;
pub mod smdp_cmd;
pub mod smdp_order;
pub mod smdp_serve;
pub mod smdp_token;
pub mod sync;
pub mod target;

use crate::cli::Cmd;
use crate::context::App;
use crate::errors::CliError;
use crate::exit::Exit;

/// Runs the chosen subcommand; the exit it chose when it returns normally (only
/// `script run` chooses one other than [`Exit::Ok`]: a failed or unparsable script).
pub fn run(app: &App, cmd: Cmd) -> Result<Exit, CliError> {
    let done = |r: Result<(), CliError>| r.map(|()| Exit::Ok);
    match cmd {
        Cmd::Readers => done(readers::run(app)),
        Cmd::Info => done(info::run(app)),
        Cmd::Profiles(p) => done(profiles::run(app, p)),
        Cmd::Notifications(c) => done(notifications::run(app, c)),
        Cmd::MemoryReset(a) => done(memory_reset::run(app, a)),
        Cmd::Apdu(a) => done(apdu_cmd::run(app, a)),
        Cmd::Provision(a) => done(provision::run(app, a)),
        Cmd::DeviceChange(a) => done(device_change::run(app, a)),
        Cmd::Rekey(a) => done(rekey::run(app, a)),
        Cmd::Sync => done(sync::run(app)),
        Cmd::Sm(c) => done(sm_admin::run(app, c)),
        Cmd::Smdp(c) => done(smdp_cmd::run(app, c)),
        Cmd::Script(c) => script_cmd::run(app, c),
    }
}
