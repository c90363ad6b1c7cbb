//! `--record FILE` (a global option): every APDU exchange of the command, whatever the
//! command, is written as a replayable script (docs/script-format.md).
//!
//! The reader session (`reader::session`) reports each connect, transmit, reset and
//! power-off here; that is the lowest layer every command goes through, so GET RESPONSE
//! rounds and `6Cxx` resends are recorded as they went over the wire and replay with
//! `auto-get-response off` (the default) byte for byte, under scriptor too.
//!
//! - Header comments: sm-cli version, UTC date, the command, reader and ATR; for a card
//!   that looks like card-sim (its default ATR, an SGP.26 test EID) a hint to replay
//!   against a fresh `card-sim --seed N`, since random values (challenges) only repeat
//!   with the same seed.
//! - Each command line in hex with `#<` and the actual answer.
//! - Secrets, as the sender marked them with `Secrecy` (`reader::trace`): the command is
//!   written after `#! secret` with its data field replaced by `${SECRET_n:len}`, so the
//!   replay skips it unless `--var SECRET_n=HEX` is given; a secret answer is written
//!   with every data byte masked (`xx`), so only its length and SW are checked. A secret
//!   TERMINAL RESPONSE (the typed key-generation parameter, ETSI TS 102 223 §6.8) keeps
//!   its TLVs and only the text becomes `${PARAM:len}` (the same text, typed twice, the
//!   same name; another text `PARAM_2`...), so a replay needs just the parameter the
//!   person knows: `--var PARAM=$(printf %s "$P" | xxd -p)`. Secret bytes are never
//!   written; typed texts are kept (zeroized) only to give equal texts equal names.
//! - The file is written atomically when the command ends, also when it failed (a
//!   closing comment names the error), so failed sessions can be replayed.
//!
//! [`Recording`] is the pure part (tested without PC/SC); the free functions hold the
//! process-wide recording that the session feeds.

use crate::errors::CliError;
use crate::reader::Secrecy;
use crate::script::{atomic, clock};
use apdu::{Command, Eid};
use apdu_script::{
    ByteMask, Element, Expectation, Item, ItemKind, Piece, ReaderRef, ResetKind, ResponsePattern,
    Script, Template, VarRef,
};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use zeroize::Zeroizing;

/// card-sim's default ATR (card-sim/src/card/atr.rs): T=0 with a UICC's global bytes.
pub const CARD_SIM_ATR: [u8; 6] = [0x3B, 0x80, 0x80, 0x1F, 0x07, 0x18];
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
    /// The typed texts seen in secret TERMINAL RESPONSEs; index i is `PARAM`/`PARAM_{i+1}`.
    params: Vec<Zeroizing<Vec<u8>>>,
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
            params: Vec::new(),
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
            format!(
                "{} (data hidden)",
                hex::encode_upper(&apdu[..apdu.len().min(5)])
            )
        } else {
            hex::encode_upper(apdu)
        };
        self.comment(&format!("not answered: {shown}: {error}"));
    }

    /// The command as a template: literal, or with its data field replaced by a fresh
    /// `${SECRET_n:len}` when the command data is secret.
    fn template(&mut self, apdu: &[u8], secrecy: Secrecy) -> Template {
        if secrecy.hides_command() {
            if let Some((start, len)) = terminal_response_text(apdu) {
                let name = self.param_name(&apdu[start..start + len]);
                return Template::new([
                    Piece::Bytes(apdu[..start].to_vec()),
                    Piece::Var(VarRef {
                        name,
                        len: Some(len),
                    }),
                    Piece::Bytes(apdu[start + len..].to_vec()),
                ]);
            }
        }
        let Some((start, len)) = secrecy.hides_command().then(|| data_field(apdu)).flatten() else {
            return Template::literal(apdu.to_vec());
        };
        self.secrets += 1;
        let var = if self.secrets <= MAX_SECRET_NAMES {
            VarRef {
                name: format!("SECRET_{}", self.secrets),
                len: Some(len),
            }
        } else {
            VarRef {
                name: "SECRET_MORE".into(),
                len: None,
            }
        };
        Template::new([
            Piece::Bytes(apdu[..start].to_vec()),
            Piece::Var(var),
            Piece::Bytes(apdu[start + len..].to_vec()),
        ])
    }

    /// `PARAM` for the first distinct typed text, `PARAM_2` for the second...
    fn param_name(&mut self, text: &[u8]) -> String {
        let i = match self.params.iter().position(|p| p.as_slice() == text) {
            Some(i) => i,
            None => {
                self.params.push(Zeroizing::new(text.to_vec()));
                self.params.len() - 1
            }
        };
        match i {
            0 => "PARAM".into(),
            i => format!("PARAM_{}", i + 1),
        }
    }

    /// Notes the EID from a GetEID answer (`BF3E 12 5A 10 <16 bytes>`, SGP.22 §5.7.20)
    /// for the card-sim hint.
    fn sniff_eid(&mut self, data: &[u8], sw: u16) {
        if sw != 0x9000 || self.eid.is_some() {
            return;
        }
        if let [0xBF, 0x3E, 0x12, 0x5A, 0x10, eid @ ..] = data {
            self.eid = Eid::from_bytes(eid).ok();
        }
    }

    /// The header comments (module docs).
    fn header(&self) -> Vec<String> {
        let mut h = vec![
            format!(
                " Recorded by sm-cli {} on {}: sm-cli {}",
                env!("CARGO_PKG_VERSION"),
                self.started,
                self.command
            ),
            " Format: docs/script-format.md. Replay and check: sm-cli script run FILE".into(),
        ];
        let mut seen: Vec<&(String, Option<Vec<u8>>)> = Vec::new();
        for c in &self.connections {
            if !seen.contains(&c) {
                seen.push(c);
            }
        }
        for (reader, atr) in &seen {
            let atr = atr
                .as_deref()
                .map_or_else(|| "unknown".into(), hex::encode_upper);
            h.push(format!(" Reader: {reader}, ATR {atr}"));
        }
        if seen.is_empty() {
            h.push(" No card was connected.".into());
        }
        if let Some(eid) = &self.eid {
            h.push(format!(" EID: {}", eid.digits()));
        }
        h.extend(card_sim_hint(
            self.connections
                .iter()
                .any(|(_, a)| a.as_deref() == Some(&CARD_SIM_ATR[..])),
            self.eid.as_ref(),
        ));
        if !self.params.is_empty() {
            h.push(format!(
                " Typed parameter: {} distinct text(s) in TERMINAL RESPONSE written as ${{PARAM}}{} after '#! secret';",
                self.params.len(),
                if self.params.len() > 1 { ", ${PARAM_2}..." } else { "" }
            ));
            h.push(
                "   replay them with --var PARAM=$(printf %s \"$PARAMETER\" | xxd -p), else they are skipped."
                    .into(),
            );
        }
        if self.secrets > 0 {
            h.push(format!(
                " Secrets: {} command(s) carried secret data, written as ${{SECRET_n:len}} after '#! secret';",
                self.secrets
            ));
            h.push(
                "   the replay skips them unless given --var SECRET_n=HEX. Masked answers (xx) check length and SW only."
                    .into(),
            );
        }
        h
    }

    /// The recording as a script: header, exchanges, closing comment.
    pub fn to_script(&self) -> Script {
        let mut items: Vec<ItemKind> = self
            .header()
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

/// Comment text that the script writer keeps as it is (so `Script::validate` holds):
/// control characters become spaces and `exit`, which ends a script wherever it
/// stands (scriptor's rule), becomes `ex-it`.
fn comment_safe(text: &str) -> String {
    let mut s: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    while let Some(pos) = s.to_ascii_lowercase().find("exit") {
        s.insert(pos + 2, '-');
    }
    s
}

/// Where the typed text sits in a TERMINAL RESPONSE (`80 14 00 00 Lc`, ETSI TS 102 221
/// §10.1.2): the value of its text string TLV (tag `8D`/`0D`, TS 102 223 §8.15) after
/// the data coding scheme byte, as (start, length) in the APDU. `None` for anything
/// else, or an empty text.
fn terminal_response_text(apdu: &[u8]) -> Option<(usize, usize)> {
    if apdu.get(1) != Some(&apdu::cat::INS_TERMINAL_RESPONSE) || apdu.get(4) == Some(&0) {
        return None;
    }
    let lc = usize::from(*apdu.get(4)?);
    let data = apdu.get(5..5 + lc)?;
    let mut i = 0;
    while i < data.len() {
        let tag = data[i];
        let (len, hdr) = match *data.get(i + 1)? {
            0x81 => (usize::from(*data.get(i + 2)?), 3),
            n if n < 0x80 => (usize::from(n), 2),
            _ => return None,
        };
        let value = i + hdr;
        if value + len > data.len() {
            return None;
        }
        if tag & 0x7F == 0x0D && len > 1 {
            return Some((5 + value + 1, len - 1));
        }
        i = value + len;
    }
    None
}

/// Where the data field of a command APDU sits (start, length), if it has one
/// (ISO/IEC 7816-4 §5.1: short Lc at byte 4, extended `00 Lc1 Lc2` at bytes 4-6). A
/// command that does not parse has everything after the header and Lc hidden.
fn data_field(apdu: &[u8]) -> Option<(usize, usize)> {
    match Command::parse(apdu) {
        Ok(cmd) if cmd.data.is_empty() => None,
        Ok(cmd) => {
            let start = if apdu.get(4) == Some(&0) { 7 } else { 5 };
            (start + cmd.data.len() <= apdu.len()).then_some((start, cmd.data.len()))
        }
        Err(_) => (apdu.len() > 5).then(|| (5, apdu.len() - 5)),
    }
}

/// The header lines about card-sim: its EIDs are SGP.26 test EIDs with serial
/// `seed * 1000 + slot` (card-sim/src/state/new_card.rs), and its RNG depends on the
/// seed alone, so `--seed N --eid EID` reproduces the card on any slot.
pub fn card_sim_hint(card_sim_atr: bool, eid: Option<&Eid>) -> Vec<String> {
    let serial = eid.and_then(|e| {
        let d = e.digits();
        d.strip_prefix(apdu::sgp22::eid::TEST_PREFIX)
            .and_then(|rest| rest.get(..22))
            .and_then(|s| s.parse::<u64>().ok())
    });
    match (serial, eid) {
        (Some(serial), Some(eid)) if serial >= 1000 => vec![
            format!(
                " card-sim --seed {}: this EID is card-sim's for --seed {} --slot {}. Random card values",
                serial / 1000,
                serial / 1000,
                serial % 1000
            ),
            format!(
                "   (challenges) repeat only on a fresh card: card-sim --ephemeral --seed {} --eid {} [--test-profiles N]",
                serial / 1000,
                eid.digits()
            ),
        ],
        (Some(serial), Some(_)) => vec![
            format!(
                " card-sim --seed: this EID is card-sim's for slot {serial} without --seed (or --seed 0);"
            ),
            "   random card values (challenges) repeat on replay only if the card ran with --seed.".into(),
        ],
        _ if card_sim_atr => vec![
            " card-sim --seed: the ATR is card-sim's; random card values (challenges) repeat on".into(),
            "   replay only against a fresh card-sim started with the same --seed.".into(),
        ],
        _ => Vec::new(),
    }
}

/// The words of the subcommand being run (`profiles enable`), without arguments, which
/// may hold secrets.
pub fn command_words() -> String {
    use clap::CommandFactory;
    let Ok(m) = crate::cli::Cli::command().try_get_matches_from(std::env::args_os()) else {
        return String::new();
    };
    let mut words = Vec::new();
    let mut cur = &m;
    while let Some((name, sub)) = cur.subcommand() {
        words.push(name.to_string());
        cur = sub;
    }
    words.join(" ")
}

/// The process-wide recording the session feeds: where it goes and what it holds.
struct Active {
    path: PathBuf,
    rec: Recording,
}

static ACTIVE: Mutex<Option<Active>> = Mutex::new(None);

fn with<T>(f: impl FnOnce(&mut Option<Active>) -> T) -> T {
    f(&mut ACTIVE.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Starts recording into `path` (`--record`). Fails before anything is sent when the
/// file cannot be written there (no such directory, or `path` is a directory).
pub fn start(path: &Path, command: &str) -> Result<(), CliError> {
    let dir = atomic::parent_dir(path);
    if !dir.is_dir() {
        return Err(CliError::Usage(format!(
            "--record {}: directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(CliError::Usage(format!(
            "--record {}: is a directory, give a file name",
            path.display()
        )));
    }
    with(|a| {
        *a = Some(Active {
            path: path.to_path_buf(),
            rec: Recording::new(command),
        })
    });
    Ok(())
}

/// True while a recording is active (the session skips the ATR query otherwise).
pub fn active() -> bool {
    with(|a| a.is_some())
}

fn feed(f: impl FnOnce(&mut Recording)) {
    with(|a| {
        if let Some(a) = a {
            f(&mut a.rec)
        }
    })
}

/// Session hook: connected to `reader`.
pub fn connected(reader: &str, atr: Option<&[u8]>) {
    feed(|r| r.connected(reader, atr));
}

/// Session hook: one command and its raw answer.
pub fn exchange(apdu: &[u8], answer: &[u8], secrecy: Secrecy) {
    feed(|r| r.exchange(apdu, answer, secrecy));
}

/// Session hook: a command that got no answer.
pub fn failed(apdu: &[u8], secrecy: Secrecy, error: &CliError) {
    feed(|r| r.failed(apdu, secrecy, &error.to_string()));
}

/// Session hook: the card was reset.
pub fn reset(cold: bool) {
    feed(|r| r.reset(cold));
}

/// Session hook: disconnected unpowering the card.
pub fn power_off() {
    feed(Recording::power_off);
}

/// Ends the recording (if any) and writes the file atomically; `error` is the
/// command's error, noted in a closing comment. Called once when the command ends,
/// whatever its outcome (also by the `--timeout` handler before it exits).
pub fn finish(error: Option<&CliError>) -> Result<(), CliError> {
    let Some(mut a) = with(Option::take) else {
        return Ok(());
    };
    if let Some(e) = error {
        a.rec.set_outcome(format!(
            "sm-cli ended with an error (status {}): {e}",
            e.exit_code()
        ));
    }
    let text = a.rec.to_text()?;
    atomic::write(&a.path, text.as_bytes()).map_err(|e| {
        CliError::Io(std::io::Error::new(
            e.kind(),
            format!("cannot write the recording {}: {e}", a.path.display()),
        ))
    })
}
