//! What a finished flow reports: the subscription, the card and device, the profile
//! delivered, the binding stopped, the profiles removed from the card by the sync.
//! Serialised as-is in `--json`; never carries a secret. Deserialised by the remote SM's
//! client (`sm::remote`) with the same field names; the names that are `&'static str`
//! here must be ones this file knows.

use apdu::crypto::{KdfParams, PublicKey};
use apdu::devchange::{Flow, KeySource};
use apdu::Eid;
use serde::{Deserialize, Deserializer, Serialize};

/// A fixed name in a report (a flow, a key source, a KDF profile). An alias, not
/// `&'static str` written out: serde's derive would take that for a string borrowed
/// from the input and ask for `'de: 'static`; each field names its own parser.
pub type Name = &'static str;

/// A device in a report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceView {
    pub imei: String,
    pub eid: String,
}

/// KDF parameters in a report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KdfView {
    /// `production`, `test` or `custom`.
    #[serde(deserialize_with = "kdf_profile")]
    pub profile: Name,
    #[serde(deserialize_with = "algorithm")]
    pub algorithm: Name,
    pub memory_kib: u32,
    pub time_cost: u32,
    pub parallelism: u32,
}

impl From<&KdfParams> for KdfView {
    fn from(k: &KdfParams) -> KdfView {
        KdfView {
            profile: kdf_profile_name(k),
            algorithm: "argon2id",
            memory_kib: k.memory_kib(),
            time_cost: k.time_cost(),
            parallelism: k.parallelism(),
        }
    }
}

/// `production`, `test` or `custom`.
pub fn kdf_profile_name(k: &KdfParams) -> &'static str {
    if *k == KdfParams::PRODUCTION {
        "production"
    } else if *k == KdfParams::TEST {
        "test"
    } else {
        "custom"
    }
}

/// A profile the sync had the card remove.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RemovalView {
    pub op_id: String,
    pub iccid: String,
    /// False when the card no longer held it (it was removed another way).
    pub was_on_card: bool,
}

/// The outcome of a flow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowReport {
    #[serde(deserialize_with = "flow_name")]
    pub flow: Name,
    pub op_id: Option<String>,
    /// The card the flow ran with.
    pub eid: String,
    pub imei: Option<String>,
    /// The profile installed on the card.
    pub iccid: Option<String>,
    /// Which key opened the profile: `parameter` (derived from the parameter) or
    /// `identity` (the bound card's identity key, [0074]).
    #[serde(deserialize_with = "key_source")]
    pub key_source: Option<Name>,
    /// After a device change: the device whose binding was stopped.
    pub previous_device: Option<DeviceView>,
    /// Earlier failed authentications cleared by this success.
    pub failures_cleared: Option<u32>,
    /// The KDF parameters of the key recorded by this flow (A, C).
    pub kdf: Option<KdfView>,
    /// SHA-256 of the public key recorded by this flow (A, C).
    pub public_key_sha256: Option<String>,
    /// Profiles the sync removed from this card.
    pub removed: Vec<RemovalView>,
    /// Things worth knowing that are not errors.
    pub notes: Vec<String>,
}

/// `s` as the one of `names` it equals.
fn name_of<E: serde::de::Error>(
    s: &str,
    what: &'static str,
    names: &[&'static str],
) -> Result<&'static str, E> {
    names
        .iter()
        .copied()
        .find(|n| *n == s)
        .ok_or_else(|| E::custom(format!("unknown {what} '{s}'")))
}

fn one_of<'de, D: Deserializer<'de>>(
    d: D,
    what: &'static str,
    names: &[&'static str],
) -> Result<&'static str, D::Error> {
    name_of(&String::deserialize(d)?, what, names)
}

fn flow_name<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let names = [
        Flow::Provision.name(),
        Flow::DeviceChange.name(),
        Flow::KeyChange.name(),
        Flow::Sync.name(),
    ];
    one_of(d, "flow", &names)
}

fn key_source<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'static str>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| name_of(&s, "key source", &["parameter", "identity"]))
        .transpose()
}

fn kdf_profile<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    one_of(d, "KDF profile", &["production", "test", "custom"])
}

fn algorithm<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    one_of(d, "KDF algorithm", &["argon2id"])
}

impl FlowReport {
    pub fn new(flow: Flow, eid: &Eid) -> FlowReport {
        FlowReport {
            flow: flow.name(),
            op_id: None,
            eid: eid.to_string(),
            imei: None,
            iccid: None,
            key_source: None,
            previous_device: None,
            failures_cleared: None,
            kdf: None,
            public_key_sha256: None,
            removed: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub(super) fn key_recorded(&mut self, key: &PublicKey, kdf: &KdfParams) {
        self.public_key_sha256 = Some(key.fingerprint().to_string());
        self.kdf = Some(kdf.into());
    }

    pub(super) fn key_source(&mut self, k: KeySource) {
        self.key_source = Some(match k {
            KeySource::Parameter => "parameter",
            KeySource::Identity => "identity",
        });
    }

    /// Human-readable lines.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.removed {
            out.push(if r.was_on_card {
                format!(
                    "Removed {} (ICCID {}) from this card: it moved to another device",
                    r.op_id, r.iccid
                )
            } else {
                format!(
                    "{} (ICCID {}) moved to another device and was no longer on this card",
                    r.op_id, r.iccid
                )
            });
        }
        let op = self.op_id.as_deref().unwrap_or("?");
        match self.flow {
            "provision" => out.push(format!(
                "Provisioned {op}: profile {} installed and enabled on EID {}, bound to IMEI {}",
                self.iccid.as_deref().unwrap_or("?"),
                self.eid,
                self.imei.as_deref().unwrap_or("?")
            )),
            "device-change" => {
                out.push(format!(
                    "{op} is now on EID {} (IMEI {}): profile {} installed and enabled",
                    self.eid,
                    self.imei.as_deref().unwrap_or("?"),
                    self.iccid.as_deref().unwrap_or("?")
                ));
                if let Some(p) = &self.previous_device {
                    out.push(format!(
                        "Binding to the old device stopped (IMEI {}, EID {}); it removes the \
                         profile at its next sync",
                        p.imei, p.eid
                    ));
                }
                if self.key_source == Some("identity") {
                    out.push(
                        "The card proved it is the recorded device: no parameter was needed".into(),
                    );
                }
            }
            "key-change" => out.push(format!(
                "The public key of {op} was replaced (sha256 {})",
                self.public_key_sha256.as_deref().unwrap_or("?")
            )),
            _ => {
                if self.removed.is_empty() {
                    out.push(format!("EID {}: nothing to remove", self.eid));
                }
            }
        }
        if let Some(k) = &self.kdf {
            out.push(format!(
                "KDF: {} ({}, {} KiB, t={}, p={})",
                k.profile, k.algorithm, k.memory_kib, k.time_cost, k.parallelism
            ));
        }
        if let Some(n) = self.failures_cleared.filter(|n| *n > 0) {
            out.push(format!("{n} earlier failed attempt(s) cleared"));
        }
        out.extend(self.notes.iter().cloned());
        out
    }
}
