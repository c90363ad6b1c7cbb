//! What a parsed script is: [`Script`], its [`Item`]s and what each does ([`ItemKind`]).
//! Parsing lives in [`crate::parser`], writing in [`crate::writer`].

use crate::expect::Expectation;
use crate::pattern::Element;
use crate::template::Template;
use std::time::Duration;

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
    /// True when the script names its reader (`#! reader`) before it touches a card
    /// (a command, reset or power directive), or never touches one: a player need not
    /// choose a reader for it beforehand.
    pub fn names_its_reader_first(&self) -> bool {
        for item in &self.items {
            match item.kind {
                ItemKind::Reader(_) => return true,
                ItemKind::Command { .. }
                | ItemKind::Reset(_)
                | ItemKind::PowerOff
                | ItemKind::PowerOn => return false,
                ItemKind::Comment(_)
                | ItemKind::Channel(_)
                | ItemKind::Pause(_)
                | ItemKind::AutoGetResponse(_)
                | ItemKind::Exit => {}
            }
        }
        true
    }
}

#[cfg(test)]
mod reader_first_tests {
    use super::Script;

    #[test]
    fn a_reader_directive_before_any_command_names_the_reader() {
        let first = |t: &str| Script::parse("t", t).unwrap().names_its_reader_first();
        assert!(first("# c\n#! pause 1\n#! reader 1\n00A4000000\n"));
        assert!(first("# nothing to send\n"));
        assert!(!first("00A4000000\n#! reader 1\n"));
        assert!(!first("reset\n#! reader 1\n"));
        assert!(!first("#! power off\n#! reader 1\n"));
    }
}
