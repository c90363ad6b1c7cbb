//! One profile as the card stores it: the SGP.22 ProfileInfo fields (§5.7.15) plus the
//! operator content later work needs (IMSI, MSISDN, Ki, OPc). Ki and OPc are
//! [`Secret`]s. ICCIDs are stored as digits, AIDs as hex, so the state file is readable.

use super::secret::Secret;
use apdu::sgp22::es10::{Iccid, ProfileClass, ProfileInfo, ProfileState};
use serde::{Deserialize, Serialize};

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
    /// Where this profile's notifications go (SGP.22 NotificationConfigurationInfo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_address: Option<String>,
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
}

impl Profile {
    /// True while enabled.
    pub fn is_enabled(&self) -> bool {
        self.state == ProfileState::Enabled
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

/// Serde for an [`Iccid`] as its decimal digits.
pub mod iccid_digits {
    use apdu::sgp22::es10::Iccid;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(i: &Iccid, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&i.digits())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Iccid, D::Error> {
        let s = String::deserialize(d)?;
        Iccid::from_digits(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde for bytes as upper-case hex.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode_upper(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(&s).map_err(serde::de::Error::custom)
    }
}
