//! One profile as the card stores it: the SGP.22 ProfileInfo fields (§5.7.15) plus the
//! operator content later work needs (IMSI, MSISDN, Ki, OPc), the SAIP package a
//! download installed, and what the card changed in that profile while serving it as a
//! SIM ([`SimState`], schema 4). Ki, OPc, the package and PIN values are [`Secret`]s.
//! ICCIDs are stored as digits, AIDs as hex, so the state file is readable.

use super::notification::Event;
use super::secret::Secret;
use super::serde_fields::{hex_bytes, iccid_digits};
use apdu::aka::SqnState;
use apdu::sgp22::es10::{Iccid, ProfileClass, ProfileInfo, ProfileState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A profile on the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(with = "iccid_digits")]
    pub iccid: Iccid,
    /// ISD-P AID.
    #[serde(with = "hex_bytes")]
    pub aid: Vec<u8>,
    pub state: ProfileState,
    pub class: ProfileClass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Which of this profile's operations make a notification, and where it goes: the
    /// notificationConfigurationInfo of its metadata (SGP.22 §5.5.3, §3.2.1-3.2.3; schema
    /// 6, which replaced the single `notification_address`). Empty: enable, disable and
    /// delete notify nothing (PP#0, test profiles, the device-change flows' profiles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notification_configs: Vec<NotificationConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imsi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msisdn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ki: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opc: Option<Secret>,
    /// The SAIP profile package a download installed (SGP.22 §5.7.6; the `86`
    /// segments' plaintext, holding Ki/OPc, so a [`Secret`]): what serving the
    /// profile's file system is built from (`apdu::saip::fs::install`). `None`:
    /// profiles made by the device-change flows or an older state file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Secret>,
    /// What serving the package as a SIM changed (file contents, PIN counters and
    /// values, SQN state); empty until the first change.
    #[serde(default, skip_serializing_if = "SimState::is_empty")]
    pub sim: SimState,
}

/// One `NotificationConfigurationInformation` of a profile's metadata: the operations
/// (`profileManagementOperation`) whose notifications go to `address`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationConfig {
    pub events: Vec<Event>,
    pub address: String,
}

impl From<&apdu::sgp22::es10b::NotificationConfig> for NotificationConfig {
    fn from(c: &apdu::sgp22::es10b::NotificationConfig) -> Self {
        NotificationConfig {
            events: Event::from_bits(c.events),
            address: c.address.clone(),
        }
    }
}

/// The persistent part of a profile served as a SIM (card/sim): `apdu::saip::fs::install`
/// is deterministic for the same package, so the card keeps only what commands changed,
/// over the installed image.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimState {
    /// EF contents written by UPDATE BINARY / UPDATE RECORD, by node of the installed
    /// file system (`apdu::saip::fs::NodeId`, after following links), whole.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<usize, HexContent>,
    /// PIN states by `"NODE:KEYREF"` (the directory whose PE-PINCodes defines the PIN, and
    /// its key reference in hex).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pins: BTreeMap<String, CodeState>,
    /// PUK states, keyed as [`Self::pins`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub puks: BTreeMap<String, CodeState>,
    /// SEQ_MS of TS 33.102 Annex C per USIM ADF node.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sqn: BTreeMap<usize, SqnState>,
}

impl SimState {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.pins.is_empty() && self.puks.is_empty() && self.sqn.is_empty()
    }
}

/// A PIN or PUK as the card changed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeState {
    /// Remaining attempts (TS 102 221 §9.5.1); 0 is blocked.
    pub left: u8,
    /// The value set by CHANGE PIN or UNBLOCK PIN (8 bytes, `FF`-padded); `None`: the
    /// package's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Secret>,
    /// Verification disabled (DISABLE PIN, TS 102 221 §11.1.11).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

/// An EF's content, stored as upper-case hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HexContent(#[serde(with = "hex_bytes")] pub Vec<u8>);

impl Profile {
    /// True while enabled.
    pub fn is_enabled(&self) -> bool {
        self.state == ProfileState::Enabled
    }

    /// Where a notification of `event` goes: the address of the first configuration
    /// that lists it; `None` when none does (no notification).
    pub fn notification_address(&self, event: Event) -> Option<&str> {
        self.notification_configs
            .iter()
            .find(|c| c.events.contains(&event))
            .map(|c| c.address.as_str())
    }

    /// The ES10 view of this profile (all fields; GetProfilesInfo filters by tag list).
    pub fn info(&self) -> ProfileInfo {
        ProfileInfo {
            iccid: Some(self.iccid),
            aid: Some(self.aid.clone()),
            state: Some(self.state),
            nickname: self.nickname.clone(),
            service_provider: self.service_provider.clone(),
            profile_name: self.name.clone(),
            class: Some(self.class),
        }
    }
}
