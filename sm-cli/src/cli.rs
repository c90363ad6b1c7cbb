//! The command line: global options and one variant per subcommand (clap derive).
//!
//! New subcommands (the subscription manager, scripts, the terminal loop) add a variant
//! to [`Cmd`] and a module under `commands/`; `commands::run` dispatches to it.

use crate::lpa::DEFAULT_BLOCK_SIZE;
use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes: 0 ok, 1 unexpected PC/SC or I/O error, 2 bad usage or input, 3 pcscd not running,
4 no reader, 5 no such reader, 6 ambiguous reader, 7 no card, 8 card held by another program,
9 card did not answer, 10 error status word, 11 undecodable answer, 12 not confirmed,
13 not an eUICC, 20+N ES10 result code N (1-6), 29 other ES10 result codes.
Device-change method: 30 unknown OP ID, 31 wrong parameter (attempts left), 32 locked,
33 OP ID already provisioned, 34 card already holds the profile, 35 card signature or key
does not verify, 36 invalid IMEI from the terminal, 37 challenge replayed or expired,
38 card out of protocol, 39 SM database or cryptography failure, 40+N card result code N
(1-10), 59 other card result codes.
Scripts: 60 a script line failed (mismatch or error), 61 a script does not parse.";

/// Drives virtual or real eUICCs through PC/SC.
#[derive(Debug, Parser)]
#[command(name = "sm-cli", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Cmd,
}

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
    /// The SM database (SQLite) [default: <data dir>/veuicc/sm.sqlite3]
    #[arg(long, global = true, env = "SM_CLI_DB", value_name = "PATH")]
    pub sm_db: Option<std::path::PathBuf>,
    /// Write this command's APDU exchanges to FILE as a replayable script (secrets masked)
    #[arg(long, global = true, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
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
    /// Reset the eUICC memory (eUICCMemoryReset): deletes profiles
    MemoryReset(MemoryResetArgs),
    /// Send raw APDUs (hex), printing each answer with its status word
    Apdu(ApduArgs),
    /// Flow A: create a subscription and install its profile on this card; the card
    /// asks for the key-generation parameter twice
    Provision(crate::commands::provision::ProvisionArgs),
    /// Flow B: move a subscription to this card (OP ID and parameter asked through the card)
    DeviceChange(crate::commands::device_change::DeviceChangeArgs),
    /// Flow C: change the key-generation parameter (current one, then the new one twice)
    Rekey(crate::commands::rekey::RekeyArgs),
    /// Have the SM remove from this card the profiles that moved to another device
    Sync,
    /// The subscription manager's records (operator commands; no card needed)
    #[command(subcommand)]
    Sm(crate::commands::sm_admin::SmCmd),
    /// Replay APDU scripts and check every answer (docs/script-format.md)
    #[command(subcommand)]
    Script(crate::commands::script_cmd::ScriptCmd),
}

#[derive(Debug, Subcommand)]
pub enum ProfilesCmd {
    /// List the profiles (GetProfilesInfo)
    List,
    /// Enable a profile (EnableProfile)
    Enable {
        #[command(flatten)]
        target: Target,
        /// Ask the eUICC to REFRESH the terminal after the switch (refreshFlag)
        #[arg(long)]
        refresh: bool,
    },
    /// Disable a profile (DisableProfile)
    Disable {
        #[command(flatten)]
        target: Target,
        /// Ask the eUICC to REFRESH the terminal after the switch (refreshFlag)
        #[arg(long)]
        refresh: bool,
    },
    /// Delete a disabled profile (DeleteProfile)
    Delete {
        #[command(flatten)]
        target: Target,
    },
    /// Set a profile's nickname (SetNickname): `nickname ICCID NAME` or `nickname --aid HEX NAME`
    Nickname {
        /// ICCID and the new nickname, or only the nickname with --aid
        #[arg(num_args = 1..=2, required = true, value_names = ["ICCID", "NAME"])]
        args: Vec<String>,
        /// Choose the profile by its AID (hex) instead of its ICCID
        #[arg(long, value_name = "HEX")]
        aid: Option<String>,
    },
}

/// A profile named by ICCID or AID.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// The profile's ICCID (18-20 digits)
    #[arg(required_unless_present = "aid", conflicts_with = "aid")]
    pub iccid: Option<String>,
    /// Choose the profile by its AID (hex) instead of its ICCID
    #[arg(long, value_name = "HEX")]
    pub aid: Option<String>,
}

#[derive(Debug, Args)]
pub struct MemoryResetArgs {
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Delete operational profiles
    #[arg(long)]
    pub operational: bool,
    /// Delete field-loaded test profiles
    #[arg(long)]
    pub test_profiles: bool,
    /// Reset the default SM-DP+ address
    #[arg(long)]
    pub default_smdp: bool,
}

#[derive(Debug, Args)]
pub struct ApduArgs {
    /// Command APDUs in hex (spaces and colons inside one argument are ignored)
    #[arg(required = true, value_name = "HEX")]
    pub apdus: Vec<String>,
    /// Send exactly what is given: no GET RESPONSE on 61xx, no resend on 6Cxx
    #[arg(long)]
    pub raw: bool,
    /// Stop at the first error status word and exit with code 10
    #[arg(long)]
    pub check: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_global_options_anywhere() {
        let c = Cli::try_parse_from(["sm-cli", "profiles", "list", "--json", "-r", "1"]).unwrap();
        assert!(c.global.json);
        assert_eq!(c.global.reader.as_deref(), Some("1"));
        assert_eq!(c.global.block_size, 120);
        assert!(Cli::try_parse_from(["sm-cli", "--block-size", "5", "info"]).is_err());
    }

    #[test]
    fn profile_targets() {
        let c = Cli::try_parse_from(["sm-cli", "profiles", "enable", "--aid", "A0000005591010"])
            .unwrap();
        let Cmd::Profiles(ProfilesCmd::Enable { target, .. }) = c.command else {
            panic!("enable")
        };
        assert_eq!(
            (target.iccid, target.aid.as_deref()),
            (None, Some("A0000005591010"))
        );
        assert!(Cli::try_parse_from(["sm-cli", "profiles", "enable"]).is_err());
        assert!(
            Cli::try_parse_from(["sm-cli", "profiles", "delete", "89", "--aid", "A0"]).is_err()
        );
        let c =
            Cli::try_parse_from(["sm-cli", "profiles", "nickname", "--aid", "A0", "home"]).unwrap();
        let Cmd::Profiles(ProfilesCmd::Nickname { args, aid }) = c.command else {
            panic!("nickname")
        };
        assert_eq!(
            (args, aid.as_deref()),
            (vec!["home".to_string()], Some("A0"))
        );
    }
}
