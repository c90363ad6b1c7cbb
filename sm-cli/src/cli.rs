//! The command line: the global options ([`Global`], from `context`) and one variant
//! per subcommand, each with the clap arguments its module under `commands/` owns.
//! This file only composes them; `commands::run` dispatches.
//!
//! A new subcommand adds a module under `commands/` (its `Args` and its `run`) and a
//! variant here.

use crate::commands::{
    apdu_cmd::ApduArgs, device_change::DeviceChangeArgs, memory_reset::MemoryResetArgs,
    notifications::NotificationsCmd, profiles::ProfilesCmd, provision::ProvisionArgs,
    rekey::RekeyArgs, script_cmd::ScriptCmd, sm_admin::SmCmd, smdp_cmd::SmdpCmd,
};
use crate::context::Global;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;

/// Drives virtual or real eUICCs through PC/SC.
#[derive(Debug, Parser)]
#[command(name = "sm-cli", version, about, after_help = crate::exit::help_text())]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// List readers, whether a card is present, and its ATR
    Readers,
    /// Show the EID, EUICCInfo2 essentials and the configured addresses
    Info,
    /// List and manage profiles
    #[command(subcommand)]
    Profiles(ProfilesCmd),
    /// List, deliver (to each one's SM-DP+) and remove the card's pending notifications
    #[command(subcommand)]
    Notifications(NotificationsCmd),
    /// Reset the eUICC memory (eUICCMemoryReset): deletes profiles
    MemoryReset(MemoryResetArgs),
    /// Send raw APDUs (hex), printing each answer with its status word
    Apdu(ApduArgs),
    /// Flow A: create a subscription and install its profile on this card; the card
    /// asks for the key-generation parameter twice
    Provision(ProvisionArgs),
    /// Flow B: move a subscription to this card (OP ID and parameter asked through the card)
    DeviceChange(DeviceChangeArgs),
    /// Flow C: change the key-generation parameter (current one, then the new one twice)
    Rekey(RekeyArgs),
    /// Have the SM remove from this card the profiles that moved to another device
    Sync,
    /// The subscription manager's records (operator commands; no card needed)
    #[command(subcommand)]
    Sm(SmCmd),
    /// The SM as an SGP.22 SM-DP+: serve ES9+ over HTTPS
    #[command(subcommand)]
    Smdp(SmdpCmd),
    /// Replay APDU scripts and check every answer (docs/script-format.md)
    #[command(subcommand)]
    Script(ScriptCmd),
}

/// A parsed command line and the words of its subcommand (`profiles enable`), without
/// arguments, which may hold secrets (the `--record` header names the command so).
#[derive(Debug)]
pub struct Parsed {
    pub cli: Cli,
    pub words: String,
}

/// Parses a command line (the first item is the program name).
pub fn parse_from<I, T>(args: I) -> Result<Parsed, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut matches = Cli::command().try_get_matches_from(args)?;
    let words = subcommand_words(&matches);
    let cli = Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut Cli::command()))?;
    Ok(Parsed { cli, words })
}

fn subcommand_words(m: &ArgMatches) -> String {
    let mut words = Vec::new();
    let mut cur = m;
    while let Some((name, sub)) = cur.subcommand() {
        words.push(name.to_string());
        cur = sub;
    }
    words.join(" ")
}

/// clap's message without the usage block, on one line.
pub fn usage_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let head = text.split("\n\n").next().unwrap_or("invalid command line");
    head.trim_start_matches("error: ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
