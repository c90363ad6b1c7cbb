//! APDU scripts in sm-cli: the I/O halves of issue 4 on top of `apdu_script` (which
//! parses, matches and writes scripts without I/O; format: `docs/script-format.md`).
//!
//! - [`engine`]: replays a parsed script through a [`engine::ScriptCard`] and checks
//!   every expectation, producing a [`report::FileReport`].
//! - [`pcsc_card`]: the PC/SC implementation of `ScriptCard` (`sm-cli script run`).
//! - [`report`]: the run report, for people (`human`) and for `--json`.
//! - [`junit`]: the same report as JUnit XML (`--junit PATH`) for CI dashboards.
//! - [`recorder`]: `--record FILE`, fed by the reader session's transmit, writes any
//!   command's exchanges as a script.
//! - [`clock`]: UTC timestamps for headers and reports (no date crate needed).
//! - [`atomic`]: writing output files atomically (temp file, fsync, rename, fsync dir).

pub mod atomic;
pub mod clock;
pub mod engine;
pub mod junit;
pub mod pcsc_card;
pub mod recorder;
pub mod report;

#[cfg(test)]
mod tests;
