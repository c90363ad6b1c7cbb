//! Pending notifications (SGP.22 §5.7.9 ListNotification, §5.7.10 RemoveNotificationFromList):
//! what happened to which profile, under a sequence number that never repeats on a card.

use super::profile::iccid_digits;
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
    #[serde(with = "iccid_digits")]
    pub iccid: Iccid,
}

impl Notification {
    /// The ES10 metadata of this notification.
    pub fn metadata(&self) -> NotificationMetadata {
        NotificationMetadata {
            seq: self.seq,
            events: self.event.bit(),
            address: self.address.clone(),
            iccid: Some(self.iccid),
        }
    }
}
