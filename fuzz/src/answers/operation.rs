//! What one `sm_answers` input asks sm-cli to do ([`Operation`], its selector byte, the
//! input encoding) and what the terminal answers the card with (the OP ID, the IMEI and
//! the parameters, which [`link`](super::link) looks for in every command).

use super::link;
use sm_cli::terminal::answers::GivenParameter;
use sm_cli::terminal::prompt::NoPrompter;
use sm_cli::terminal::Answers;
use zeroize::Zeroizing;

/// The OP ID, IMEI and parameters the terminal answers with. The parameters are the
/// secrets [`link`] looks for in every command.
pub const OP_ID: &str = "+8613800000001";
pub const IMEI: &str = "490154203237518";
pub const CURRENT_PARAMETER: &str = "fuzz-current-parameter";
pub const NEW_PARAMETER: &str = "fuzz-new-parameter";
/// The challenge of the terminal-only operations' BF67 / BF68.
pub const CHALLENGE: [u8; 32] = [9; 32];

/// What sm-cli does with the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// TERMINAL CAPABILITY, MANAGE CHANNEL, SELECT ISD-R, then closing the channel.
    OpenSession,
    GetEid,
    GetEuiccInfo2,
    ConfiguredAddresses,
    GetProfiles,
    EnableProfile,
    DisableProfile,
    DeleteProfile,
    SetNickname,
    MemoryReset,
    /// The terminal runs BF66 of flow B (OP ID and IMEI questions).
    DcBegin,
    /// BF66 then BF67 of flow A (the new parameter, entry and confirmation).
    DcGenerateKey,
    /// BF66 then BF68 of flow B with the parameter.
    DcAuthenticate,
    /// `sm-cli sync` with a removal pending for the card.
    SmSync,
    /// `sm-cli device-change` of a subscription bound to another card.
    SmDeviceChange,
    /// `sm-cli device-change` on the card the subscription is bound to: the identity
    /// proof only, then the profile re-served (BF6D, BF69 with key source 1).
    SmRecordedDevice,
}

/// The operations in selector order.
pub const OPERATIONS: [Operation; 16] = [
    Operation::OpenSession,
    Operation::GetEid,
    Operation::GetEuiccInfo2,
    Operation::ConfiguredAddresses,
    Operation::GetProfiles,
    Operation::EnableProfile,
    Operation::DisableProfile,
    Operation::DeleteProfile,
    Operation::SetNickname,
    Operation::MemoryReset,
    Operation::DcBegin,
    Operation::DcGenerateKey,
    Operation::DcAuthenticate,
    Operation::SmSync,
    Operation::SmDeviceChange,
    Operation::SmRecordedDevice,
];

/// The selector byte of `op`.
pub fn selector(op: Operation) -> u8 {
    OPERATIONS.iter().position(|&o| o == op).unwrap_or(0) as u8
}

/// An input: `op` and the card's answers.
pub fn encode(op: Operation, answers: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![selector(op)];
    out.extend(link::encode_answers(answers));
    out
}

/// What the terminal answers the card's questions with.
pub fn answers() -> Answers {
    let given = |text: &str| {
        GivenParameter::new(Zeroizing::new(text.into()), "the fuzz harness")
            .expect("the harness's parameters are valid")
    };
    Answers {
        op_id: Some(OP_ID.into()),
        imei: Some(IMEI.into()),
        current: Some(given(CURRENT_PARAMETER)),
        new: Some(given(NEW_PARAMETER)),
        prompter: Box::new(NoPrompter),
    }
}
