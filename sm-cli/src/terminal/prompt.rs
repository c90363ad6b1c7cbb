//! The terminal's keypad (spec A.3, B.2, B.5, C.2: the user types the OP ID and the
//! key-generation parameter): prompts on the controlling terminal, `/dev/tty`, so they
//! work even when stdin and stdout are redirected. Hidden entries (GET INPUT qualifier
//! `04`, TS 102 223 §6.4.3) are read without echo (rpassword); the text is zeroized.

use std::io::{BufRead, Write};
use zeroize::Zeroizing;

/// Asks a person. `None`: nobody can be asked (no terminal) or nothing was typed.
pub trait Prompter {
    /// A secret, not echoed.
    fn hidden(&mut self, prompt: &str) -> Option<Zeroizing<String>>;
    /// Visible text (the OP ID).
    fn visible(&mut self, prompt: &str) -> Option<String>;
}

/// Prompts on the controlling terminal.
#[derive(Debug, Default)]
pub struct TtyPrompter;

impl Prompter for TtyPrompter {
    fn hidden(&mut self, prompt: &str) -> Option<Zeroizing<String>> {
        let typed = Zeroizing::new(rpassword::prompt_password(format!("{prompt}: ")).ok()?);
        let text = Zeroizing::new(typed.trim_end_matches(['\r', '\n']).to_string());
        (!text.is_empty()).then_some(text)
    }

    fn visible(&mut self, prompt: &str) -> Option<String> {
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        let mut out = tty.try_clone().ok()?;
        write!(out, "{prompt}: ").ok()?;
        out.flush().ok()?;
        let mut line = String::new();
        std::io::BufReader::new(tty).read_line(&mut line).ok()?;
        let line = line.trim().to_string();
        (!line.is_empty()).then_some(line)
    }
}

/// Nobody to ask (scripts, CI, tests).
#[derive(Debug, Default)]
pub struct NoPrompter;

impl Prompter for NoPrompter {
    fn hidden(&mut self, _: &str) -> Option<Zeroizing<String>> {
        None
    }

    fn visible(&mut self, _: &str) -> Option<String> {
        None
    }
}

/// True when a controlling terminal can be opened for prompts.
pub fn have_tty() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}
