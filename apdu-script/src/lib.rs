//! APDU scripts: the parsing half (pure, no I/O). The format is documented in
//! `docs/script-format.md`; this module is its only implementation.
//!
//! A script is a superset of what `scriptor` (pcsc-tools) reads: hex command lines,
//! `#` comments in column 1, `reset`, `exit` and `\` continuation keep scriptor's meaning.
//! Our extensions are lines that scriptor skips as comments:
//! `#<` expectations for the response of the preceding command and `#!` directives.
//!
//! - [`parser`]: text to [`Script`], with errors that name file, line and column.
//! - [`template`]: command templates with `${NAME}` variables, rendered at replay time.
//! - [`pattern`] and [`expect`]: expected responses, matched with captures.
//! - [`vars`]: the variable map shared by templates and expectations.
//! - [`channel`]: how `#! channel N` patches the logical channel into CLA.
//! - [`writer`]: `Script` back to text (`to_string` round-trips through `parse`).
//! - [`compat`]: which items scriptor cannot replay with the same meaning.
//!
//! Replay and record live in sm-cli; they interpret the [`ItemKind`]s in order.

pub mod channel;
pub mod compat;
pub mod directive;
pub mod error;
pub mod expect;
pub mod parser;
pub mod pattern;
mod scan;
pub mod template;
pub mod vars;
pub mod writer;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use channel::{apply_channel, ChannelError};
pub use compat::Incompatibility;
pub use error::ParseError;
pub use expect::{Expectation, Mismatch};
pub use pattern::{ByteMask, Element, ResponsePattern};
pub use template::{Piece, RenderError, Template, VarRef};
pub use vars::{VarError, Vars};

/// Largest script file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// Longest line accepted, in characters (a 65 536-byte response fits in hex without spaces).
pub const MAX_LINE_CHARS: usize = 256 * 1024;
/// Longest command, in bytes, as written or rendered (extended APDU: 4 + 3 + 65 535 + 2).
pub const MAX_COMMAND_BYTES: usize = 65_544;
/// Longest value a variable may hold (a captured response data field of Ne = 65 536).
pub const MAX_VALUE_BYTES: usize = 65_536;
/// Most distinct variable names in one script, and most entries in one [`Vars`].
pub const MAX_VARIABLES: usize = 256;
/// Longest variable name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Most `#<` alternatives after one command.
pub const MAX_ALTERNATIVES: usize = 16;
/// Longest `#! pause`.
pub const MAX_PAUSE: Duration = Duration::from_secs(600);
/// Highest logical channel (ISO/IEC 7816-4 §5.4.1: further interindustry CLA, 4-19).
pub const MAX_CHANNEL: u8 = 19;

/// A parsed script.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    /// What to do, in file order.
    pub items: Vec<Item>,
    /// Lines that parse but probably do not mean what the author thinks (scriptor rules
    /// such as "any line containing `exit` ends the script"). Not part of the meaning.
    pub warnings: Vec<Warning>,
}

/// One step of a script and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub line: usize,
    pub kind: ItemKind,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    /// Send a command; check the response if an expectation follows it.
    /// `secret`: marked by `#! secret`; the replay never prints its rendered bytes or
    /// response data, and skips it (reporting "skipped") when a variable it uses is unset.
    Command {
        template: Template,
        expect: Option<Expectation>,
        secret: bool,
    },
    /// A comment line (the text after `#`); kept so the recorder can annotate scripts.
    Comment(String),
    /// `reset` (warm, what scriptor does) or `#! reset cold`.
    Reset(ResetKind),
    /// `#! power off`.
    PowerOff,
    /// `#! power on`.
    PowerOn,
    /// `#! channel N`: later commands addressed to channel 0 are sent on channel N.
    Channel(u8),
    /// `#! reader N` or `#! reader "substring"`: continue on another reader.
    Reader(ReaderRef),
    /// `#! pause N`: wait N milliseconds.
    Pause(Duration),
    /// `#! auto-get-response on|off`: follow `61xx`/`6Cxx` automatically (T=0 style).
    AutoGetResponse(bool),
    /// `exit`: stop here (the parser reads no further).
    Exit,
}

/// Warm reset keeps power (PC/SC `SCARD_RESET_CARD`); cold reset cycles it
/// (`SCARD_UNPOWER_CARD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetKind {
    Warm,
    Cold,
}

/// Which reader `#! reader` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderRef {
    /// Position in the PC/SC reader list, from 0 (as `pcsc_scan` numbers them).
    Index(usize),
    /// The first reader whose name contains this text (case-sensitive).
    Name(String),
}

/// A line that parses but is probably a mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

impl Script {
    /// Parses script text. `file` only names the source in errors.
    pub fn parse(file: &str, text: &str) -> Result<Script, ParseError> {
        parser::parse(file, text)
    }

    /// Parses raw file contents: checks the size cap and UTF-8 before parsing.
    pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<Script, ParseError> {
        parser::parse_bytes(file, bytes)
    }

    /// Every distinct variable name the script mentions, in order of first mention.
    pub fn variables(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for item in &self.items {
            if let ItemKind::Command {
                template, expect, ..
            } = &item.kind
            {
                let in_expect = expect
                    .iter()
                    .flat_map(|e| e.alternatives.iter())
                    .flat_map(|p| p.data.iter())
                    .filter_map(|el| match el {
                        Element::Var(v) => Some(v.name.as_str()),
                        _ => None,
                    });
                for name in template
                    .variables()
                    .map(|v| v.name.as_str())
                    .chain(in_expect)
                {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
        }
        names
    }

    /// Checks that `Script::to_string()` parses back to the same items (line numbers
    /// aside). Scripts built in code (the recorder) call this before writing a file.
    pub fn validate(&self) -> Result<(), ParseError> {
        let text = self.to_string();
        let back = Script::parse("<generated>", &text)?;
        let same = back.items.len() == self.items.len()
            && back
                .items
                .iter()
                .zip(&self.items)
                .all(|(a, b)| a.kind == b.kind);
        if same {
            Ok(())
        } else {
            Err(ParseError::new(
                "<generated>",
                0,
                0,
                "the script does not survive writing and reading back (an item holds a value the format cannot express)",
            ))
        }
    }
}
