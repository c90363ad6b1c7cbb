//! The CAT session of one device-change function, as a small state machine
//! (docs/device-change-protocol.md "The proactive session"; ETSI TS 102 223 §6.4.3,
//! §6.4.15, §6.8): which question the card is asking, which answer is due, and what of
//! each exchange is secret.
//!
//! - [`ParameterDue`]: which parameter the card's next hidden GET INPUT asks for. It
//!   starts from the function (BF67 asks for a new parameter, entry then confirmation;
//!   every other function for the one the user has) and moves on when an entry is given.
//! - [`Question`]: a FETCH answer decoded with `apdu::cat`, with the answer it is owed
//!   ([`Due`]).
//! - [`CatSession`]: the count of questions (at most [`MAX_QUESTIONS`]), the parameter
//!   state, whether the card derived a key, and why the terminal ended the session.
//! - [`secrecy`]: the one place that says what the trace and the recording must hide.

use crate::errors::CliError;
use apdu::cat::{self, ProactiveCommand, TerminalData};
use apdu::devchange::{DcRequest, Function};

/// Most proactive commands one function may ask before the card is deemed broken.
pub const MAX_QUESTIONS: usize = 16;

/// Which parameter a hidden GET INPUT asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterDue {
    /// The parameter the user has (BF68, flows B and C).
    Current,
    /// A new parameter (BF67, flows A and C), first entry.
    New,
    /// A new parameter (BF67), confirmation.
    Confirm,
}

impl ParameterDue {
    /// Before the first hidden entry of `function`.
    pub fn first(function: Function) -> ParameterDue {
        match function {
            Function::GenerateKey => ParameterDue::New,
            _ => ParameterDue::Current,
        }
    }

    /// After an entry was given.
    pub fn next(self) -> ParameterDue {
        match self {
            ParameterDue::New | ParameterDue::Confirm => ParameterDue::Confirm,
            ParameterDue::Current => ParameterDue::Current,
        }
    }
}

/// The answer a question is owed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Visible GET INPUT: the OP ID (the phone number).
    OpId { prompt: String, min: u8, max: u8 },
    /// Hidden GET INPUT (qualifier `04`): a key-generation parameter.
    Parameter {
        which: ParameterDue,
        prompt: String,
        min: u8,
        max: u8,
    },
    /// PROVIDE LOCAL INFORMATION, IMEI.
    Imei,
    /// A proactive command this terminal does not support (answered "beyond terminal
    /// capability").
    Unsupported { kind: u8, qualifier: u8 },
}

/// One question of the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The command details as sent, echoed in the TERMINAL RESPONSE.
    pub details: [u8; 3],
    pub due: Due,
}

/// Why the terminal could not answer: the general result it sends and the reason it
/// reports to the user (TS 102 223 §8.12: `10` terminated by the user, `30` beyond the
/// terminal's capability).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub result: u8,
    pub why: String,
}

/// What of each exchange of a device-change function is secret.
pub mod secrecy {
    use super::{Due, Question};
    use crate::reader::Secrecy;
    use apdu::devchange::DcRequest;

    /// The STORE DATA of a request. The salt (8A) and KDF parameters (8B) of BF67/BF68
    /// are what an offline guesser of the parameter needs besides a derived public key
    /// or signature, and the sealed profile (8D) of BF69 is ciphertext under such a key:
    /// their data are secret (issue 10, finding 4), so traces and recordings hold none
    /// of them. Begin, sync, removal and BF6A carry nothing of the kind.
    pub fn request(req: &DcRequest) -> Secrecy {
        match req {
            DcRequest::GenerateKey { .. }
            | DcRequest::Authenticate { .. }
            | DcRequest::InstallProfile { .. } => Secrecy::Command,
            // BF6A's answer carries the derived public key (85) and the signatures made
            // with the derived key (86, 88).
            DcRequest::FetchResult => Secrecy::Answer,
            DcRequest::Begin { .. }
            | DcRequest::RemoveProfile { .. }
            | DcRequest::Identity { .. }
            | DcRequest::CardChallenge => Secrecy::Public,
        }
    }

    /// FETCH carries no data; the card's question is public.
    pub fn fetch() -> Secrecy {
        Secrecy::Public
    }

    /// The TERMINAL RESPONSE to `q`: the answer to a hidden GET INPUT carries the
    /// parameter (whether it was given or refused, the command is marked).
    pub fn terminal_response(q: &Question) -> Secrecy {
        match q.due {
            Due::Parameter { .. } => Secrecy::Command,
            Due::OpId { .. } | Due::Imei | Due::Unsupported { .. } => Secrecy::Public,
        }
    }
}

/// The state of one function's CAT session.
#[derive(Debug)]
pub struct CatSession {
    /// The function's name, for messages.
    what: String,
    /// The parameter the next hidden entry asks for.
    parameter: ParameterDue,
    questions: usize,
    /// A hidden entry was given: the card derives a key from it.
    derived_key: bool,
    /// Why the terminal ended the session, reported instead of the card's "user ended
    /// the session".
    ended: Option<CliError>,
}

impl CatSession {
    /// The session `req` opens.
    pub fn new(req: &DcRequest) -> CatSession {
        let function = req.function();
        CatSession {
            what: function.to_string(),
            parameter: ParameterDue::first(function),
            questions: 0,
            derived_key: false,
            ended: None,
        }
    }

    /// The function's name, e.g. `DcGenerateKey (BF67)`.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// Questions asked so far.
    pub fn questions(&self) -> usize {
        self.questions
    }

    /// True when a parameter was given in this session.
    pub fn derived_key(&self) -> bool {
        self.derived_key
    }

    /// The card announced a question (`91xx`); refused beyond [`MAX_QUESTIONS`].
    pub fn announce(&mut self) -> Result<(), CliError> {
        self.questions += 1;
        if self.questions > MAX_QUESTIONS {
            return Err(CliError::malformed(
                self.what.as_str(),
                format!("the card asked more than {MAX_QUESTIONS} questions"),
            ));
        }
        Ok(())
    }

    /// Decodes the FETCH answer `d0`: its command details (which any proactive command
    /// has) and what it asks for.
    pub fn question(&self, d0: &[u8]) -> Result<Question, CliError> {
        let details = cat::command_details(d0)
            .map_err(|_| CliError::malformed("FETCH", "no command details (81) in D0"))?;
        let due = match ProactiveCommand::decode(d0) {
            Ok(ProactiveCommand::ProvideImei { .. }) => Due::Imei,
            Ok(ProactiveCommand::GetInput {
                hidden: false,
                prompt,
                min,
                max,
                ..
            }) => Due::OpId { prompt, min, max },
            Ok(ProactiveCommand::GetInput {
                hidden: true,
                prompt,
                min,
                max,
                ..
            }) => Due::Parameter {
                which: self.parameter,
                prompt,
                min,
                max,
            },
            Err(_) => Due::Unsupported {
                kind: details[1],
                qualifier: details[2],
            },
        };
        Ok(Question { details, due })
    }

    /// Takes the terminal's answer to `q` and moves on; returns the general result and
    /// data of the TERMINAL RESPONSE. The first refusal is kept as the session's end.
    pub fn answered(
        &mut self,
        q: &Question,
        answer: Result<TerminalData, Refusal>,
    ) -> (u8, TerminalData) {
        match answer {
            Ok(data) => {
                if let Due::Parameter { .. } = q.due {
                    self.parameter = self.parameter.next();
                    self.derived_key = true;
                }
                (cat::results::OK, data)
            }
            Err(r) => {
                if self.ended.is_none() {
                    self.ended = Some(CliError::Usage(r.why));
                }
                (r.result, TerminalData::None)
            }
        }
    }

    /// The session is over: the terminal's reason for ending it, if it did.
    pub fn finish(&mut self) -> Result<(), CliError> {
        self.ended.take().map_or(Ok(()), Err)
    }
}
