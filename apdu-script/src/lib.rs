//! APDU scripts: the parsing half (pure, no I/O). The format is documented in
//! `docs/script-format.md`; this module is its only implementation.
//!
//! A script is a superset of what `scriptor` (pcsc-tools) reads: hex command lines,
//! `#` comments in column 1, `reset`, `exit` and `\` continuation keep scriptor's meaning.
//! Our extensions are lines that scriptor skips as comments:
//! `#<` expectations for the response of the preceding command and `#!` directives.
//!
//! - [`script`]: what a parsed [`Script`] is.
//! - [`parser`]: text to [`Script`], with errors that name file, line and column.
//! - [`limits`]: the caps the parser checks.
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
pub mod limits;
pub mod mask;
pub mod parser;
pub mod pattern;
mod scan;
pub mod script;
pub mod template;
pub mod vars;
pub mod writer;

#[cfg(test)]
mod tests;

pub use channel::{apply_channel, ChannelError};
pub use compat::Incompatibility;
pub use error::ParseError;
pub use expect::{Expectation, Mismatch};
pub use limits::{
    MAX_ALTERNATIVES, MAX_CHANNEL, MAX_COMMAND_BYTES, MAX_FILE_BYTES, MAX_LINE_CHARS,
    MAX_NAME_CHARS, MAX_PAUSE, MAX_VALUE_BYTES, MAX_VARIABLES,
};
pub use pattern::{ByteMask, Element, ResponsePattern};
pub use scan::VarRef;
pub use script::{Item, ItemKind, ReaderRef, ResetKind, Script, Warning};
pub use template::{Piece, RenderError, Template};
pub use vars::{VarError, Vars};
