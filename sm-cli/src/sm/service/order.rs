//! What the operator asks the SM for ([`Order`]), the SM's tunables ([`Policy`]) and
//! the check of an OP ID the operator allocates.

use super::error::SmError;
use super::profile::ProfileSpec;
use apdu::crypto::KdfParams;
use apdu::devchange::Flow;
use std::time::Duration;

/// How long a challenge stays valid: it must cover a person typing the parameter twice.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(600);

/// What the operator asked for.
#[derive(Debug, Clone)]
pub enum Order {
    /// Flow A for a new OP ID, with the KDF parameters the record will keep.
    Provision {
        op_id: String,
        kdf: KdfParams,
        profile: ProfileSpec,
    },
    /// Flow B (the OP ID comes from the card's user).
    DeviceChange,
    /// Flow C; `kdf: None` keeps the record's KDF parameters.
    Rekey { kdf: Option<KdfParams> },
    /// Only the sync.
    Sync,
}

impl Order {
    /// The flow of the method.
    pub fn flow(&self) -> Flow {
        match self {
            Order::Provision { .. } => Flow::Provision,
            Order::DeviceChange => Flow::DeviceChange,
            Order::Rekey { .. } => Flow::KeyChange,
            Order::Sync => Flow::Sync,
        }
    }
}

/// Tunables of the SM policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub challenge_ttl: Duration,
    /// Failed authentications that lock a record (spec B.6, C.3).
    pub max_attempts: u32,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            challenge_ttl: CHALLENGE_TTL,
            max_attempts: crate::sm::store::MAX_ATTEMPTS,
        }
    }
}

/// Checks an OP ID the operator allocates: a phone number, `+` and 3 to 19 digits or
/// 3 to 20 digits (the card's GET INPUT for the OP ID takes 3 to 20 characters).
pub fn check_op_id(op_id: &str) -> Result<(), SmError> {
    let digits = op_id.strip_prefix('+').unwrap_or(op_id);
    let ok = (3..=20).contains(&op_id.len())
        && digits.len() >= 3
        && digits.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(SmError::Invalid(format!(
            "OP ID '{op_id}' is not a phone number: use an optional '+' and 3 to 20 digits, \
             e.g. +8613800000001"
        )))
    }
}
