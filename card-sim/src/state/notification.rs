//! Pending notifications (SGP.22 §5.7.9 ListNotification, §5.7.10 RemoveNotificationFromList):
//! what happened to which profile, under a sequence number that never repeats on a card.
//! An install's notification is its ProfileInstallationResult, success or error (§3.1.3.3,
//! §5.7.6); enable, disable and delete notify only when the profile's metadata asks for
//! it ([`super::profile::NotificationConfig`]).

use super::serde_fields::opt_iccid_digits;
use apdu::sgp22::es10::{events, Iccid, NotificationMetadata};
use serde::{Deserialize, Serialize};

/// The profile management operation a notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    Install,
    Enable,
    Disable,
    Delete,
}

impl Event {
    pub const ALL: [Event; 4] = [Event::Install, Event::Enable, Event::Disable, Event::Delete];

    /// The events whose bits are set in a `NotificationEvent` bit string (others ignored).
    pub fn from_bits(bits: u8) -> Vec<Event> {
        Event::ALL
            .into_iter()
            .filter(|e| bits & e.bit() != 0)
            .collect()
    }

    /// The bit of `NotificationEvent` (bit 0 = most significant bit of the byte).
    pub fn bit(self) -> u8 {
        match self {
            Event::Install => events::INSTALL,
            Event::Enable => events::ENABLE,
            Event::Disable => events::DISABLE,
            Event::Delete => events::DELETE,
        }
    }
}

/// A pending notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notification {
    pub seq: u32,
    pub event: Event,
    pub address: String,
    /// The profile's ICCID (optional in NotificationMetadata, SGP.22 §5.7.9): absent
    /// from the result of an install refused before its metadata was kept.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_iccid_digits"
    )]
    pub iccid: Option<Iccid>,
    /// The signed notification as made when it happened (the install notification: the
    /// ProfileInstallationResult `BF37`, SGP.22 §5.7.6, served as is by
    /// RetrieveNotificationsList §5.7.11). `None`: signed when retrieved.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_hex")]
    pub signed: Option<Vec<u8>>,
}

/// Serde for optional bytes as upper-case hex.
mod opt_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_str(&hex::encode_upper(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| hex::decode(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

impl Notification {
    /// The ES10 metadata of this notification.
    pub fn metadata(&self) -> NotificationMetadata {
        NotificationMetadata {
            seq: self.seq,
            events: self.event.bit(),
            address: self.address.clone(),
            iccid: self.iccid,
        }
    }
}
