//! The operator profile (OP) the SM seals for a card: the content a network uses
//! (ICCID, IMSI, MSISDN = the OP ID, Ki and OPc for Milenage, SPN, profile name).
//! Encoded as `E0 { 5A iccid, 81 imsi, 82 msisdn, 83 ki, 84 opc, 85 spn, 86 name }`
//! before sealing. Ki and OPc are secrets: zeroized on drop, redacted in `Debug`, and
//! encoded into and decoded from wiped buffers only, without a TLV tree copy of them
//! (issue 10, finding 10).

use crate::error::{Error, Result};
use crate::iso7816::tlv;
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

/// The tags of the profile's fields, in encoding order.
const TAGS: [u8; 7] = [0x5A, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86];

/// The children of the one `E0` object `b` holds, as (tag, value) slices of `b`, after
/// the checks of [`tlv::parse`] ([`tlv::check`]: sizes, encodings, nesting) but without
/// a TLV tree, which would keep unwiped copies of Ki and OPc.
fn fields(b: &[u8]) -> Result<Vec<(u32, &[u8])>> {
    if tlv::check(b)? != 1 {
        return Err(Error::Malformed("expected exactly one TLV object"));
    }
    let (tag, constructed, p) = tlv::read_tag(b, 0)?;
    if tag != 0xE0 || !constructed {
        return Err(Error::UnexpectedTag {
            expected: 0xE0,
            found: tag,
        });
    }
    let (len, mut pos) = tlv::scan_len(b, p)?;
    let end = pos + len;
    let mut out = Vec::new();
    while pos < end {
        let (tag, _, p) = tlv::read_tag(b, pos)?;
        let (len, p) = tlv::scan_len(b, p)?;
        out.push((tag, b.get(p..p + len).ok_or(Error::Truncated)?));
        pos = p + len;
    }
    Ok(out)
}

/// The value of the first child with `tag`.
fn field<'a>(fields: &[(u32, &'a [u8])], tag: u32) -> Result<&'a [u8]> {
    fields
        .iter()
        .find(|(t, _)| *t == tag)
        .map(|(_, v)| *v)
        .ok_or(Error::MissingTag(tag))
}

fn text(fields: &[(u32, &[u8])], tag: u32, max: usize) -> Result<String> {
    let v = field(fields, tag)?;
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

fn key16(fields: &[(u32, &[u8])], tag: u32) -> Result<Zeroizing<[u8; 16]>> {
    let v = field(fields, tag)?;
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
    /// Encodes the profile into one buffer, zeroized on drop, whose room is reserved
    /// first so that growing it leaves no copy of Ki or OPc behind. The bytes are the
    /// DER of `E0 { 5A, 81, ..., 86 }` (shortest lengths, as [`tlv::encode`] writes).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let values: [&[u8]; 7] = [
            &self.iccid.0,
            self.imsi.as_bytes(),
            self.msisdn.as_bytes(),
            &self.ki[..],
            &self.opc[..],
            self.service_provider.as_bytes(),
            self.profile_name.as_bytes(),
        ];
        let mut body_len = 0;
        for v in values {
            let mut len = Vec::new();
            tlv::push_len(v.len(), &mut len);
            body_len += 1 + len.len() + v.len();
        }
        // Outer tag and at most 4 length bytes.
        let mut out = Zeroizing::new(Vec::with_capacity(5 + body_len));
        out.push(0xE0);
        tlv::push_len(body_len, &mut out);
        for (tag, v) in TAGS.into_iter().zip(values) {
            out.push(tag);
            tlv::push_len(v.len(), &mut out);
            out.extend_from_slice(v);
        }
        out
    }

    /// Decodes and validates a profile, reading Ki and OPc in place into wiped arrays.
    pub fn decode(b: &[u8]) -> Result<OperatorProfile> {
        let f = fields(b)?;
        let imsi = text(&f, 0x81, 15)?;
        if imsi.len() < 6 || !imsi.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Error::InvalidValue {
                tag: 0x81,
                reason: "an IMSI has 6 to 15 digits",
            });
        }
        Ok(OperatorProfile {
            iccid: Iccid::from_bytes(field(&f, 0x5A)?)?,
            imsi,
            msisdn: text(&f, 0x82, 64)?,
            ki: key16(&f, 0x83)?,
            opc: key16(&f, 0x84)?,
            service_provider: text(&f, 0x85, 32)?,
            profile_name: text(&f, 0x86, 64)?,
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

    /// The bytes are the TLV encoder's (the DER the card has always decoded), also with
    /// a field longer than 127 bytes; what the TLV parser refused is still refused.
    #[test]
    fn bytes_match_the_tlv_encoder_and_malformed_input_is_refused() {
        use tlv::{cons, prim};
        let mut p = OperatorProfile {
            iccid: Iccid::from_digits("89860000000000000018").unwrap(),
            imsi: "460001234567890".into(),
            msisdn: "+8613800000001".into(),
            ki: Zeroizing::new([0x11; 16]),
            opc: Zeroizing::new([0x22; 16]),
            service_provider: "Example Mobile".into(),
            profile_name: "Example 5G".into(),
        };
        for name_len in [10, 200] {
            p.profile_name = "n".repeat(name_len);
            let tree = cons::<0xE0>(vec![
                prim::<0x5A>(p.iccid.0.to_vec()),
                prim::<0x81>(p.imsi.as_bytes().to_vec()),
                prim::<0x82>(p.msisdn.as_bytes().to_vec()),
                prim::<0x83>(p.ki.to_vec()),
                prim::<0x84>(p.opc.to_vec()),
                prim::<0x85>(p.service_provider.as_bytes().to_vec()),
                prim::<0x86>(p.profile_name.as_bytes().to_vec()),
            ]);
            let b = p.encode();
            assert_eq!(*b, tlv::encode(&tree), "name of {name_len} bytes");
        }
        p.profile_name = "Example 5G".into();
        let good = p.encode();
        assert!(
            OperatorProfile::decode(&good[..good.len() - 1]).is_err(),
            "cut short"
        );
        let mut two = good.to_vec();
        two.extend_from_slice(&good);
        assert!(OperatorProfile::decode(&two).is_err(), "two objects");
        let mut other = good.to_vec();
        other[0] = 0xE1;
        assert!(matches!(
            OperatorProfile::decode(&other),
            Err(Error::UnexpectedTag { .. })
        ));
        let without_ki: Vec<u8> = {
            let mut v = vec![0xE0, 0x00];
            let f = fields(&good).unwrap();
            for (tag, value) in f.iter().filter(|(t, _)| *t != 0x83) {
                v.push(*tag as u8);
                tlv::push_len(value.len(), &mut v);
                v.extend_from_slice(value);
            }
            v[1] = (v.len() - 2) as u8;
            v
        };
        assert!(matches!(
            OperatorProfile::decode(&without_ki),
            Err(Error::MissingTag(0x83))
        ));
        assert!(OperatorProfile::decode(&[]).is_err());
    }
}
