//! The oracles of the cargo-fuzz targets (issue 5, "Bad input"), as plain functions so
//! that the targets in `fuzz_targets/` are one line each, and so that the corpus
//! generator (`examples/gen_corpus/`) and `cargo test` can replay inputs without
//! libFuzzer. Every function panics when an invariant breaks; libFuzzer reports that as
//! a crash and saves the input.
//!
//! - [`codecs`]: APDU parsing, BER-TLV, the ES10 / device-change / CAT / crypto decoders
//!   and the script parser: no panic, and what decodes re-encodes to the same value.
//! - [`sequence`]: the byte format that turns one fuzz input into a sequence of APDUs
//!   and power/reset events.
//! - [`harness`]: the card (card-sim's dispatcher on memory storage) driven by such a
//!   sequence, with the response and state checks after every step.
//! - [`answers`]: sm-cli's own code (the `sm_cli` library: transport, ES10 session and
//!   functions, the device-change terminal, the SM flows) against a card whose answers
//!   come from the input, with checks on every command sm-cli sends and on the SM's
//!   outcome.
//! - [`es9p`]: the SM-DP+ (`sm_cli::smdp`) fed arbitrary ES9+ request bodies, the ES9+
//!   JSON parsers and the activation-code parser.
//! - [`sm_remote`]: the remote SM's endpoints (`sm_cli::sm::remote`: startFlow, stepFlow
//!   and the operator's admin functions) fed arbitrary bodies and Authorization headers.

pub mod answers;
pub mod codecs;
pub mod es9p;
pub mod harness;
pub mod sequence;
pub mod sm_remote;

#[cfg(test)]
mod tests;
