//! The terminal's keypad (spec A.3, B.2, B.5, C.2: the user types the OP ID and the
//! key-generation parameter): prompts on the controlling terminal, `/dev/tty`, so they
//! work even when stdin and stdout are redirected. Hidden entries (GET INPUT qualifier
//! `04`, TS 102 223 §6.4.3) are read without echo and zeroized ([`super::tty`]).

pub use super::tty::Entry;
use std::io::{BufRead, Write};
use zeroize::Zeroizing;

/// Asks a person.
pub trait Prompter {
    /// A secret, not echoed.
    fn hidden(&mut self, prompt: &str) -> Entry<Zeroizing<String>>;
    /// Visible text (the OP ID).
    fn visible(&mut self, prompt: &str) -> Entry<String>;
}

/// Prompts on the controlling terminal.
#[derive(Debug, Default)]
pub struct TtyPrompter;

impl Prompter for TtyPrompter {
    fn hidden(&mut self, prompt: &str) -> Entry<Zeroizing<String>> {
        match open_tty() {
            Some(mut tty) => super::tty::read_hidden(&mut tty, prompt),
            None => Entry::NoTerminal,
        }
    }

    fn visible(&mut self, prompt: &str) -> Entry<String> {
        let Some(tty) = open_tty() else {
            return Entry::NoTerminal;
        };
        let Ok(mut out) = tty.try_clone() else {
            return Entry::NoTerminal;
        };
        if write!(out, "{prompt}: ")
            .and_then(|()| out.flush())
            .is_err()
        {
            return Entry::NoTerminal;
        }
        let mut line = String::new();
        match std::io::BufReader::new(tty).read_line(&mut line) {
            // Ctrl-D (end of input) before Enter: nothing given.
            Ok(0) | Err(_) => Entry::Nothing,
            Ok(_) => match line.trim() {
                "" => Entry::Nothing,
                t => Entry::Typed(t.to_string()),
            },
        }
    }
}

/// The controlling terminal, for reading and writing.
fn open_tty() -> Option<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()
}

/// Nobody to ask (scripts, CI, tests).
#[derive(Debug, Default)]
pub struct NoPrompter;

impl Prompter for NoPrompter {
    fn hidden(&mut self, _: &str) -> Entry<Zeroizing<String>> {
        Entry::NoTerminal
    }

    fn visible(&mut self, _: &str) -> Entry<String> {
        Entry::NoTerminal
    }
}

/// True when a controlling terminal can be opened for prompts.
pub fn have_tty() -> bool {
    open_tty().is_some()
}
