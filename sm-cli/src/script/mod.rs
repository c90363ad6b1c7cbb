//! APDU scripts in sm-cli: the I/O halves of issue 4 on top of `apdu_script` (which
//! parses, matches and writes scripts without I/O; format: `docs/script-format.md`).
//!
//! - [`engine`]: replays a parsed script through a [`engine::ScriptCard`] and checks
//!   every expectation, producing a [`report::FileReport`].
//! - [`pcsc_card`]: the PC/SC implementation of `ScriptCard` (`sm-cli script run`).
//! - [`report`]: the run report, for people (`human`) and for `--json`.
//! - [`junit`]: the same report as JUnit XML (`--junit PATH`) for CI dashboards.
//! - [`recorder`]: `--record FILE`, installed on the reader sessions, writes any
//!   command's exchanges as a script.
//! - [`output_file`]: checking and atomically writing those files (recordings, JUnit).

pub mod engine;
pub mod junit;
pub mod output_file;
pub mod pcsc_card;
pub mod recorder;
pub mod report;

#[cfg(test)]
mod tests;
