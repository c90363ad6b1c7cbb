//! StoreMetadataRequest (SGP.22 v2.x §5.5.3, ASN.1 `StoreMetadataRequest`): the profile
//! metadata the SM-DP+ sends in the BPP's StoreMetadata step (A1, its `88` segments
//! joined), and in AuthenticateClient's profileMetadata. Fields the card keeps:
//!
//! ```text
//! StoreMetadataRequest ::= [37] SEQUENCE {                               -- BF25
//!   iccid Iccid,                                                         -- 5A
//!   serviceProviderName [17] UTF8String (SIZE(0..32)),                   -- 91
//!   profileName [18] UTF8String (SIZE(0..64)),                           -- 92
//!   iconType [19] IconType OPTIONAL, icon [20] OCTET STRING OPTIONAL,    -- 93, 94
//!   profileClass [21] ProfileClass DEFAULT operational,                  -- 95
//!   notificationConfigurationInfo [22] SEQUENCE OF                       -- B6
//!     NotificationConfigurationInformation OPTIONAL,                     -- 30 { 80, 81 }
//!   profileOwner [23] OperatorId OPTIONAL,                               -- B7 { 80, 81, 82 }
//!   profilePolicyRules [25] PprIds OPTIONAL }                            -- 99
//! ```
//!
//! Icons and PPRs are read past (not kept). Caps: the lengths of the ASN.1 module, at
//! most [`MAX_NOTIFICATION_CONFIGS`] notification entries.

use super::common::der;
use crate::error::{Error, Result};
use crate::iso7816::tlv::{self, cons, prim, Tlv};
use crate::sgp22::es10::{der as d, Iccid, ProfileClass};

/// Most NotificationConfigurationInformation entries decoded (SGP.22 names four events).
pub const MAX_NOTIFICATION_CONFIGS: usize = 16;
/// Largest notificationAddress (an FQDN: 255 bytes, RFC 1035 §2.3.4).
const MAX_ADDRESS: usize = 255;

/// `NotificationConfigurationInformation`: where notifications of these events go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationConfig {
    /// `NotificationEvent` bits ([`crate::sgp22::es10::events`]).
    pub events: u8,
    pub address: String,
}

/// `OperatorId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorId {
    pub mcc_mnc: [u8; 3],
    pub gid1: Option<Vec<u8>>,
    pub gid2: Option<Vec<u8>>,
}

/// The decoded StoreMetadataRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreMetadata {
    pub iccid: Iccid,
    pub service_provider_name: String,
    pub profile_name: String,
    pub profile_class: ProfileClass,
    pub notification_configs: Vec<NotificationConfig>,
    pub profile_owner: Option<OperatorId>,
}

impl StoreMetadata {
    /// Decodes a whole `BF25` TLV.
    pub fn decode(b: &[u8]) -> Result<Self> {
        Self::from_tlv(&tlv::parse_expect(b, 0xBF25)?)
    }

    fn from_tlv(t: &Tlv) -> Result<Self> {
        let profile_class = match tlv::child_bytes(t, 0x95) {
            None => ProfileClass::Operational,
            Some(v) => ProfileClass::from_u8(0x95, d::small_int(0x95, v)?)?,
        };
        let notification_configs = match tlv::child(t, 0xB6) {
            None => Vec::new(),
            Some(list) => {
                let items = tlv::children(list);
                if items.len() > MAX_NOTIFICATION_CONFIGS {
                    return Err(Error::InvalidValue {
                        tag: 0xB6,
                        reason: "too many notification configurations",
                    });
                }
                items
                    .iter()
                    .map(|c| {
                        Ok(NotificationConfig {
                            events: d::bits_decode(0x80, d::req(c, 0x80)?)?,
                            address: d::utf8(0x81, d::req(c, 0x81)?, MAX_ADDRESS)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?
            }
        };
        let profile_owner = tlv::child(t, 0xB7)
            .map(|o| -> Result<OperatorId> {
                Ok(OperatorId {
                    mcc_mnc: d::fixed::<3>(0x80, d::req(o, 0x80)?)?,
                    gid1: tlv::child_bytes(o, 0x81)
                        .map(|v| super::capped(0x81, v, 64))
                        .transpose()?,
                    gid2: tlv::child_bytes(o, 0x82)
                        .map(|v| super::capped(0x82, v, 64))
                        .transpose()?,
                })
            })
            .transpose()?;
        Ok(StoreMetadata {
            iccid: Iccid::from_bytes(d::req(t, 0x5A)?)?,
            service_provider_name: d::utf8(0x91, d::req(t, 0x91)?, 32)?,
            profile_name: d::utf8(0x92, d::req(t, 0x92)?, 64)?,
            profile_class,
            notification_configs,
            profile_owner,
        })
    }

    /// The notification address for an event bit, if the metadata names one.
    pub fn address_for(&self, event: u8) -> Option<&str> {
        self.notification_configs
            .iter()
            .find(|c| c.events & event != 0)
            .map(|c| c.address.as_str())
    }

    /// The `BF25` TLV (the SM-DP+ side and tests; fields in the ASN.1 order).
    pub fn encode(&self) -> Vec<u8> {
        let mut c = vec![
            prim::<0x5A>(self.iccid.0.to_vec()),
            prim::<0x91>(self.service_provider_name.as_bytes().to_vec()),
            prim::<0x92>(self.profile_name.as_bytes().to_vec()),
            prim::<0x95>(tlv::int_bytes(self.profile_class as u64)),
        ];
        if !self.notification_configs.is_empty() {
            c.push(cons::<0xB6>(
                self.notification_configs
                    .iter()
                    .map(|n| {
                        cons::<0x30>(vec![
                            prim::<0x80>(d::bits_encode(n.events)),
                            prim::<0x81>(n.address.as_bytes().to_vec()),
                        ])
                    })
                    .collect(),
            ));
        }
        if let Some(o) = &self.profile_owner {
            let mut v = vec![prim::<0x80>(o.mcc_mnc.to_vec())];
            if let Some(g) = &o.gid1 {
                v.push(prim::<0x81>(g.clone()));
            }
            if let Some(g) = &o.gid2 {
                v.push(prim::<0x82>(g.clone()));
            }
            c.push(cons::<0xB7>(v));
        }
        der(&cons::<0xBF25>(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// osmo-smdpp's StoreMetadata for TS48V2-SAIP2-1-BERTLV-UNIQUE (from its log, see
    /// the P6 observations; addresses shortened to "a.example").
    #[test]
    fn decodes_osmo_smdpp_metadata() {
        let addr = b"a.example";
        let mut nci = Vec::new();
        for bits in [[0x06, 0x40], [0x05, 0x20], [0x04, 0x10]] {
            let mut e = vec![0x80, 0x02, bits[0], bits[1], 0x81, addr.len() as u8];
            e.extend_from_slice(addr);
            nci.push(0x30);
            nci.push(e.len() as u8);
            nci.extend(e);
        }
        let mut body = hex::decode("5A0A989444999999990940F9910A4F736D6F636F6D53504E").unwrap();
        body.extend(hex::decode("9204544553549501 02".replace(' ', "")).unwrap());
        body.push(0xB6);
        body.push(nci.len() as u8);
        body.extend(nci);
        let mut msg = vec![0xBF, 0x25, body.len() as u8];
        msg.extend(body);
        let m = StoreMetadata::decode(&msg).unwrap();
        assert_eq!(m.iccid.digits(), "8949449999999990049");
        assert_eq!(m.service_provider_name, "OsmocomSPN");
        assert_eq!(m.profile_name, "TEST");
        assert_eq!(m.profile_class, ProfileClass::Operational);
        assert_eq!(m.notification_configs.len(), 3);
        assert_eq!(m.notification_configs[1].events, 0x20);
        assert_eq!(m.address_for(0x10), Some("a.example"));
        assert_eq!(m.address_for(0x80), None);
        assert_eq!(StoreMetadata::decode(&m.encode()).unwrap(), m);
        // A missing profileName, a class out of range.
        let no_name = StoreMetadata::decode(&hex::decode("BF0F").unwrap());
        assert!(no_name.is_err());
        let mut bad = m.clone();
        bad.profile_class = ProfileClass::Test;
        let mut enc = bad.encode();
        let i = enc
            .windows(3)
            .position(|w| w == [0x95, 0x01, 0x00])
            .unwrap();
        enc[i + 2] = 7;
        assert!(StoreMetadata::decode(&enc).is_err());
    }
}
