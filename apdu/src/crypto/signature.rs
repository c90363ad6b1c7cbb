//! The signed authentication message and its signatures (device-change.md B.5-B.6,
//! C.2-C.3, and "No replay"; issue 3, Security behaviour).
//!
//! Message bytes ([`SignedMessage::to_bytes`]), every variable field length-prefixed so
//! no field can be shifted into another:
//!
//! ```text
//! LABEL ("vEUICC device-change v2\0", 24 bytes)
//! purpose         1 byte   (01 device change, 02 key change, 03 identity proof, 04 new key,
//!                           05 install result, 06 removal result)
//! len(challenge)  1 byte   challenge  16..=64 bytes (fresh from the SM)
//! len(op_id)      1 byte   op_id      1..=64 bytes of UTF-8
//! eid             16 bytes (the requesting card's EID)
//! len(imei)       1 byte   imei       1..=32 bytes of UTF-8
//! len(bound)      1 byte   bound      0..=128 bytes: what else the signature vouches for
//! ```
//!
//! `bound` (issue 10, finding 3) carries the values a relay must not swap: in BF67 the
//! SHA-256 of the new public key, the salt and the KDF parameters ([`key_binding`]); in
//! BF68 the salt and KDF parameters the SM sent ([`kdf_binding`]); in a signed BF69/BF6B
//! result the result code and the ICCID ([`result_binding`]).
//!
//! Signature: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2), deterministic, so recorded
//! sessions replay byte for byte.

use rand_core::TryCryptoRng;
use rsa::sha2::Sha256;

use super::error::{CryptoError, Result};
use super::keygen::PrivateKey;
use super::public_key::PublicKey;
use super::push_len8;
use crate::Eid;

/// Domain-separation label at the start of every signed message.
pub const LABEL: &[u8] = b"vEUICC device-change v2\0";
/// Length of the challenges [`new_challenge`] makes.
pub const CHALLENGE_LEN: usize = 32;
/// Shortest challenge accepted.
pub const MIN_CHALLENGE_LEN: usize = 16;
/// Longest challenge accepted.
pub const MAX_CHALLENGE_LEN: usize = 64;
/// Longest OP ID accepted (bytes).
pub const MAX_OP_ID_LEN: usize = 64;
/// Longest IMEI accepted (bytes).
pub const MAX_IMEI_LEN: usize = 32;
/// Length of an RSA-2048 signature.
pub const SIGNATURE_LEN: usize = 256;
/// Longest `bound` field.
pub const MAX_BOUND_LEN: usize = 128;

/// What a signature is for; part of the signed bytes, so one purpose's signature is
/// worthless for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Flow B: proof of the parameter for a device change.
    DeviceChange,
    /// Flow C: proof of the current parameter before the public key is replaced.
    KeyChange,
    /// The card's identity key proving it is the recorded device.
    IdentityProof,
    /// Flows A and C.4: proof that the card holds the private half of a newly derived
    /// key before the SM stores its public half.
    NewKey,
    /// The card's identity key vouching for the result of a BF69 (issue 10, finding 9).
    InstallResult,
    /// The card's identity key vouching for the result of a BF6B.
    RemovalResult,
}

impl Purpose {
    /// The byte in the message.
    pub fn byte(self) -> u8 {
        match self {
            Purpose::DeviceChange => 0x01,
            Purpose::KeyChange => 0x02,
            Purpose::IdentityProof => 0x03,
            Purpose::NewKey => 0x04,
            Purpose::InstallResult => 0x05,
            Purpose::RemovalResult => 0x06,
        }
    }

    /// The purpose for a byte.
    pub fn from_byte(b: u8) -> Result<Purpose> {
        match b {
            0x01 => Ok(Purpose::DeviceChange),
            0x02 => Ok(Purpose::KeyChange),
            0x03 => Ok(Purpose::IdentityProof),
            0x04 => Ok(Purpose::NewKey),
            0x05 => Ok(Purpose::InstallResult),
            0x06 => Ok(Purpose::RemovalResult),
            _ => Err(CryptoError::Message("unknown purpose")),
        }
    }
}

/// The context a signature covers. Built only through [`SignedMessage::new`], which
/// checks every length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMessage<'a> {
    purpose: Purpose,
    challenge: &'a [u8],
    op_id: &'a str,
    eid: Eid,
    imei: &'a str,
    bound: &'a [u8],
}

impl<'a> SignedMessage<'a> {
    /// Checks the field lengths (module docs).
    pub fn new(
        purpose: Purpose,
        challenge: &'a [u8],
        op_id: &'a str,
        eid: Eid,
        imei: &'a str,
    ) -> Result<SignedMessage<'a>> {
        if !(MIN_CHALLENGE_LEN..=MAX_CHALLENGE_LEN).contains(&challenge.len()) {
            return Err(CryptoError::Message("challenge must have 16 to 64 bytes"));
        }
        if op_id.is_empty() || op_id.len() > MAX_OP_ID_LEN {
            return Err(CryptoError::Message("OP ID must have 1 to 64 bytes"));
        }
        if imei.is_empty() || imei.len() > MAX_IMEI_LEN {
            return Err(CryptoError::Message("IMEI must have 1 to 32 bytes"));
        }
        Ok(SignedMessage {
            purpose,
            challenge,
            op_id,
            eid,
            imei,
            bound: &[],
        })
    }

    /// The same message also vouching for `bound` (module docs), at most
    /// [`MAX_BOUND_LEN`] bytes.
    pub fn bound(self, bound: &'a [u8]) -> Result<SignedMessage<'a>> {
        if bound.len() > MAX_BOUND_LEN {
            return Err(CryptoError::Message(
                "bound data must have at most 128 bytes",
            ));
        }
        Ok(SignedMessage { bound, ..self })
    }

    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// The bytes that are hashed and signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(LABEL.len() + 5 + 16 + 64 + 64 + 32 + self.bound.len());
        out.extend_from_slice(LABEL);
        out.push(self.purpose.byte());
        // Lengths were checked in `new`, so these pushes cannot fail.
        let _ = push_len8(&mut out, self.challenge);
        let _ = push_len8(&mut out, self.op_id.as_bytes());
        out.extend_from_slice(&self.eid.0);
        let _ = push_len8(&mut out, self.imei.as_bytes());
        let _ = push_len8(&mut out, self.bound);
        out
    }
}

/// BF67's bound data: SHA-256 of the new public key (DER), the salt, the KDF parameters.
pub fn key_binding(public_key_der: &[u8], salt: &[u8], kdf: &[u8]) -> Vec<u8> {
    use rsa::sha2::Digest;
    let mut out = Sha256::digest(public_key_der).to_vec();
    out.extend_from_slice(salt);
    out.extend_from_slice(kdf);
    out
}

/// BF68's bound data: the salt and the KDF parameters.
pub fn kdf_binding(salt: &[u8], kdf: &[u8]) -> Vec<u8> {
    [salt, kdf].concat()
}

/// The identity-only BF68's bound data: its [`kdf_binding`] and SHA-256 of the identity
/// encryption key (DER) the SM is to seal to.
pub fn encryption_key_binding(kdf_binding: &[u8], encryption_key_der: &[u8]) -> Vec<u8> {
    use rsa::sha2::Digest;
    let mut out = kdf_binding.to_vec();
    out.extend_from_slice(&Sha256::digest(encryption_key_der));
    out
}

/// A signed result's bound data: the result code and the ICCID (10 bytes) when there is one.
pub fn result_binding(code: u8, iccid: Option<&[u8; 10]>) -> Vec<u8> {
    let mut out = vec![code];
    if let Some(i) = iccid {
        out.extend_from_slice(i);
    }
    out
}

/// A fresh SM challenge of [`CHALLENGE_LEN`] bytes.
pub fn new_challenge<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<[u8; CHALLENGE_LEN]> {
    super::random_array(rng)
}

/// RSASSA-PKCS1-v1_5 / SHA-256 over [`SignedMessage::to_bytes`]; [`SIGNATURE_LEN`] bytes.
/// The private operation is blinded with the OS RNG.
pub fn sign(key: &PrivateKey, msg: &SignedMessage<'_>) -> Result<Vec<u8>> {
    key.rsa()
        .pkcs1v15_sign::<Sha256>(&msg.to_bytes())
        .map_err(|_| CryptoError::Sign)
}

/// Checks a signature made by [`sign`]; any mismatch is [`CryptoError::BadSignature`].
pub fn verify(key: &PublicKey, msg: &SignedMessage<'_>, signature: &[u8]) -> Result<()> {
    if signature.len() != SIGNATURE_LEN {
        return Err(CryptoError::BadSignature);
    }
    key.rsa()
        .pkcs1v15_verify::<Sha256>(&msg.to_bytes(), signature)
        .map_err(|_| CryptoError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{key_pair_from_parameter, KdfParams, Parameter, Salt, Seed};

    const CH: [u8; 32] = [0x11; 32];

    fn msg<'a>(
        p: Purpose,
        ch: &'a [u8],
        op: &'a str,
        eid: Eid,
        imei: &'a str,
    ) -> SignedMessage<'a> {
        SignedMessage::new(p, ch, op, eid, imei).unwrap()
    }

    #[test]
    fn signature_binds_every_field() {
        let key = PrivateKey::derive(&Seed::from_bytes([4; 32])).unwrap();
        let pk = key.public_key();
        let eid = Eid::test_eid(1);
        let good = msg(
            Purpose::DeviceChange,
            &CH,
            "+8613800000000",
            eid,
            "356938035643809",
        );
        let sig = sign(&key, &good).unwrap();
        assert_eq!(sig.len(), SIGNATURE_LEN);
        assert_eq!(sig, sign(&key, &good).unwrap(), "deterministic");
        verify(&pk, &good, &sig).unwrap();

        let other_ch = [0x12; 32];
        let others = [
            msg(
                Purpose::KeyChange,
                &CH,
                "+8613800000000",
                eid,
                "356938035643809",
            ),
            msg(
                Purpose::IdentityProof,
                &CH,
                "+8613800000000",
                eid,
                "356938035643809",
            ),
            msg(
                Purpose::DeviceChange,
                &other_ch,
                "+8613800000000",
                eid,
                "356938035643809",
            ),
            msg(
                Purpose::DeviceChange,
                &CH[..16],
                "+8613800000000",
                eid,
                "356938035643809",
            ),
            msg(
                Purpose::DeviceChange,
                &CH,
                "+8613800000001",
                eid,
                "356938035643809",
            ),
            msg(
                Purpose::DeviceChange,
                &CH,
                "+8613800000000",
                Eid::test_eid(2),
                "356938035643809",
            ),
            msg(
                Purpose::DeviceChange,
                &CH,
                "+8613800000000",
                eid,
                "356938035643808",
            ),
        ];
        let bound_other = good.clone().bound(b"salt").unwrap();
        assert_eq!(
            verify(&pk, &bound_other, &sig),
            Err(CryptoError::BadSignature)
        );
        assert!(good.clone().bound(&[0; 129]).is_err());
        for o in &others {
            assert_eq!(
                verify(&pk, o, &sig),
                Err(CryptoError::BadSignature),
                "{o:?}"
            );
        }
        let mut bad = sig.clone();
        bad[100] ^= 1;
        assert!(verify(&pk, &good, &bad).is_err());
        assert!(verify(&pk, &good, &sig[..255]).is_err());
        assert!(verify(&pk, &good, &[]).is_err());
    }

    #[test]
    fn fields_cannot_shift() {
        // Moving a byte from the OP ID into the IMEI changes the encoding.
        let eid = Eid::test_eid(1);
        let a = msg(Purpose::KeyChange, &CH, "+861", eid, "23");
        let b = msg(Purpose::KeyChange, &CH, "+86", eid, "123");
        assert_ne!(a.to_bytes(), b.to_bytes());
        assert!(a.to_bytes().starts_with(LABEL));
    }

    #[test]
    fn wrong_parameter_fails_verification() {
        let salt = Salt([0x5A; 16]);
        let p = |s: &str| Parameter::new(s.to_owned()).unwrap();
        let stored = key_pair_from_parameter(&p("123456"), &salt, &KdfParams::TEST).unwrap();
        let wrong = key_pair_from_parameter(&p("654321"), &salt, &KdfParams::TEST).unwrap();
        let m = msg(
            Purpose::DeviceChange,
            &CH,
            "+8613800000000",
            Eid::test_eid(3),
            "1",
        );
        let sig = sign(&wrong, &m).unwrap();
        assert_eq!(
            verify(&stored.public_key(), &m, &sig),
            Err(CryptoError::BadSignature)
        );
        let right = key_pair_from_parameter(&p("123456"), &salt, &KdfParams::TEST).unwrap();
        verify(&stored.public_key(), &m, &sign(&right, &m).unwrap()).unwrap();
    }

    #[test]
    fn lengths_are_checked() {
        let eid = Eid::test_eid(1);
        assert!(SignedMessage::new(Purpose::KeyChange, &[0; 15], "x", eid, "1").is_err());
        assert!(SignedMessage::new(Purpose::KeyChange, &[0; 65], "x", eid, "1").is_err());
        assert!(SignedMessage::new(Purpose::KeyChange, &CH, "", eid, "1").is_err());
        assert!(SignedMessage::new(Purpose::KeyChange, &CH, &"x".repeat(65), eid, "1").is_err());
        assert!(SignedMessage::new(Purpose::KeyChange, &CH, "x", eid, "").is_err());
        assert!(SignedMessage::new(Purpose::KeyChange, &CH, "x", eid, &"1".repeat(33)).is_err());
        assert!(Purpose::from_byte(0).is_err());
        for p in [
            Purpose::DeviceChange,
            Purpose::KeyChange,
            Purpose::IdentityProof,
            Purpose::NewKey,
            Purpose::InstallResult,
            Purpose::RemovalResult,
        ] {
            assert_eq!(Purpose::from_byte(p.byte()).unwrap(), p);
        }
    }
}
