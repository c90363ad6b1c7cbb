//! Tests of the script format: scriptor files, extensions, errors with positions,
//! expectation matching, round trips, the example scripts, and random input.

mod examples;
mod expect;
mod fuzz;
mod parse;
mod roundtrip;

use super::*;

/// Parses or panics with the error (tests only).
fn parse(text: &str) -> Script {
    match Script::parse("t.apdu", text) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

/// The parse error message, `file:line:col: message`.
fn error(text: &str) -> String {
    match Script::parse("t.apdu", text) {
        Ok(s) => panic!("expected an error, parsed {s:?}"),
        Err(e) => e.to_string(),
    }
}

/// The literal bytes of every command, in order.
fn commands(s: &Script) -> Vec<String> {
    s.items
        .iter()
        .filter_map(|i| match &i.kind {
            ItemKind::Command { template, .. } => Some(template.to_string()),
            _ => None,
        })
        .collect()
}

/// Item kinds without line numbers.
fn kinds(s: &Script) -> Vec<ItemKind> {
    s.items.iter().map(|i| i.kind.clone()).collect()
}

/// The expectation of the n-th command.
fn expectation(s: &Script, n: usize) -> Expectation {
    s.items
        .iter()
        .filter_map(|i| match &i.kind {
            ItemKind::Command { expect, .. } => Some(expect.clone()),
            _ => None,
        })
        .nth(n)
        .flatten()
        .unwrap_or_else(|| panic!("command {n} has no expectation"))
}

/// A single-line expectation.
fn pattern(text: &str) -> Expectation {
    expectation(&parse(&format!("00A40400\n#< {text}\n")), 0)
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap_or_else(|e| panic!("bad test hex {s}: {e}"))
}
