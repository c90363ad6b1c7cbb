//! `sm-cli -r OLD provision --op-id +86... --imei ...` (flow A, spec device-change.md
//! A.1-A.8): the SM creates the subscription and its operator profile, the card asks for
//! the key-generation parameter twice and derives the key, the SM records it with the
//! IMEI, EID and identity key and sends the sealed profile, which the card installs and
//! enables.

use crate::commands::method::{answers, run_flow, KdfChoice, TerminalArgs};
use crate::context::App;
use crate::errors::CliError;
use crate::sm::service::{check_op_id, Order, ProfileSpec};
use crate::terminal::ParamSource;
use clap::Args;

#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// The OP ID the SM allocates: the subscriber's phone number (e.g. +8613800000001)
    #[arg(long, value_name = "NUMBER")]
    pub op_id: String,
    #[command(flatten)]
    pub terminal: TerminalArgs,
    /// Key-stretching cost recorded with the subscription
    #[arg(long, value_enum, default_value_t = KdfChoice::Production)]
    pub kdf: KdfChoice,
    /// Service provider name in the profile
    #[arg(long, default_value = crate::sm::service::profile::DEFAULT_SPN)]
    pub spn: String,
    /// Profile name (default: "<SPN> <OP ID>")
    #[arg(long)]
    pub profile_name: Option<String>,
}

pub fn run(app: &App, a: ProvisionArgs) -> Result<(), CliError> {
    check_op_id(&a.op_id)?;
    let source = ParamSource::from_options(a.terminal.param_stdin, a.terminal.param_file);
    // The card asks for a NEW parameter (twice): the --param-* source answers both.
    let answers = answers(a.terminal.imei, None, None, source)?;
    let order = Order::Provision {
        op_id: a.op_id,
        kdf: a.kdf.params(),
        profile: ProfileSpec {
            spn: a.spn,
            name: a.profile_name,
        },
    };
    run_flow(app, order, answers)
}
