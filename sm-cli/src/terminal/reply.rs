//! The terminal's answer to each question of the card (docs/device-change-protocol.md
//! "The proactive session"), from the [`Answers`] given ahead of time or the keypad:
//! the OP ID (visible GET INPUT), the key-generation parameter (hidden GET INPUT; the
//! current one, or a new one twice), the IMEI (PROVIDE LOCAL INFORMATION). A question
//! that cannot be answered is a [`Refusal`] with the reason the user is told.

use super::answers::Answers;
use super::prompt::Entry;
use super::session::{Due, ParameterDue, Refusal};
use apdu::cat::{results, Input, TerminalData};
use zeroize::Zeroizing;

/// The answer to a question owed `due`.
pub fn reply(answers: &mut Answers, due: &Due) -> Result<TerminalData, Refusal> {
    match due {
        Due::Imei => match &answers.imei {
            Some(i) => Ok(TerminalData::Imei(i.clone())),
            None => Err(refuse(
                results::BEYOND_TERMINAL_CAPABILITY,
                "the card asked for the terminal's IMEI: pass --imei or set SM_CLI_IMEI".into(),
            )),
        },
        Due::OpId { prompt, min, max } => op_id(answers, prompt, *min, *max),
        Due::Parameter {
            which,
            prompt,
            min,
            max,
        } => parameter(answers, *which, prompt, *min, *max),
        Due::Unsupported { kind, qualifier } => Err(refuse(
            results::BEYOND_TERMINAL_CAPABILITY,
            format!(
                "the card sent proactive command type {kind:02X} qualifier {qualifier:02X}, \
                 which the device-change terminal does not support"
            ),
        )),
    }
}

fn refuse(result: u8, why: String) -> Refusal {
    Refusal { result, why }
}

/// A visible entry: the OP ID.
fn op_id(answers: &mut Answers, prompt: &str, min: u8, max: u8) -> Result<TerminalData, Refusal> {
    let op = match answers.op_id.clone() {
        Some(o) => Entry::Typed(o),
        None => answers.prompter.visible(prompt),
    };
    let what = "the OP ID (the phone number)";
    match op {
        Entry::Typed(o) if fits(&o, min, max) => Ok(text(Zeroizing::new(o))),
        Entry::Typed(o) => Err(refuse(
            results::TERMINATED_BY_USER,
            format!("the OP ID '{o}' does not fit the card's entry of {min} to {max} characters"),
        )),
        other => Err(not_given(other, what, "--op-id")),
    }
}

/// A hidden entry: the current parameter, a new one, or its confirmation.
fn parameter(
    answers: &mut Answers,
    which: ParameterDue,
    prompt: &str,
    min: u8,
    max: u8,
) -> Result<TerminalData, Refusal> {
    let given = match which {
        ParameterDue::Current => answers.current.as_ref(),
        ParameterDue::New | ParameterDue::Confirm => answers.new.as_ref(),
    };
    let value = match given {
        Some(g) => {
            if !fits(g.expose(), min, max) {
                return Err(refuse(
                    results::TERMINATED_BY_USER,
                    format!(
                        "the parameter from {} has {} characters; the card takes {min} to {max}",
                        g.source(),
                        g.expose().chars().count()
                    ),
                ));
            }
            Entry::Typed(Zeroizing::new(g.expose().to_owned()))
        }
        None => answers.prompter.hidden(prompt),
    };
    match value {
        Entry::Typed(v) => Ok(text(v)),
        other => {
            let (flag, what) = match which {
                ParameterDue::Current => (
                    "--param-stdin or --param-file",
                    "the key-generation parameter",
                ),
                ParameterDue::New | ParameterDue::Confirm => (
                    "--new-param-stdin or --new-param-file (--param-* for provision)",
                    "the new key-generation parameter",
                ),
            };
            Err(not_given(other, what, flag))
        }
    }
}

/// The refusal when `what` was not typed: cancelled (Ctrl-C), nothing given (empty
/// entry or Ctrl-D), or no terminal to type on (then `flag` is the way to give it).
fn not_given<T>(entry: Entry<T>, what: &str, flag: &str) -> Refusal {
    let why = match entry {
        Entry::Cancelled => format!("the entry of {what} was cancelled (Ctrl-C)"),
        Entry::Nothing => format!("no {} given", what.trim_start_matches("the ")),
        Entry::NoTerminal | Entry::Typed(_) => {
            format!("the card asked for {what} and there is no terminal to type it on: pass {flag}")
        }
    };
    refuse(results::TERMINATED_BY_USER, why)
}

fn text(s: Zeroizing<String>) -> TerminalData {
    TerminalData::Text(Input(s))
}

/// True when `s` has `min` to `max` characters.
fn fits(s: &str, min: u8, max: u8) -> bool {
    let n = s.chars().count();
    n >= usize::from(min) && n <= usize::from(max)
}
