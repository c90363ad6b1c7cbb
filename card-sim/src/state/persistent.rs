//! The persistent state of the card: what survives power loss and a restart of card-sim.
//! It is stored as JSON with a schema version number ([`SCHEMA_VERSION`]); a file of
//! another version, or one that does not validate, is refused with a clear error and is
//! never silently replaced.
//!
//! The JSON holds the card's secrets (Ki, OPc, packages, the identity and eUICC keys) as
//! hex text, so its buffers are wiped (issue 10, finding 10): the card writes its file
//! from [`PersistentState::to_json_zeroizing`] (a buffer that wipes what it outgrows and
//! itself when dropped), and [`PersistentState::from_json`] wipes every string of the
//! parsed JSON tree when it is done with it, also on an error.

use super::error::StateError;
use super::notification::{Event, Notification};
use super::pki::CardPki;
use super::profile::Profile;
use super::secret::Secret;
use apdu::sgp22::es10::{Iccid, ProfileClass, ProfileRef};
use apdu::Eid;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use zeroize::{Zeroize, Zeroizing};

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 6;
/// Older schema versions this build still reads (and upgrades on the next save).
/// Version 1 had no identity key; the card makes one when it first needs it.
/// Versions 1 and 2 had no eUICC PKI: on load the card gets one issued under the shipped
/// test EUM, its key derived from the EID ([`CardPki::issue_from_eid`]: deterministic,
/// so the same old file always upgrades to the same card).
/// Version 3 -> 4 added only the optional per-profile `sim` (what serving a profile's
/// package as a SIM changed: files, PIN counters, SQN): a version 3 file loads as is.
/// Version 4 -> 5 added only the optional identity encryption key (issue 10, finding
/// 10): a version 4 file loads as is; the card makes the key when it first needs it.
/// Version 5 -> 6 replaced a profile's single `notification_address` with its
/// `notification_configs` (which operations notify, and where: SGP.22
/// notificationConfigurationInfo) and made a notification's `iccid` optional (the result
/// of an install refused before its metadata was kept has none). A profile of an older
/// file with an address is read as configured for enable, disable and delete at it (what
/// the card did for it then); one without configures nothing.
pub const READABLE_VERSIONS: [u32; 6] = [1, 2, 3, 4, 5, 6];

/// Everything the card keeps across power cycles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersistentState {
    pub schema: u32,
    #[serde(with = "eid_digits")]
    pub eid: Eid,
    pub profiles: Vec<Profile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_dp_address: Option<String>,
    pub root_ds_address: String,
    pub notifications: Vec<Notification>,
    /// The sequence number the next notification gets.
    pub next_notification_seq: u32,
    /// The card's identity key (PKCS#8 DER of an RSA-2048 key), made when the card first
    /// needs it and kept for its life, like an eUICC certificate key (SGP.22 §2.4);
    /// the SM pins its public half (docs/device-change-protocol.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_key: Option<Secret>,
    /// The card's identity encryption key (PKCS#8 DER, RSA-2048), apart from the
    /// signing key above: the key a profile re-served to the recorded device is sealed
    /// to (BF69 key source 1). Made when first needed (schema 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_encryption_key: Option<Secret>,
    /// The eUICC key pair, its certificate chain and the trusted CIs (schema 3).
    pub pki: CardPki,
}

impl PersistentState {
    /// Reads and validates a state file's bytes.
    pub fn from_json(bytes: &[u8]) -> Result<PersistentState, StateError> {
        let mut tree = WipedJson(serde_json::from_slice(bytes).map_err(StateError::Json)?);
        let value = &mut tree.0;
        let schema = value
            .get("schema")
            .and_then(serde_json::Value::as_u64)
            .ok_or(StateError::NoSchema)?;
        if !READABLE_VERSIONS.iter().any(|&v| u64::from(v) == schema) {
            return Err(StateError::UnsupportedSchema {
                found: schema,
                readable: &READABLE_VERSIONS,
            });
        }
        // Version 1 -> 2 added only the optional identity key; 2 -> 3 the PKI; 3 -> 4 the
        // optional `sim` of a profile; 4 -> 5 the optional identity encryption key; 5 -> 6
        // the profiles' notification configurations.
        if schema < 3 {
            if let Some(obj) = value.as_object_mut() {
                if let Some(pki) = legacy_pki(obj)? {
                    obj.insert("pki".into(), pki);
                }
            }
        }
        if schema < 6 {
            legacy_notification_configs(value);
        }
        // Deserialized from the borrowed tree, so that `tree` wipes it afterwards.
        let mut state = PersistentState::deserialize(&*value)
            .map_err(|reason| StateError::Mismatch { schema, reason })?;
        state.schema = SCHEMA_VERSION;
        state.validate()?;
        Ok(state)
    }

    /// The JSON the state file holds, in a plain buffer (for tests and tools: the card
    /// itself writes [`PersistentState::to_json_zeroizing`]).
    pub fn to_json(&self) -> Result<Vec<u8>, StateError> {
        self.to_json_zeroizing().map(|json| json.to_vec())
    }

    /// The JSON the state file holds, in a buffer that is wiped when dropped; growing it
    /// wipes the smaller buffer it leaves, so no copy of the secrets stays in freed
    /// memory. An error (a serializer that refuses a value) is reported, never written
    /// as an empty document.
    pub fn to_json_zeroizing(&self) -> Result<Zeroizing<Vec<u8>>, StateError> {
        let mut out = WipingWriter(Zeroizing::new(Vec::with_capacity(16 * 1024)));
        serde_json::to_writer_pretty(&mut out, self).map_err(StateError::Serialize)?;
        std::io::Write::write_all(&mut out, b"\n")
            .map_err(|e| StateError::Serialize(serde_json::Error::io(e)))?;
        Ok(out.0)
    }

    /// Checks the invariants the card relies on.
    pub fn validate(&self) -> Result<(), StateError> {
        let invalid = |why: String| Err(StateError::Invalid(why));
        if self.schema != SCHEMA_VERSION {
            return invalid(format!(
                "schema version {} is not {SCHEMA_VERSION}",
                self.schema
            ));
        }
        self.pki
            .validate(&self.eid)
            .map_err(|e| StateError::Invalid(format!("eUICC PKI: {e}")))?;
        let mut iccids = HashSet::new();
        let mut aids = HashSet::new();
        for p in &self.profiles {
            if !iccids.insert(p.iccid) {
                return invalid(format!("ICCID {} appears twice", p.iccid));
            }
            if !(5..=16).contains(&p.aid.len()) {
                return invalid(format!("profile {}: an AID has 5 to 16 bytes", p.iccid));
            }
            if !aids.insert(p.aid.clone()) {
                return invalid(format!("AID {} appears twice", hex::encode_upper(&p.aid)));
            }
        }
        let enabled = self.profiles.iter().filter(|p| p.is_enabled()).count();
        if enabled > 1 {
            return invalid(format!(
                "{enabled} profiles are enabled; at most one may be"
            ));
        }
        let mut seqs = HashSet::new();
        for n in &self.notifications {
            if !seqs.insert(n.seq) || n.seq >= self.next_notification_seq {
                return invalid(format!(
                    "notification sequence number {} is repeated or not below \
                     next_notification_seq",
                    n.seq
                ));
            }
        }
        Ok(())
    }

    /// The index of the profile `r` names.
    pub fn find(&self, r: &ProfileRef) -> Option<usize> {
        self.profiles.iter().position(|p| match r {
            ProfileRef::Iccid(i) => p.iccid == *i,
            ProfileRef::Aid(a) => p.aid == *a,
        })
    }

    /// The index of the profile with this ICCID.
    pub fn find_iccid(&self, iccid: &Iccid) -> Option<usize> {
        self.find(&ProfileRef::Iccid(*iccid))
    }

    /// The enabled profile, if any.
    pub fn enabled(&self) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.is_enabled())
    }

    /// The provisioning profile's index, if any.
    pub fn provisioning(&self) -> Option<usize> {
        self.profiles
            .iter()
            .position(|p| p.class == ProfileClass::Provisioning)
    }

    /// Records a notification of `event` for profile `index` when the profile's
    /// notification configuration lists the event (SGP.22 §3.2.1-3.2.3), to the address
    /// of that entry, and returns its sequence number; `None` (nothing recorded, no
    /// number used) when it does not, or there is no such profile.
    pub fn notify(&mut self, index: usize, event: Event) -> Option<u32> {
        let p = self.profiles.get(index)?;
        let address = p.notification_address(event)?.to_string();
        let seq = self.next_notification_seq;
        let iccid = Some(p.iccid);
        self.notifications.push(Notification {
            seq,
            event,
            address,
            iccid,
            signed: None,
        });
        self.next_notification_seq = seq.wrapping_add(1);
        Some(seq)
    }
}

/// The PKI a schema 1 or 2 state gets on load, from its EID. `None` when the EID is
/// missing or invalid: deserializing then reports that.
fn legacy_pki(
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<serde_json::Value>, StateError> {
    let Some(eid) = obj
        .get("eid")
        .and_then(serde_json::Value::as_str)
        .and_then(|s| s.parse::<Eid>().ok())
    else {
        return Ok(None);
    };
    let pki = CardPki::issue_from_eid(eid)
        .map_err(|e| StateError::Invalid(format!("cannot issue the eUICC PKI: {e}")))?;
    serde_json::to_value(pki)
        .map(Some)
        .map_err(StateError::Serialize)
}

/// Schema 5 and older: each profile's `notification_address` becomes one notification
/// configuration for enable, disable and delete at that address (the events the card
/// notified for it then); a profile without one gets none (those notified to the
/// default SM-DP+ address or `smdp.invalid` before, which SGP.22 does not ask for). A
/// value that is neither a string nor null is left for deserializing to refuse.
fn legacy_notification_configs(value: &mut serde_json::Value) {
    let Some(profiles) = value
        .get_mut("profiles")
        .and_then(serde_json::Value::as_array_mut)
    else {
        return;
    };
    for p in profiles
        .iter_mut()
        .filter_map(serde_json::Value::as_object_mut)
    {
        let address = match p.get("notification_address") {
            Some(serde_json::Value::String(a)) => Some(a.clone()),
            Some(serde_json::Value::Null) => None,
            _ => continue,
        };
        p.remove("notification_address");
        if let Some(address) = address {
            let events = [Event::Enable, Event::Disable, Event::Delete];
            let config = serde_json::json!([{ "events": events, "address": address }]);
            p.insert("notification_configs".into(), config);
        }
    }
}

/// Serde for an [`Eid`] as its 32 digits, check digits verified.
/// A parsed JSON document whose strings (the hex of the secrets among them) are wiped
/// when it is dropped.
struct WipedJson(serde_json::Value);

impl Drop for WipedJson {
    fn drop(&mut self) {
        wipe_strings(&mut self.0);
    }
}

/// Zeroizes every string value of `v`. serde_json nests at most 128 levels when parsing,
/// so the recursion is bounded.
fn wipe_strings(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(wipe_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(wipe_strings),
        _ => {}
    }
}

/// An `io::Write` into a wiped buffer that never reallocates in place: when it must
/// grow, it copies into a buffer twice the size and the old one is wiped as it drops.
struct WipingWriter(Zeroizing<Vec<u8>>);

impl std::io::Write for WipingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let needed = self.0.len() + buf.len();
        if needed > self.0.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(self.0.capacity() * 2)));
            bigger.extend_from_slice(&self.0);
            // The old buffer is wiped when the assignment drops it.
            self.0 = bigger;
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

mod eid_digits {
    use apdu::Eid;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(e: &Eid, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&e.digits())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Eid, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod wipe_tests {
    use super::*;
    use std::io::Write;

    /// The wiped JSON is the plain JSON, byte for byte, and reads back; Debug of the
    /// state never shows a secret.
    #[test]
    fn zeroizing_json_is_the_same_document_and_debug_redacts() {
        let mut state = crate::state::new_card::new_card(Eid::test_eid(5), 1);
        state.profiles[0].ki = Some(Secret::new(vec![0xA7; 16]));
        state.identity_key = Some(Secret::new(vec![0xB9; 600]));
        let wiped = state.to_json_zeroizing().unwrap();
        assert_eq!(*wiped, state.to_json().unwrap());
        assert_eq!(PersistentState::from_json(&wiped).unwrap(), state);
        let text = String::from_utf8_lossy(&wiped);
        assert!(text.contains(&"A7".repeat(16)), "the file keeps the key");
        let dbg = format!("{state:?}");
        assert!(!dbg.contains("A7A7") && !dbg.contains("167, 167"), "{dbg}");
    }

    /// Growing copies into a fresh buffer: the content survives any write pattern.
    #[test]
    fn the_writer_grows_by_copying() {
        let mut w = WipingWriter(Zeroizing::new(Vec::with_capacity(1)));
        let mut expected = Vec::new();
        for n in 0..200u8 {
            let chunk = vec![n; usize::from(n % 7)];
            w.write_all(&chunk).unwrap();
            expected.extend_from_slice(&chunk);
        }
        assert_eq!(*w.0, expected);
        assert!(w.0.capacity() >= expected.len());
    }

    /// The parsed tree's strings are wiped (emptied) by the guard.
    #[test]
    fn parsed_strings_are_wiped() {
        let mut v: serde_json::Value =
            serde_json::from_str(r#"{"a":"s3cr3t","b":[{"c":"k3y"}, 1, null]}"#).unwrap();
        wipe_strings(&mut v);
        assert_eq!(v, serde_json::json!({"a":"","b":[{"c":""}, 1, null]}));
        // A file that fails to load goes through the same guard (no early return skips it).
        let e = PersistentState::from_json(br#"{"schema":4,"ki":"A7A7"}"#);
        assert!(e.is_err());
    }
}
