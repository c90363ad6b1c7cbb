//! The SM's refusals (issue 3, CLI: "Every refusal ... is a clear sentence and a
//! distinct non-zero exit code"). Each variant is one reason a flow stops; the CLI
//! prints its sentence and exits with [`SmError::exit_code`].
//!
//! The codes themselves are rows of the one table, `crate::exit::ROWS` (2, 30-59).

use super::super::store::StoreError;
use crate::exit::Exit;
use apdu::crypto::CryptoError;
use apdu::devchange::{DcResult, Function};
use thiserror::Error;

/// Why the SM stopped a flow.
#[derive(Debug, Error)]
pub enum SmError {
    #[error("{0}")]
    Invalid(String),
    #[error("no subscription has OP ID {0}: check the number, or provision it first")]
    UnknownOpId(String),
    #[error(
        "wrong key-generation parameter for {op_id}: {remaining} attempt(s) left before the \
         subscription is locked"
    )]
    WrongParameter { op_id: String, remaining: u32 },
    #[error(
        "subscription {op_id} is locked{}: an operator must run `sm-cli sm unlock {op_id}`",
        if *.just_now { " after 3 failed authentications (this was the last attempt)" }
        else { " after too many failed authentications" }
    )]
    Locked { op_id: String, just_now: bool },
    #[error(
        "OP ID {0} is already provisioned: use `sm-cli device-change` to move it to another \
         device, or `sm-cli rekey` to change its key"
    )]
    AlreadyProvisioned(String),
    #[error("the card already holds the operator profile of {0}; nothing was installed")]
    AlreadyOnCard(String),
    #[error("the card's {what} does not verify: the request was refused")]
    BadProof { what: &'static str },
    #[error("the terminal reported IMEI '{0}', which is not a valid IMEI (15 digits with a Luhn check digit)")]
    InvalidImei(String),
    #[error("the SM challenge was already used or has expired ({0}): a replayed or stale answer is refused; start again")]
    Challenge(StoreError),
    #[error("the card answered {got} where the SM expected {expected}")]
    Protocol { expected: &'static str, got: String },
    #[error("{function} failed on the card: {} (result {code})", .code.meaning())]
    Card { function: Function, code: DcResult },
    #[error("{0}")]
    Store(StoreError),
    #[error("the SM's cryptography failed: {0}")]
    Crypto(CryptoError),
}

impl SmError {
    /// Why the process exits (its row of `crate::exit::ROWS`).
    pub fn exit(&self) -> Exit {
        match self {
            SmError::Invalid(_) => Exit::Usage,
            SmError::UnknownOpId(_) => Exit::UnknownOpId,
            SmError::WrongParameter { .. } => Exit::WrongParameter,
            SmError::Locked { .. } => Exit::Locked,
            SmError::AlreadyProvisioned(_) => Exit::AlreadyProvisioned,
            SmError::AlreadyOnCard(_) => Exit::AlreadyOnCard,
            SmError::BadProof { .. } => Exit::BadProof,
            SmError::InvalidImei(_) => Exit::InvalidImei,
            SmError::Challenge(_) => Exit::Challenge,
            SmError::Protocol { .. } => Exit::Protocol,
            SmError::Store(_) | SmError::Crypto(_) => Exit::SmFailure,
            SmError::Card { code, .. } => Exit::card(code.code()),
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        self.exit().code()
    }

    /// A stable machine-readable name, for the `--json` error object.
    pub fn kind(&self) -> &'static str {
        match self {
            SmError::Invalid(_) => "invalid_request",
            SmError::UnknownOpId(_) => "unknown_op_id",
            SmError::WrongParameter { .. } => "wrong_parameter",
            SmError::Locked { .. } => "locked",
            SmError::AlreadyProvisioned(_) => "already_provisioned",
            SmError::AlreadyOnCard(_) => "already_on_card",
            SmError::BadProof { .. } => "bad_proof",
            SmError::InvalidImei(_) => "invalid_imei",
            SmError::Challenge(_) => "challenge_refused",
            SmError::Protocol { .. } => "protocol",
            SmError::Store(_) => "sm_store",
            SmError::Crypto(_) => "sm_crypto",
            SmError::Card { .. } => "card_result",
        }
    }

    /// The error for a device-change function that answered result `code`.
    pub fn card(function: Function, code: DcResult) -> SmError {
        SmError::Card { function, code }
    }
}

impl From<StoreError> for SmError {
    /// Store refusals that are SM refusals keep their own variant.
    fn from(e: StoreError) -> SmError {
        match e {
            StoreError::NotFound(op) => SmError::UnknownOpId(op),
            StoreError::Locked(op) => SmError::Locked {
                op_id: op,
                just_now: false,
            },
            StoreError::AlreadyExists(op) => SmError::AlreadyProvisioned(op),
            e @ (StoreError::ChallengeUnknown
            | StoreError::ChallengeExpired
            | StoreError::ChallengeMismatch) => SmError::Challenge(e),
            // A caller's malformed value (an operator name over 64 characters, ...) is
            // the request's fault, not a store failure: a usage error (exit 2).
            e @ StoreError::Invalid { .. } => SmError::Invalid(e.to_string()),
            e => SmError::Store(e),
        }
    }
}

impl From<CryptoError> for SmError {
    fn from(e: CryptoError) -> SmError {
        SmError::Crypto(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `sm_requests` fuzz target: an operator name over 64 characters in
    /// `admin/unlock` came back as a store failure (exit 39), a request's fault as ours.
    #[test]
    fn a_malformed_value_is_the_requests_fault() {
        let e = SmError::from(StoreError::Invalid {
            field: "operator name",
            reason: "longer than 64 characters".into(),
        });
        assert_eq!(e.exit_code(), Exit::Usage.code());
        assert_eq!(e.kind(), "invalid_request");
        assert!(e.to_string().contains("operator name"), "{e}");
    }

    #[test]
    fn every_refusal_has_its_own_exit_code_and_sentence() {
        let errs = [
            SmError::Invalid("x".into()),
            SmError::UnknownOpId("+1".into()),
            SmError::WrongParameter {
                op_id: "+1".into(),
                remaining: 2,
            },
            SmError::Locked {
                op_id: "+1".into(),
                just_now: true,
            },
            SmError::AlreadyProvisioned("+1".into()),
            SmError::AlreadyOnCard("+1".into()),
            SmError::BadProof { what: "x" },
            SmError::InvalidImei("1".into()),
            SmError::Challenge(StoreError::ChallengeUnknown),
            SmError::Protocol {
                expected: "a",
                got: "b".into(),
            },
            SmError::Store(StoreError::NoDataDir),
            SmError::card(Function::GenerateKey, DcResult::ParameterMismatch),
            SmError::card(Function::GenerateKey, DcResult::Undefined),
        ];
        let mut codes: Vec<u8> = errs.iter().map(SmError::exit_code).collect();
        codes.sort_unstable();
        let n = codes.len();
        codes.dedup();
        // Store and Crypto share 39; every other refusal is distinct.
        assert_eq!(codes.len(), n);
        assert!(codes.iter().all(|c| *c == 2 || *c >= 30));
        let e = SmError::WrongParameter {
            op_id: "+8613800000001".into(),
            remaining: 2,
        };
        assert_eq!(
            e.to_string(),
            "wrong key-generation parameter for +8613800000001: 2 attempt(s) left before the \
             subscription is locked"
        );
        let e = SmError::card(Function::GenerateKey, DcResult::ParameterMismatch);
        assert_eq!(e.exit_code(), 43);
        assert_eq!(
            e.to_string(),
            "DcGenerateKey (BF67) failed on the card: the two entries of the new parameter \
             differ (result 3)"
        );
        assert!(SmError::Locked {
            op_id: "+1".into(),
            just_now: false
        }
        .to_string()
        .contains("sm-cli sm unlock +1"));
    }

    #[test]
    fn store_refusals_map_to_sm_refusals() {
        assert_eq!(
            SmError::from(StoreError::NotFound("+1".into())).exit_code(),
            30
        );
        assert_eq!(
            SmError::from(StoreError::Locked("+1".into())).exit_code(),
            32
        );
        assert_eq!(SmError::from(StoreError::ChallengeExpired).exit_code(), 37);
        assert_eq!(
            SmError::from(StoreError::AlreadyExists("+1".into())).exit_code(),
            33
        );
    }
}
