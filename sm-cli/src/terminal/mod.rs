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
//! Files: [`card`] (the card connection it needs), [`session`] (the CAT session's
//! state machine and what is secret), [`reply`] (the answer to each question),
//! [`answers`] (sources of the answers), [`prompt`] (the keypad), [`timing`] (the
//! timing wrapper around the card link).

pub mod answers;
pub mod card;
pub mod prompt;
pub mod reply;
pub mod session;
pub mod timing;
pub mod tty;

#[cfg(test)]
mod tests;

pub use answers::{Answers, ParamSource};
pub use card::DcCard;
pub use session::MAX_QUESTIONS;
pub use timing::{FunctionTiming, TimedCard, Timings};

use crate::errors::CliError;
use apdu::cat::{self, TerminalResponse};
use apdu::devchange::{DcRequest, DcResponse, Function};
use apdu::{Command, StatusWord};
use session::{secrecy, CatSession};
use zeroize::{Zeroize, Zeroizing};

/// CLA of FETCH and TERMINAL RESPONSE (TS 102 221 §10.1.1: `80`, basic channel).
pub const CAT_CLA: u8 = 0x80;

/// Runs device-change functions on one card.
pub struct Terminal<'c, C: DcCard> {
    card: &'c mut C,
    answers: Answers,
    pub timings: Vec<FunctionTiming>,
}

impl<'c, C: DcCard> Terminal<'c, C> {
    pub fn new(card: &'c mut C, answers: Answers) -> Terminal<'c, C> {
        Terminal {
            card,
            answers,
            timings: Vec::new(),
        }
    }

    /// Sends `req` to the card, answers its questions, and returns its answer.
    pub fn run(&mut self, req: &DcRequest) -> Result<DcResponse, CliError> {
        let mut card = TimedCard::new(&mut *self.card, format!("{:04X}", req.tag()));
        let result = run_function(&mut card, &mut self.answers, req);
        self.timings.push(card.into_timing());
        result
    }
}

/// One function: the request, the CAT session while the card answers `91xx`, then the
/// answer (directly, or collected with BF6A after a session).
fn run_function<C: DcCard>(
    card: &mut TimedCard<'_, C>,
    answers: &mut Answers,
    req: &DcRequest,
) -> Result<DcResponse, CliError> {
    let mut session = CatSession::new(req);
    let msg = Zeroizing::new(req.encode());
    let mut resp = card.store_data(session.what(), &msg, secrecy::request(req))?;
    while let StatusWord::ProactiveCommandPending(len) = resp.sw {
        session.announce()?;
        let question = session.question(&fetch(card, len)?)?;
        let reply = card.input(|| reply::reply(answers, &question.due));
        let (result, data) = session.answered(&question, reply);
        card.timing.derived_key = session.derived_key();
        let body = TerminalResponse {
            details: question.details,
            result,
            data,
        }
        .encode();
        let mut tr =
            Command::new(CAT_CLA, cat::INS_TERMINAL_RESPONSE, 0, 0).with_data(body.to_vec());
        let sent = card.command(&tr, secrecy::terminal_response(&question));
        tr.data.zeroize();
        resp = sent?;
    }
    if !resp.sw.is_success() {
        return Err(CliError::Status {
            what: if session.questions() == 0 {
                session.what().to_string()
            } else {
                format!("TERMINAL RESPONSE in {}", session.what())
            },
            sw: resp.sw,
        });
    }
    card.timing.card_finished();
    let data = if session.questions() > 0 || resp.data.is_empty() {
        fetch_result(card)?
    } else {
        resp.data
    };
    session.finish()?;
    DcResponse::decode(&data).map_err(|e| CliError::malformed(session.what(), e))
}

/// FETCH: the pending proactive command of `len` bytes (`91xx`), as sent.
fn fetch<C: DcCard>(card: &mut TimedCard<'_, C>, len: u8) -> Result<Vec<u8>, CliError> {
    let le = if len == 0 { 256 } else { usize::from(len) };
    let fetch = Command::new(CAT_CLA, cat::INS_FETCH, 0, 0).with_le(le);
    let r = card.command(&fetch, secrecy::fetch())?;
    if !r.sw.is_success() {
        return Err(CliError::Status {
            what: "FETCH".into(),
            sw: r.sw,
        });
    }
    Ok(r.data)
}

/// BF6A: the answer of a function whose CAT session ended.
fn fetch_result<C: DcCard>(card: &mut TimedCard<'_, C>) -> Result<Vec<u8>, CliError> {
    let req = DcRequest::FetchResult;
    let what = Function::FetchResult.to_string();
    let r = card.store_data(&what, &req.encode(), secrecy::request(&req))?;
    if !r.sw.is_success() {
        return Err(CliError::Status { what, sw: r.sw });
    }
    Ok(r.data)
}
