//! The pure part of `--record`: a [`Recording`] turns what crossed the vpcd link (power
//! events, command and answer bytes) into script text in the APDU script format
//! (docs/script-format.md), one chunk per exchange, with the secrets of
//! [`super::mask`] replaced. No I/O.
//!
//! - Each exchange: the command as sent (a `#! secret` line and `${SECRET_n:len}` for a
//!   secret data field; a TERMINAL RESPONSE with typed text keeps only its header,
//!   `80140000${SECRET_n}`, so not even the text's length is written), then
//!   `#< data SW` with the answer as it left the card (`xx` for every hidden data byte,
//!   so the replay checks its length and SW only). GET RESPONSE, `61xx` and `6Cxx` are
//!   written as they went over the wire, so the script replays with
//!   `auto-get-response off` (the format's default) byte for byte.
//! - Power events: before the first command nothing is written (the replaying client's
//!   connect powers the card). Later, the events between two commands become, before
//!   the next command, `#! power off` + `#! power on` when the card lost power or was
//!   powered on again (a client disconnected unpowering it, or pcscd's idle power-off),
//!   else `reset` (a warm reset). The card drops all volatile state at each of them
//!   (`Applet::power_cycle`), so the replay only has to clear it at the same points.

use super::mask::{Masker, Secrecy};
use apdu_script::mask::hidden;
use apdu_script::{
    ByteMask, Element, Expectation, Item, ItemKind, Piece, ResetKind, ResponsePattern, Script,
    Template, VarRef,
};

/// Distinct `${SECRET_n}` names before the rest share one (the format allows 256
/// variables; sm-cli's recorder uses the same cap).
const MAX_SECRET_NAMES: usize = 200;

/// What happened on the link since the last command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Nothing,
    Reset,
    PowerCycle,
}

/// A card-side session being recorded.
#[derive(Debug)]
pub struct Recording {
    masker: Masker,
    /// A command has been written (power events before it are not).
    started: bool,
    pending: Pending,
    secrets: usize,
    /// Exchanges written.
    exchanges: usize,
}

impl Default for Recording {
    fn default() -> Self {
        Recording::new()
    }
}

impl Recording {
    pub fn new() -> Recording {
        Recording {
            masker: Masker::default(),
            started: false,
            pending: Pending::Nothing,
            secrets: 0,
            exchanges: 0,
        }
    }

    /// How many exchanges have been written.
    pub fn exchanges(&self) -> usize {
        self.exchanges
    }

    /// vpcd power on.
    pub fn power_on(&mut self) {
        self.masker.forget();
        self.pending = Pending::PowerCycle;
    }

    /// vpcd power off (also a dropped link).
    pub fn power_off(&mut self) {
        self.masker.forget();
        self.pending = Pending::PowerCycle;
    }

    /// vpcd warm reset.
    pub fn reset(&mut self) {
        self.masker.forget();
        if self.pending == Pending::Nothing {
            self.pending = Pending::Reset;
        }
    }

    /// Comment lines (the header): `#` + each line, made safe by the writer.
    pub fn comments(lines: &[String]) -> String {
        script_text(
            lines
                .iter()
                .map(|l| ItemKind::Comment(format!(" {l}")))
                .collect(),
        )
    }

    /// One exchange: the script text to append (power events first, see module docs).
    pub fn exchange(&mut self, apdu: &[u8], answer: &[u8]) -> String {
        let secrecy = self.masker.secrecy(apdu);
        let mut items = Vec::new();
        if self.started {
            match self.pending {
                Pending::Nothing => {}
                Pending::Reset => items.push(ItemKind::Reset(ResetKind::Warm)),
                Pending::PowerCycle => {
                    items.push(ItemKind::PowerOff);
                    items.push(ItemKind::PowerOn);
                }
            }
        }
        self.started = true;
        self.pending = Pending::Nothing;
        self.exchanges += 1;
        let template = self.template(apdu, secrecy);
        let secret = secrecy.command;
        let Some(n) = answer.len().checked_sub(2) else {
            items.push(ItemKind::Command {
                template,
                expect: None,
                secret,
            });
            items.push(ItemKind::Comment(format!(
                " the answer above had no status word ({} byte(s)); not checked",
                answer.len()
            )));
            return script_text(items);
        };
        let (data, sw) = (&answer[..n], u16::from_be_bytes([answer[n], answer[n + 1]]));
        let pattern = if secrecy.answer && !data.is_empty() {
            let mut p = ResponsePattern::sw_only(sw);
            p.data
                .push(Element::Bytes(vec![ByteMask::any(); data.len()]));
            p
        } else {
            ResponsePattern::exact(data, sw)
        };
        items.push(ItemKind::Command {
            template,
            expect: Some(Expectation::single(pattern)),
            secret,
        });
        script_text(items)
    }

    /// The command as a template: literal, or with the secret part
    /// ([`apdu_script::mask::hidden`]) replaced by a fresh `${SECRET_n:len}`, or
    /// `${SECRET_n}` in the fixed form of a typed text, whose length is secret too.
    fn template(&mut self, apdu: &[u8], secrecy: Secrecy) -> Template {
        let Some(h) = secrecy.command.then(|| hidden(apdu)).flatten() else {
            return Template::literal(apdu.to_vec());
        };
        self.secrets += 1;
        if self.secrets <= MAX_SECRET_NAMES {
            let count = h.length_shown.then_some(h.len);
            splice(
                apdu,
                h.start,
                h.len,
                format!("SECRET_{}", self.secrets),
                count,
            )
        } else {
            splice(apdu, h.start, h.len, "SECRET_MORE".into(), None)
        }
    }
}

/// `apdu` with bytes `start..start + len` replaced by `${name}`.
fn splice(apdu: &[u8], start: usize, len: usize, name: String, n: Option<usize>) -> Template {
    Template::new([
        Piece::Bytes(apdu[..start].to_vec()),
        Piece::Var(VarRef { name, len: n }),
        Piece::Bytes(apdu[start + len..].to_vec()),
    ])
}

/// Items as script text (the `apdu-script` writer).
fn script_text(kinds: Vec<ItemKind>) -> String {
    Script {
        items: kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Item { line: i + 1, kind })
            .collect(),
        warnings: Vec::new(),
    }
    .to_string()
}
