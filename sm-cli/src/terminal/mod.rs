//! The terminal of the device-change method (issue 3, "terminal (in sm-cli)"; spec
//! device-change.md "Parties"): it carries the SM's requests to the card as STORE DATA
//! and answers the card's proactive commands (ETSI TS 102 223; docs/device-change-
//! protocol.md "The proactive session"):
//!
//! 1. STORE DATA with the request; the card answers `91xx` when it has a question.
//! 2. FETCH `80 12 00 00 xx` → GET INPUT (OP ID visible, parameter hidden) or PROVIDE
//!    LOCAL INFORMATION (IMEI).
//! 3. TERMINAL RESPONSE `80 14 00 00 Lc` with the answer; `91yy` for the next question,
//!    `90 00` when the card is done.
//! 4. BF6A collects the answer.
//!
//! When a question cannot be answered (no parameter source and no terminal to type on,
//! no IMEI configured) the terminal ends the session with result `10` (terminated by
//! the user) or `30` (beyond the terminal's capability) and reports why. TERMINAL
//! RESPONSEs carrying a parameter are marked secret for the APDU trace.
//!
//! Files: [`card`] (the card connection it needs), [`answers`] (sources of the answers),
//! [`prompt`] (the keypad), [`timing`].

pub mod answers;
pub mod card;
pub mod prompt;
pub mod timing;

#[cfg(test)]
mod tests;

pub use answers::{Answers, ParamSource};
pub use card::DcCard;
pub use timing::{FunctionTiming, Timings};

use crate::errors::CliError;
use crate::reader::Secrecy;
use crate::sm::service::error::function_name;
use apdu::cat::{self, Input, ProactiveCommand, TerminalData, TerminalResponse};
use apdu::devchange::{tags, DcRequest, DcResponse};
use apdu::{iso7816::tlv, Command, StatusWord};
use std::time::Instant;
use zeroize::{Zeroize, Zeroizing};

/// CLA of FETCH and TERMINAL RESPONSE (TS 102 221 §10.1.1: `80`, basic channel).
pub const CAT_CLA: u8 = 0x80;
/// Most proactive commands one function may ask before the card is deemed broken.
const MAX_QUESTIONS: usize = 16;

/// Which parameter a hidden GET INPUT asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    /// The parameter the user has (BF68).
    Current,
    /// A new parameter (BF67), first entry.
    New,
    /// A new parameter (BF67), confirmation.
    Confirm,
}

/// Runs device-change functions on one card.
pub struct Terminal<'c, C: DcCard> {
    card: &'c mut C,
    answers: Answers,
    /// Why the terminal ended the current session, reported instead of the card's
    /// "user ended the session".
    ended: Option<CliError>,
    pub timings: Vec<FunctionTiming>,
}

fn tag_name(tag: u32) -> String {
    format!("{tag:04X}")
}

impl<'c, C: DcCard> Terminal<'c, C> {
    pub fn new(card: &'c mut C, answers: Answers) -> Terminal<'c, C> {
        Terminal {
            card,
            answers,
            ended: None,
            timings: Vec::new(),
        }
    }

    /// Sends `req` to the card, answers its questions, and returns its answer.
    pub fn run(&mut self, req: &DcRequest) -> Result<DcResponse, CliError> {
        let tag = req.tag();
        let what = function_name(tag);
        let mut timing = FunctionTiming::new(tag_name(tag));
        let result = self.run_timed(req, what, &mut timing);
        self.timings.push(timing);
        result
    }

    fn run_timed(
        &mut self,
        req: &DcRequest,
        what: &str,
        timing: &mut FunctionTiming,
    ) -> Result<DcResponse, CliError> {
        self.ended = None;
        // No request to the card carries a secret in clear: the sealed profile is
        // ciphertext (RSA-OAEP + AES-GCM, bound to this card's EID), so it may be traced
        // and recorded, which lets a recorded device change replay byte for byte.
        let secrecy = Secrecy::Public;
        let msg = Zeroizing::new(req.encode());
        let t = Instant::now();
        let mut resp = self.card.store_data(what, &msg, secrecy)?;
        timing.apdu(t.elapsed());
        let mut questions = 0;
        let mut hidden_entries = 0;
        while let StatusWord::ProactiveCommandPending(len) = resp.sw {
            questions += 1;
            if questions > MAX_QUESTIONS {
                return Err(CliError::malformed(
                    what,
                    format!("the card asked more than {MAX_QUESTIONS} questions"),
                ));
            }
            let (details, cmd) = self.fetch(len, timing)?;
            let wanted = match (req.tag(), hidden_entries) {
                (tags::GENERATE_KEY, 0) => Wanted::New,
                (tags::GENERATE_KEY, _) => Wanted::Confirm,
                _ => Wanted::Current,
            };
            let t = Instant::now();
            let (result, data) = match &cmd {
                Some(c) => self.answer(c, wanted),
                None => self.give_up(
                    cat::results::BEYOND_TERMINAL_CAPABILITY,
                    &format!(
                        "the card sent proactive command type {:02X} qualifier {:02X}, which \
                         the device-change terminal does not support",
                        details[1], details[2]
                    ),
                ),
            };
            timing.input(t.elapsed());
            let hidden = matches!(cmd, Some(ProactiveCommand::GetInput { hidden: true, .. }));
            if hidden && result == cat::results::OK {
                hidden_entries += 1;
                timing.derived_key = true;
            }
            let body = TerminalResponse {
                details,
                result,
                data,
            }
            .encode();
            let mut tr =
                Command::new(CAT_CLA, cat::INS_TERMINAL_RESPONSE, 0, 0).with_data(body.to_vec());
            let secrecy = if hidden {
                Secrecy::Command
            } else {
                Secrecy::Public
            };
            let t = Instant::now();
            let sent = self.card.command(&tr, secrecy);
            timing.apdu(t.elapsed());
            tr.data.zeroize();
            resp = sent?;
        }
        if !resp.sw.is_success() {
            return Err(CliError::Status {
                what: if questions == 0 {
                    what.to_string()
                } else {
                    format!("TERMINAL RESPONSE in {what}")
                },
                sw: resp.sw,
            });
        }
        timing.card_finished();
        if questions == 0 {
            timing.derived_key = false;
        }
        let data = if questions > 0 || resp.data.is_empty() {
            let t = Instant::now();
            let r = self.card.store_data(
                function_name(tags::FETCH_RESULT),
                &DcRequest::FetchResult.encode(),
                Secrecy::Public,
            )?;
            timing.apdu(t.elapsed());
            if !r.sw.is_success() {
                return Err(CliError::Status {
                    what: function_name(tags::FETCH_RESULT).into(),
                    sw: r.sw,
                });
            }
            r.data
        } else {
            resp.data
        };
        if let Some(e) = self.ended.take() {
            return Err(e);
        }
        DcResponse::decode(&data).map_err(|e| CliError::malformed(what, e))
    }

    /// FETCH: the pending proactive command, with its command details as sent (echoed
    /// in the TERMINAL RESPONSE).
    fn fetch(
        &mut self,
        len: u8,
        timing: &mut FunctionTiming,
    ) -> Result<([u8; 3], Option<ProactiveCommand>), CliError> {
        let le = if len == 0 { 256 } else { usize::from(len) };
        let fetch = Command::new(CAT_CLA, cat::INS_FETCH, 0, 0).with_le(le);
        let t = Instant::now();
        let r = self.card.command(&fetch, Secrecy::Public)?;
        timing.apdu(t.elapsed());
        if !r.sw.is_success() {
            return Err(CliError::Status {
                what: "FETCH".into(),
                sw: r.sw,
            });
        }
        let details = command_details(&r.data)
            .ok_or_else(|| CliError::malformed("FETCH", "no command details (81) in D0"))?;
        // A command this terminal does not know is answered "beyond terminal capability".
        Ok((details, ProactiveCommand::decode(&r.data).ok()))
    }

    /// The terminal's answer to one proactive command: a general result and data.
    fn answer(&mut self, cmd: &ProactiveCommand, wanted: Wanted) -> (u8, TerminalData) {
        match cmd {
            ProactiveCommand::ProvideImei { .. } => match &self.answers.imei {
                Some(i) => (cat::results::OK, TerminalData::Imei(i.clone())),
                None => self.give_up(
                    cat::results::BEYOND_TERMINAL_CAPABILITY,
                    "the card asked for the terminal's IMEI: pass --imei or set SM_CLI_IMEI",
                ),
            },
            ProactiveCommand::GetInput {
                hidden: false,
                prompt,
                min,
                max,
                ..
            } => {
                let op = match self.answers.op_id.clone() {
                    Some(o) => Some(o),
                    None => self.answers.prompter.visible(prompt),
                };
                match op {
                    Some(o) if fits(&o, *min, *max) => (cat::results::OK, text(Zeroizing::new(o))),
                    Some(o) => self.give_up(
                        cat::results::TERMINATED_BY_USER,
                        &format!(
                            "the OP ID '{o}' does not fit the card's entry of {min} to {max} \
                             characters"
                        ),
                    ),
                    None => self.give_up(
                        cat::results::TERMINATED_BY_USER,
                        "the card asked for the OP ID (the phone number) and there is no \
                         terminal to type it on: pass --op-id",
                    ),
                }
            }
            ProactiveCommand::GetInput {
                hidden: true,
                prompt,
                min,
                max,
                ..
            } => self.parameter(prompt, wanted, *min, *max),
        }
    }

    /// A hidden entry: the current parameter, a new one, or its confirmation.
    fn parameter(&mut self, prompt: &str, wanted: Wanted, min: u8, max: u8) -> (u8, TerminalData) {
        let given = match wanted {
            Wanted::Current => self.answers.current.as_ref(),
            Wanted::New | Wanted::Confirm => self.answers.new.as_ref(),
        };
        let value = match given {
            Some(g) => {
                if !fits(g.expose(), min, max) {
                    let msg = format!(
                        "the parameter from {} has {} characters; the card takes {min} to {max}",
                        g.source(),
                        g.expose().chars().count()
                    );
                    return self.give_up(cat::results::TERMINATED_BY_USER, &msg);
                }
                Some(Zeroizing::new(g.expose().to_owned()))
            }
            None => self.answers.prompter.hidden(prompt),
        };
        let Some(value) = value else {
            let (flag, what) = match wanted {
                Wanted::Current => ("--param-stdin or --param-file", "key-generation parameter"),
                Wanted::New | Wanted::Confirm => (
                    "--new-param-stdin or --new-param-file (--param-* for provision)",
                    "new key-generation parameter",
                ),
            };
            let msg = format!(
                "the card asked for the {what} and there is no terminal to type it on: \
                 pass {flag}"
            );
            return self.give_up(cat::results::TERMINATED_BY_USER, &msg);
        };
        (cat::results::OK, text(value))
    }

    /// Ends the session with `result` and remembers why.
    fn give_up(&mut self, result: u8, why: &str) -> (u8, TerminalData) {
        if self.ended.is_none() {
            self.ended = Some(CliError::Usage(why.to_string()));
        }
        (result, TerminalData::None)
    }
}

fn text(s: Zeroizing<String>) -> TerminalData {
    TerminalData::Text(Input(s))
}

/// True when `s` has `min` to `max` characters.
fn fits(s: &str, min: u8, max: u8) -> bool {
    let n = s.chars().count();
    n >= usize::from(min) && n <= usize::from(max)
}

/// The value of `81` (command details) inside `D0`, as sent.
fn command_details(d0: &[u8]) -> Option<[u8; 3]> {
    let outer = tlv::parse_expect(d0, 0xD0).ok()?;
    let items = tlv::parse_all(tlv::bytes(&outer)?).ok()?;
    items
        .iter()
        .find(|t| tlv::tag_num(t) & 0x7F == 0x01)
        .and_then(tlv::bytes)
        .and_then(|b| b.try_into().ok())
}
