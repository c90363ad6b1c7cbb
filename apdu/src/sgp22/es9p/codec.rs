//! Field codecs of the ES9+ JSON binding (SGP.22 v2.x §6.5.1): binary fields as base64
//! (RFC 4648 §4, standard alphabet, with padding, as lpac and osmo-smdpp write them) and
//! the transactionId as a hex string (§6.5.2: `^[0-9A-F]{2,32}$`, 1 to 16 bytes).
//!
//! Every decoder checks the encoded length against its cap before it decodes anything,
//! so an oversized field costs no allocation beyond the (already capped) request body.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use std::borrow::Cow;

/// Largest decoded size of an ordinary binary field (certificates, signed data,
/// signatures, euiccInfo1, a notification, an eUICC answer): a few KiB in practice.
pub const MAX_FIELD: usize = 16 * 1024;

/// Largest decoded bound profile package (getBoundProfilePackage's answer). Large test
/// profiles (TS.48 with applets) stay well below 1 MiB; the HTTP client caps the whole
/// response body at 4 MiB of base64.
pub const MAX_BPP: usize = 3 * 1024 * 1024;

/// The encoded length of `n` bytes in padded base64.
fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Decodes padded standard base64 of at most `max` decoded bytes.
pub fn decode_base64(s: &str, max: usize) -> Result<Vec<u8>, String> {
    if s.len() > encoded_len(max) {
        return Err(format!(
            "{} base64 characters, more than the {max} bytes allowed",
            s.len()
        ));
    }
    let out = STANDARD
        .decode(s)
        .map_err(|e| format!("not base64 (standard alphabet, padded): {e}"))?;
    if out.len() > max {
        return Err(format!("{} bytes, more than {max}", out.len()));
    }
    Ok(out)
}

/// Encodes bytes as padded standard base64.
pub fn encode_base64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

fn de_capped<'de, D: Deserializer<'de>>(d: D, max: usize) -> Result<Vec<u8>, D::Error> {
    let s = Cow::<str>::deserialize(d)?;
    decode_base64(&s, max).map_err(D::Error::custom)
}

/// `#[serde(with = "field")]`: a base64 field of at most [`MAX_FIELD`] bytes.
pub mod field {
    use super::*;
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode_base64(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        de_capped(d, MAX_FIELD)
    }
}

/// `#[serde(with = "bpp")]`: the bound profile package, at most [`MAX_BPP`] bytes.
pub mod bpp {
    use super::*;
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode_base64(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        de_capped(d, MAX_BPP)
    }
}

/// `#[serde(with = "challenge")]`: euiccChallenge, exactly 16 bytes (SGP.22 §5.6.1).
pub mod challenge {
    use super::*;
    pub fn serialize<S: Serializer>(b: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode_base64(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 16], D::Error> {
        let v = de_capped(d, 16)?;
        v.as_slice()
            .try_into()
            .map_err(|_| D::Error::custom(format!("euiccChallenge: {} bytes, not 16", v.len())))
    }
}

/// `TransactionId ::= OCTET STRING (SIZE(1..16))` (SGP.22 §2.5.6 / ASN.1), carried in
/// ES9+ as upper-case hex (§6.5.2); lower case is accepted on input.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransactionId(Vec<u8>);

impl TransactionId {
    /// A transactionId of 1 to 16 bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, String> {
        if bytes.is_empty() || bytes.len() > 16 {
            return Err(format!(
                "a transactionId has 1 to 16 bytes, not {}",
                bytes.len()
            ));
        }
        Ok(TransactionId(bytes.to_vec()))
    }

    /// From its hex form (2 to 32 hex digits, even count).
    pub fn from_hex(s: &str) -> Result<Self, String> {
        if s.len() > 32 {
            return Err(format!(
                "transactionId: {} hex digits, more than 32",
                s.len()
            ));
        }
        let b = hex::decode(s).map_err(|e| format!("transactionId is not hex: {e}"))?;
        Self::new(&b)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Upper-case hex, as sent.
    pub fn to_hex(&self) -> String {
        hex::encode_upper(&self.0)
    }
}

impl std::fmt::Display for TransactionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl serde::Serialize for TransactionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for TransactionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        TransactionId::from_hex(&s).map_err(D::Error::custom)
    }
}
