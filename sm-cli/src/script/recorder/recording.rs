//! The pure part of `--record`: a [`Recording`] turns the session's events (connect,
//! exchange, failed transmit, reset, power-off) into script items, with the secrets a
//! sender marked replaced (`mask`), and writes them with the header (`header`) as a
//! script text that parses back to the same items. No I/O; tested without PC/SC.

use super::header::{comment_safe, Facts};
use crate::clock;
use crate::errors::CliError;
use crate::reader::Secrecy;
use apdu::sgp22::es10::EidResponse;
use apdu::Eid;
use apdu_script::mask::hidden;
use apdu_script::{
    ByteMask, Element, Expectation, Item, ItemKind, Piece, ReaderRef, ResetKind, ResponsePattern,
    Script, Template, VarRef,
};

/// Distinct `${SECRET_n}` names before the rest share one (the format allows 256).
const MAX_SECRET_NAMES: usize = 200;

/// A session being recorded.
#[derive(Debug)]
pub struct Recording {
    command: String,
    started: String,
    /// Every connection: reader name and ATR (when pcscd gave it).
    connections: Vec<(String, Option<Vec<u8>>)>,
    eid: Option<Eid>,
    body: Vec<ItemKind>,
    reader: Option<String>,
    powered_off: bool,
    secrets: usize,
    outcome: Option<String>,
}

impl Recording {
    /// A new recording of `command` (e.g. `profiles enable`), started now.
    pub fn new(command: &str) -> Recording {
        Recording {
            command: command.to_string(),
            started: clock::now_iso8601(),
            connections: Vec::new(),
            eid: None,
            body: Vec::new(),
            reader: None,
            powered_off: false,
            secrets: 0,
            outcome: None,
        }
    }

    /// A connection to `reader`. A later connection to another reader becomes
    /// `#! reader "name"`; a connection after a power-off becomes `#! power on`.
    pub fn connected(&mut self, reader: &str, atr: Option<&[u8]>) {
        match &self.reader {
            Some(r) if r != reader => {
                self.body
                    .push(ItemKind::Reader(ReaderRef::Name(reader.to_string())));
                self.note_atr(reader, atr);
            }
            Some(_) if self.powered_off => {
                self.body.push(ItemKind::PowerOn);
                self.note_atr(reader, atr);
            }
            Some(_) => {}
            None => {}
        }
        self.powered_off = false;
        self.reader = Some(reader.to_string());
        self.connections
            .push((reader.to_string(), atr.map(<[u8]>::to_vec)));
    }

    fn note_atr(&mut self, reader: &str, atr: Option<&[u8]>) {
        let atr = atr.map_or_else(|| "unknown".into(), hex::encode_upper);
        self.comment(&format!("{reader}: ATR {atr}"));
    }

    /// `reset` (warm) or `#! reset cold`.
    pub fn reset(&mut self, cold: bool) {
        self.body.push(ItemKind::Reset(if cold {
            ResetKind::Cold
        } else {
            ResetKind::Warm
        }));
    }

    /// `#! power off` (the session disconnected unpowering the card).
    pub fn power_off(&mut self) {
        self.body.push(ItemKind::PowerOff);
        self.powered_off = true;
    }

    /// A free-text comment line.
    pub fn comment(&mut self, text: &str) {
        self.body
            .push(ItemKind::Comment(format!(" {}", comment_safe(text))));
    }

    /// How the command ended (a closing comment), e.g. the error of a failed command.
    pub fn set_outcome(&mut self, text: String) {
        self.outcome = Some(text);
    }

    /// One exchange as it went over the wire: the command, the raw answer (data and SW),
    /// and what of it the sender marked secret.
    pub fn exchange(&mut self, apdu: &[u8], answer: &[u8], secrecy: Secrecy) {
        let template = self.template(apdu, secrecy);
        let Some(n) = answer.len().checked_sub(2) else {
            self.body.push(ItemKind::Command {
                template,
                expect: None,
                secret: secrecy != Secrecy::Public,
            });
            self.comment(&format!(
                "the answer above had no status word ({} byte(s)); not checked",
                answer.len()
            ));
            return;
        };
        let (data, sw) = (&answer[..n], u16::from_be_bytes([answer[n], answer[n + 1]]));
        let pattern = if secrecy.hides_response() && !data.is_empty() {
            let mut p = ResponsePattern::sw_only(sw);
            p.data
                .push(Element::Bytes(vec![ByteMask::any(); data.len()]));
            p
        } else {
            if !secrecy.hides_response() {
                self.sniff_eid(data, sw);
            }
            ResponsePattern::exact(data, sw)
        };
        self.body.push(ItemKind::Command {
            template,
            expect: Some(Expectation::single(pattern)),
            secret: secrecy != Secrecy::Public,
        });
    }

    /// A command that got no answer (a PC/SC error): kept as a comment, since there is
    /// nothing to expect. The bytes are left out when they are secret.
    pub fn failed(&mut self, apdu: &[u8], secrecy: Secrecy, error: &str) {
        let shown = if secrecy.hides_command() {
            // The header only, and for a typed text not even Lc (`hidden`'s fixed form).
            let keep = hidden(apdu).map_or(apdu.len().min(5), |h| h.start);
            format!("{} (data hidden)", hex::encode_upper(&apdu[..keep]))
        } else {
            hex::encode_upper(apdu)
        };
        self.comment(&format!("not answered: {shown}: {error}"));
    }

    /// The command as a template: literal, or with its secret part
    /// ([`apdu_script::mask::hidden`]) replaced by a fresh `${SECRET_n:len}`, or by
    /// `${SECRET_n}` (no count) in the fixed form of a typed text, whose length is
    /// secret too.
    fn template(&mut self, apdu: &[u8], secrecy: Secrecy) -> Template {
        let Some(h) = secrecy.hides_command().then(|| hidden(apdu)).flatten() else {
            return Template::literal(apdu.to_vec());
        };
        self.secrets += 1;
        let var = if self.secrets <= MAX_SECRET_NAMES {
            VarRef {
                name: format!("SECRET_{}", self.secrets),
                len: h.length_shown.then_some(h.len),
            }
        } else {
            VarRef {
                name: "SECRET_MORE".into(),
                len: None,
            }
        };
        Template::new([
            Piece::Bytes(apdu[..h.start].to_vec()),
            Piece::Var(var),
            Piece::Bytes(apdu[h.start + h.len..].to_vec()),
        ])
    }

    /// Notes the EID from a GetEID answer (`BF3E { 5A eid }`, SGP.22 §5.7.20) for the
    /// card-sim hint.
    fn sniff_eid(&mut self, data: &[u8], sw: u16) {
        if sw != 0x9000 || self.eid.is_some() {
            return;
        }
        self.eid = EidResponse::decode(data).ok().map(|r| r.0);
    }

    /// What the header says (see `header`).
    fn header(&self) -> Facts<'_> {
        Facts {
            command: &self.command,
            started: &self.started,
            connections: &self.connections,
            eid: self.eid.as_ref(),
            secrets: self.secrets,
        }
    }

    /// The recording as a script: header, exchanges, closing comment.
    pub fn to_script(&self) -> Script {
        let mut items: Vec<ItemKind> = self
            .header()
            .lines()
            .iter()
            .map(|h| ItemKind::Comment(comment_safe(h)))
            .collect();
        items.extend(self.body.iter().cloned());
        if let Some(o) = &self.outcome {
            items.push(ItemKind::Comment(format!(" {}", comment_safe(o))));
        }
        Script {
            items: items
                .into_iter()
                .enumerate()
                .map(|(i, kind)| Item { line: i + 1, kind })
                .collect(),
            warnings: Vec::new(),
        }
    }

    /// The script text, checked to parse back to the same items.
    pub fn to_text(&self) -> Result<String, CliError> {
        let script = self.to_script();
        script.validate().map_err(|e| {
            CliError::Io(std::io::Error::other(format!(
                "the recording cannot be written as a script: {e}"
            )))
        })?;
        Ok(script.to_string())
    }
}
