//! The operator profile (OP) the SM seals for a card: the content a network uses
//! (ICCID, IMSI, MSISDN = the OP ID, Ki and OPc for Milenage, SPN, profile name).
//! Encoded as `E0 { 5A iccid, 81 imsi, 82 msisdn, 83 ki, 84 opc, 85 spn, 86 name }`
//! before sealing. Ki and OPc are secrets: zeroized on drop, redacted in `Debug`.

use crate::error::{Error, Result};
use crate::iso7816::tlv::{self, cons, prim};
use crate::sgp22::es10::Iccid;
use std::fmt;
use zeroize::Zeroizing;

/// An operator profile.
#[derive(Clone, PartialEq, Eq)]
pub struct OperatorProfile {
    pub iccid: Iccid,
    /// 6 to 15 digits.
    pub imsi: String,
    /// The subscriber's number; the OP ID of the method.
    pub msisdn: String,
    /// Subscriber key, 16 bytes (3GPP TS 35.206).
    pub ki: Zeroizing<[u8; 16]>,
    /// Operator variant key OPc, 16 bytes.
    pub opc: Zeroizing<[u8; 16]>,
    pub service_provider: String,
    pub profile_name: String,
}

impl fmt::Debug for OperatorProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorProfile")
            .field("iccid", &self.iccid)
            .field("imsi", &self.imsi)
            .field("msisdn", &self.msisdn)
            .field("ki", &"<redacted>")
            .field("opc", &"<redacted>")
            .field("service_provider", &self.service_provider)
            .field("profile_name", &self.profile_name)
            .finish()
    }
}

fn text(t: &tlv::Tlv, tag: u32, max: usize) -> Result<String> {
    let v = tlv::require_bytes(t, tag)?;
    if v.len() > max {
        return Err(Error::InvalidValue {
            tag,
            reason: "text too long",
        });
    }
    String::from_utf8(v.to_vec()).map_err(|_| Error::InvalidValue {
        tag,
        reason: "not UTF-8",
    })
}

fn key16(t: &tlv::Tlv, tag: u32) -> Result<Zeroizing<[u8; 16]>> {
    let v = tlv::require_bytes(t, tag)?;
    let mut k = Zeroizing::new([0u8; 16]);
    if v.len() != 16 {
        return Err(Error::InvalidValue {
            tag,
            reason: "a key is 16 bytes",
        });
    }
    k.copy_from_slice(v);
    Ok(k)
}

impl OperatorProfile {
    /// Encodes the profile; the buffer is zeroized on drop.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let t = cons::<0xE0>(vec![
            prim::<0x5A>(self.iccid.0.to_vec()),
            prim::<0x81>(self.imsi.as_bytes().to_vec()),
            prim::<0x82>(self.msisdn.as_bytes().to_vec()),
            prim::<0x83>(self.ki.to_vec()),
            prim::<0x84>(self.opc.to_vec()),
            prim::<0x85>(self.service_provider.as_bytes().to_vec()),
            prim::<0x86>(self.profile_name.as_bytes().to_vec()),
        ]);
        Zeroizing::new(tlv::encode(&t))
    }

    /// Decodes and validates a profile.
    pub fn decode(b: &[u8]) -> Result<OperatorProfile> {
        let t = tlv::parse_expect(b, 0xE0)?;
        let imsi = text(&t, 0x81, 15)?;
        if imsi.len() < 6 || !imsi.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Error::InvalidValue {
                tag: 0x81,
                reason: "an IMSI has 6 to 15 digits",
            });
        }
        Ok(OperatorProfile {
            iccid: Iccid::from_bytes(tlv::require_bytes(&t, 0x5A)?)?,
            imsi,
            msisdn: text(&t, 0x82, 64)?,
            ki: key16(&t, 0x83)?,
            opc: key16(&t, 0x84)?,
            service_provider: text(&t, 0x85, 32)?,
            profile_name: text(&t, 0x86, 64)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_redaction() {
        let p = OperatorProfile {
            iccid: Iccid::from_digits("89860000000000000018").unwrap(),
            imsi: "460001234567890".into(),
            msisdn: "+8613800000001".into(),
            ki: Zeroizing::new([0x11; 16]),
            opc: Zeroizing::new([0x22; 16]),
            service_provider: "Example Mobile".into(),
            profile_name: "Example 5G".into(),
        };
        assert_eq!(OperatorProfile::decode(&p.encode()).unwrap(), p);
        let dbg = format!("{p:?}");
        assert!(!dbg.contains("17, 17") && !dbg.contains("11111111"));
        let mut bad = p.clone();
        bad.imsi = "12".into();
        assert!(OperatorProfile::decode(&bad.encode()).is_err());
    }
}
