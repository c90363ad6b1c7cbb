//! The questions the card asks its terminal (ETSI TS 102 223 GET INPUT and PROVIDE
//! LOCAL INFORMATION) during a device-change session.

use apdu::cat::ProactiveCommand;
use apdu::crypto::kdf::{MAX_PARAMETER_LEN, MIN_PARAMETER_LEN};

/// One question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// The OP ID (the subscriber's number), visible entry.
    OpId,
    /// The device's IMEI.
    Imei,
    /// The key-generation parameter, hidden entry.
    Parameter,
    /// The new parameter, hidden entry.
    NewParameter,
    /// The new parameter again, hidden entry.
    ConfirmParameter,
}

impl Ask {
    /// The proactive command for this question, numbered `number`.
    pub fn command(self, number: u8) -> ProactiveCommand {
        let input = |prompt: &str, hidden: bool, alphabet: bool, min: usize, max: usize| {
            ProactiveCommand::GetInput {
                number,
                prompt: prompt.into(),
                hidden,
                alphabet,
                min: min.min(255) as u8,
                max: max.min(255) as u8,
            }
        };
        match self {
            Ask::OpId => input("Enter the phone number (OP ID)", false, false, 3, 20),
            Ask::Imei => ProactiveCommand::ProvideImei { number },
            Ask::Parameter => input(
                "Enter the key parameter",
                true,
                true,
                MIN_PARAMETER_LEN,
                MAX_PARAMETER_LEN,
            ),
            Ask::NewParameter => input(
                "Enter the new key parameter",
                true,
                true,
                MIN_PARAMETER_LEN,
                MAX_PARAMETER_LEN,
            ),
            Ask::ConfirmParameter => input(
                "Repeat the new key parameter",
                true,
                true,
                MIN_PARAMETER_LEN,
                MAX_PARAMETER_LEN,
            ),
        }
    }
}
