//! The typed records the store hands out and takes in: the subscription (operator
//! profile, stored public key and KDF inputs, bound device, attempt counter, lock,
//! delivery state), the MNO bindings, pending removals on old cards, and the values of
//! the authentication flows (purpose, failure outcome).
//!
//! Ki and OPc are [`SecretBytes`]: zeroized on drop and redacted in `Debug`.

use super::error::StoreError;
use super::validate;
use std::fmt;
use zeroize::Zeroizing;

/// Bytes that must not outlive their use or appear in logs (Ki, OPc).
#[derive(Clone)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of already-protected bytes.
    pub fn new(bytes: Zeroizing<Vec<u8>>) -> SecretBytes {
        SecretBytes(bytes)
    }

    /// Copies `bytes` into zeroizing memory.
    pub fn from_slice(bytes: &[u8]) -> SecretBytes {
        SecretBytes(Zeroizing::new(bytes.to_vec()))
    }

    /// The secret itself; keep the borrow short.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted {} bytes>", self.0.len())
    }
}

/// The operator profile's network content (issue 3, "Cryptography", last point).
#[derive(Debug, Clone)]
pub struct OperatorProfile {
    pub iccid: String,
    pub imsi: String,
    pub msisdn: String,
    /// Subscriber key. Secret.
    pub ki: SecretBytes,
    /// Operator variant key. Secret.
    pub opc: SecretBytes,
    /// Service provider name.
    pub spn: String,
    pub profile_name: String,
}

impl OperatorProfile {
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        validate::id("ICCID", &self.iccid)?;
        validate::id("IMSI", &self.imsi)?;
        validate::id("MSISDN", &self.msisdn)?;
        validate::subscriber_key("Ki", self.ki.expose())?;
        validate::subscriber_key("OPc", self.opc.expose())?;
        validate::text("SPN", &self.spn, validate::MAX_NAME_LEN, false)?;
        validate::text(
            "profile name",
            &self.profile_name,
            validate::MAX_NAME_LEN,
            false,
        )
    }
}

/// The stored public key (pub2 of spec A.4) with the KDF inputs that reproduce it from
/// the key-generation parameter (spec "Key stretching").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMaterial {
    /// SubjectPublicKeyInfo DER.
    pub public_key: Vec<u8>,
    /// Per-subscription random salt chosen by the SM.
    pub kdf_salt: Vec<u8>,
    /// The KDF parameters in the caller's encoding (e.g. `KdfParams::to_bytes`).
    pub kdf_params: Vec<u8>,
}

impl KeyMaterial {
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        validate::bytes(
            "public key",
            &self.public_key,
            1..=validate::MAX_KEY_DER_LEN,
        )?;
        validate::bytes("KDF salt", &self.kdf_salt, validate::SALT_LEN)?;
        validate::bytes(
            "KDF parameters",
            &self.kdf_params,
            1..=validate::MAX_KDF_PARAMS_LEN,
        )
    }
}

/// A terminal with its card: what the SM binds a subscription to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub imei: String,
    pub eid: String,
    /// The card's identity public key (SubjectPublicKeyInfo DER), pinned at
    /// provisioning (issue 3, "Security behaviour").
    pub identity_public_key: Vec<u8>,
}

impl Device {
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        validate::id("IMEI", &self.imei)?;
        validate::id("EID", &self.eid)?;
        validate::bytes(
            "identity public key",
            &self.identity_public_key,
            1..=validate::MAX_KEY_DER_LEN,
        )
    }
}

/// Everything `create_subscription` needs (spec A.8: pub2, OP, OP ID, IMEI2).
#[derive(Debug, Clone)]
pub struct NewSubscription {
    /// The OP ID, e.g. the phone number `+8613800000001`.
    pub op_id: String,
    pub profile: OperatorProfile,
    pub key: KeyMaterial,
    pub device: Device,
}

/// Where the operator profile stands with respect to the bound device's card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Not yet confirmed installed on the bound card.
    Pending,
    /// Confirmed installed on this card.
    Delivered { eid: String, at: String },
}

/// The device whose binding the last device change stopped (spec B.7, steps 515-518).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousDevice {
    pub device: Device,
    pub stopped_at: String,
}

/// A full subscription record.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub op_id: String,
    pub profile: OperatorProfile,
    pub key: KeyMaterial,
    /// The bound device; its MNO binding is active.
    pub device: Device,
    /// Set after a device change: the device whose binding was stopped.
    pub previous_device: Option<PreviousDevice>,
    /// Consecutive failed authentications (reset by a success or an unlock).
    pub failures: u32,
    /// Failed authentications over the record's life; never decreases.
    pub total_failures: u64,
    pub locked: bool,
    pub locked_at: Option<String>,
    pub delivery: Delivery,
    /// Old cards that still have to delete the profile.
    pub pending_removals: Vec<PendingRemoval>,
    pub created_at: String,
    pub updated_at: String,
}

/// One line of `sm list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSummary {
    pub op_id: String,
    pub iccid: String,
    pub imei: String,
    pub eid: String,
    pub failures: u32,
    pub locked: bool,
    pub delivery: Delivery,
    pub pending_removals: u32,
    pub updated_at: String,
}

/// The word a TEXT column stores for each variant of a field-less enum, written once:
/// gives `as_str`, `parse` (an unknown word is [`StoreError::Corrupt`] naming `what`)
/// and `Display`.
macro_rules! stored_words {
    ($ty:ident, $what:literal, { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $word,)+
                }
            }

            pub(crate) fn parse(s: &str) -> Result<$ty, StoreError> {
                match s {
                    $($word => Ok($ty::$variant),)+
                    other => Err(StoreError::Corrupt(format!(concat!($what, " {:?}"), other))),
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use stored_words;

/// State of an MNO binding of a subscription to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingState {
    Active,
    Stopped,
}

stored_words!(BindingState, "binding state", {
    Active => "active",
    Stopped => "stopped",
});

/// One MNO binding (steps 515-518): at most one per subscription is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub op_id: String,
    pub imei: String,
    pub eid: String,
    pub state: BindingState,
    pub started_at: String,
    pub stopped_at: Option<String>,
    /// Why it stopped, e.g. `device-change`.
    pub stop_reason: Option<String>,
}

/// A profile an old card must delete (issue 3: the old card learns of the change at
/// its next contact with the SM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRemoval {
    pub op_id: String,
    pub iccid: String,
    pub eid: String,
    pub imei: String,
    /// The old card's identity key, to check that it is really that card asking.
    pub identity_public_key: Vec<u8>,
    pub requested_at: String,
}

/// What a signature or challenge is for; part of the signed context and of the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// First provisioning (flow A).
    Provision,
    /// Proving to be the recorded device with the card identity key ([0074]).
    RecordedDevice,
    /// Device change with the key-generation parameter (flow B).
    DeviceChange,
    /// Public key change (flow C).
    KeyChange,
    /// An old card's sync after a device change.
    Sync,
}

stored_words!(Purpose, "purpose", {
    Provision => "provision",
    RecordedDevice => "recorded-device",
    DeviceChange => "device-change",
    KeyChange => "key-change",
    Sync => "sync",
});

/// Result of `record_failure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureOutcome {
    /// Consecutive failures including this one.
    pub attempts: u32,
    /// The limit this call was made with.
    pub max_attempts: u32,
    /// Lifetime failures including this one.
    pub total_failures: u64,
    /// The record is locked now.
    pub locked: bool,
    /// This failure is the one that locked it.
    pub newly_locked: bool,
}

impl FailureOutcome {
    /// Attempts left before the lock (0 once locked).
    pub fn remaining(&self) -> u32 {
        if self.locked {
            0
        } else {
            self.max_attempts.saturating_sub(self.attempts)
        }
    }
}
