//! Which items of a script scriptor (pcsc-tools) cannot replay with the same meaning.
//! scriptor sends literal hex, resets warm, stops at `exit` and skips every `#` line,
//! so our expectations, pauses and `#! secret` marks are harmless to it, while
//! variables and the directives that change what is sent or where are not.
//! CI replays a script with scriptor too when this list is empty.

use crate::script::{ItemKind, ResetKind, Script};

/// An item scriptor would not replay the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    pub line: usize,
    pub reason: &'static str,
}

impl Script {
    /// Every item that scriptor would not replay with the same meaning, in order.
    pub fn scriptor_incompatibilities(&self) -> Vec<Incompatibility> {
        let mut out = Vec::new();
        for item in &self.items {
            let reason = match &item.kind {
                ItemKind::Command { template, .. } => match template.as_literal() {
                    None => {
                        Some("the command uses variables; scriptor stops at a line that is not hex")
                    }
                    Some(b) if b.len() < 4 => Some(
                        "the command is shorter than 4 bytes; PC/SC refuses it and scriptor dies",
                    ),
                    Some(_) => None,
                },
                ItemKind::Reset(ResetKind::Cold) => {
                    Some("'#! reset cold' is a comment to scriptor (its reset is warm)")
                }
                ItemKind::PowerOff | ItemKind::PowerOn => {
                    Some("'#! power' is a comment to scriptor; the card keeps power")
                }
                ItemKind::Channel(n) if *n > 0 => {
                    Some("'#! channel' is a comment to scriptor; it sends the CLA as written")
                }
                ItemKind::Reader(_) => {
                    Some("'#! reader' is a comment to scriptor; it uses one reader")
                }
                ItemKind::AutoGetResponse(true) => {
                    Some("scriptor does not follow 61xx/6Cxx; it sends only what is written")
                }
                _ => None,
            };
            if let Some(reason) = reason {
                out.push(Incompatibility {
                    line: item.line,
                    reason,
                });
            }
        }
        out
    }
}
