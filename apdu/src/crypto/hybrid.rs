//! Hybrid encryption of the operator profile (device-change.md A.6, B.8 "encrypted with
//! pub2", and "Hybrid encryption"; issue 3, Cryptography).
//!
//! [`seal`]: a fresh AES-256 key is wrapped with RSA-OAEP (SHA-256 for hash and MGF1,
//! empty label) under the stored public key; the plaintext is sealed with AES-256-GCM under
//! a random 12-byte nonce, the AAD ([`profile_aad`]) binding the OP ID, the EID of the
//! card it is meant for and the card's one-time challenge of the BF69 it travels in
//! (issue 10, finding 2: a box opens in that one session only).
//!
//! [`SealedBox::to_bytes`] layout:
//!
//! ```text
//! version (01) | len(wrapped_key) u16 BE (= 256) | wrapped_key | nonce (12) | ciphertext || tag (16)
//! ```
//!
//! at most [`MAX_SEALED_LEN`] bytes in all.

use aes_gcm::aead::{Aead, AeadInOut, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand_core::TryCryptoRng;
use rsa::sha2::Sha256;
use zeroize::Zeroizing;

use super::error::{CryptoError, Result};
use super::keygen::PrivateKey;
use super::public_key::PublicKey;
use super::push_len8;
use super::signature::{MAX_OP_ID_LEN, SIGNATURE_LEN};
use crate::Eid;

/// Version byte of the sealed-box encoding.
pub const SEALED_BOX_VERSION: u8 = 0x01;
/// Length of the RSA-OAEP wrapped key (one RSA-2048 block).
pub const WRAPPED_KEY_LEN: usize = SIGNATURE_LEN;
/// Length of the AES-GCM nonce.
pub const NONCE_LEN: usize = 12;
/// Length of the AES-GCM tag.
pub const TAG_LEN: usize = 16;
/// Largest profile plaintext [`seal`] accepts.
pub const MAX_PLAINTEXT_LEN: usize = 256 * 1024;
/// Largest encoded sealed box accepted.
pub const MAX_SEALED_LEN: usize = 1 + 2 + WRAPPED_KEY_LEN + NONCE_LEN + MAX_PLAINTEXT_LEN + TAG_LEN;
/// Label at the start of [`profile_aad`].
pub const AAD_LABEL: &[u8] = b"vEUICC operator profile v2\0";

/// An encrypted operator profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBox {
    /// RSA-OAEP(SHA-256) of the AES-256 content key.
    pub wrapped_key: Vec<u8>,
    /// AES-GCM nonce.
    pub nonce: [u8; NONCE_LEN],
    /// AES-256-GCM ciphertext followed by its 16-byte tag.
    pub ciphertext: Vec<u8>,
}

/// The AAD of a profile meant for the card `eid` under subscription `op_id`, in the
/// BF69 that answers the card's challenge `card_challenge` (BF6D):
/// `AAD_LABEL | len(op_id) u8 | op_id | eid (16) | card_challenge (16)`.
pub fn profile_aad(op_id: &str, eid: &Eid, card_challenge: &[u8; 16]) -> Result<Vec<u8>> {
    if op_id.is_empty() || op_id.len() > MAX_OP_ID_LEN {
        return Err(CryptoError::Message("OP ID must have 1 to 64 bytes"));
    }
    let mut out = Vec::with_capacity(AAD_LABEL.len() + 1 + op_id.len() + 32);
    out.extend_from_slice(AAD_LABEL);
    push_len8(&mut out, op_id.as_bytes())?;
    out.extend_from_slice(&eid.0);
    out.extend_from_slice(card_challenge);
    Ok(out)
}

/// Encrypts `plaintext` (at most [`MAX_PLAINTEXT_LEN`] bytes) for the holder of `key`'s
/// private half, authenticating `aad`. `rng` (e.g. `&mut SysRng`) supplies key and nonce.
pub fn seal<R: TryCryptoRng + ?Sized>(
    key: &PublicKey,
    plaintext: &[u8],
    aad: &[u8],
    rng: &mut R,
) -> Result<SealedBox> {
    if plaintext.len() > MAX_PLAINTEXT_LEN {
        return Err(CryptoError::Seal("plaintext too large"));
    }
    let content_key: Zeroizing<[u8; 32]> = Zeroizing::new(super::random_array(rng)?);
    let nonce: [u8; NONCE_LEN] = super::random_array(rng)?;
    let wrapped_key = key
        .rsa()
        .oaep_encrypt_with_rng::<Sha256, R>(rng, content_key.as_slice())
        .map_err(|_| CryptoError::Seal("RSA-OAEP failed"))?;
    let cipher = Aes256Gcm::new_from_slice(content_key.as_slice())
        .map_err(|_| CryptoError::Seal("AES key"))?;
    let ciphertext = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError::Seal("AES-GCM failed"))?;
    Ok(SealedBox {
        wrapped_key,
        nonce,
        ciphertext,
    })
}

/// Decrypts a [`SealedBox`] with the private key, checking `aad`. Every failure is the
/// same [`CryptoError::Open`]. The plaintext is zeroized when dropped.
pub fn open(key: &PrivateKey, sealed: &SealedBox, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    if sealed.wrapped_key.len() != WRAPPED_KEY_LEN || sealed.ciphertext.len() < TAG_LEN {
        return Err(CryptoError::Open);
    }
    let content_key = Zeroizing::new(
        key.rsa()
            .oaep_decrypt::<Sha256>(&sealed.wrapped_key)
            .map_err(|_| CryptoError::Open)?,
    );
    let cipher = Aes256Gcm::new_from_slice(&content_key).map_err(|_| CryptoError::Open)?;
    let mut buf = Zeroizing::new(sealed.ciphertext.clone());
    cipher
        .decrypt_in_place(&Nonce::from(sealed.nonce), aad, &mut *buf)
        .map_err(|_| CryptoError::Open)?;
    Ok(buf)
}

impl SealedBox {
    /// The wire bytes (module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(3 + self.wrapped_key.len() + NONCE_LEN + self.ciphertext.len());
        out.push(SEALED_BOX_VERSION);
        // A wrapped key longer than u16 cannot come from `seal` or `from_bytes`.
        let len = u16::try_from(self.wrapped_key.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.wrapped_key);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Reads the wire bytes, checking version, lengths and the [`MAX_SEALED_LEN`] cap.
    pub fn from_bytes(bytes: &[u8]) -> Result<SealedBox> {
        if bytes.len() > MAX_SEALED_LEN {
            return Err(CryptoError::SealedBox("too large"));
        }
        let (&version, rest) = bytes.split_first().ok_or(CryptoError::SealedBox("empty"))?;
        if version != SEALED_BOX_VERSION {
            return Err(CryptoError::SealedBox("unknown version"));
        }
        let (len, rest) = rest
            .split_first_chunk::<2>()
            .ok_or(CryptoError::SealedBox("truncated"))?;
        if usize::from(u16::from_be_bytes(*len)) != WRAPPED_KEY_LEN {
            return Err(CryptoError::SealedBox("wrapped key must have 256 bytes"));
        }
        let (wrapped_key, rest) = rest
            .split_at_checked(WRAPPED_KEY_LEN)
            .ok_or(CryptoError::SealedBox("truncated"))?;
        let (nonce, ciphertext) = rest
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(CryptoError::SealedBox("truncated"))?;
        if ciphertext.len() < TAG_LEN {
            return Err(CryptoError::SealedBox("truncated"));
        }
        Ok(SealedBox {
            wrapped_key: wrapped_key.to_vec(),
            nonce: *nonce,
            ciphertext: ciphertext.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Seed, SysRng};

    fn key(b: u8) -> PrivateKey {
        PrivateKey::derive(&Seed::from_bytes([b; 32])).unwrap()
    }

    #[test]
    fn round_trip_and_every_tamper_fails() {
        let k = key(6);
        let eid = Eid::test_eid(7);
        let aad = profile_aad("+8613800000000", &eid, &[3; 16]).unwrap();
        let profile = b"ICCID=8986...;IMSI=460001234567890;Ki=...".repeat(20);
        let sealed = seal(&k.public_key(), &profile, &aad, &mut SysRng).unwrap();
        assert_eq!(sealed.wrapped_key.len(), WRAPPED_KEY_LEN);
        let bytes = sealed.to_bytes();
        let back = SealedBox::from_bytes(&bytes).unwrap();
        assert_eq!(back, sealed);
        assert_eq!(
            open(&k, &back, &aad).unwrap().as_slice(),
            profile.as_slice()
        );

        // Another card, another OP ID, another key: refused.
        let aad_eid = profile_aad("+8613800000000", &Eid::test_eid(8), &[3; 16]).unwrap();
        assert_eq!(open(&k, &sealed, &aad_eid), Err(CryptoError::Open));
        let aad_op = profile_aad("+8613800000001", &eid, &[3; 16]).unwrap();
        assert_eq!(open(&k, &sealed, &aad_op), Err(CryptoError::Open));
        // Another BF69 (another card challenge): refused (issue 10, finding 2).
        let aad_ch = profile_aad("+8613800000000", &eid, &[4; 16]).unwrap();
        assert_eq!(open(&k, &sealed, &aad_ch), Err(CryptoError::Open));
        assert_eq!(open(&key(9), &sealed, &aad), Err(CryptoError::Open));

        // Flip one bit anywhere in the encoding: never opens.
        for i in (0..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            if let Ok(sb) = SealedBox::from_bytes(&bad) {
                assert!(open(&k, &sb, &aad).is_err(), "byte {i}");
            }
        }
    }

    #[test]
    fn malformed_bytes_are_errors() {
        let k = key(6);
        let sealed = seal(&k.public_key(), b"", b"", &mut SysRng).unwrap();
        let bytes = sealed.to_bytes();
        assert_eq!(bytes.len(), 1 + 2 + 256 + 12 + 16);
        assert_eq!(
            open(&k, &SealedBox::from_bytes(&bytes).unwrap(), b"")
                .unwrap()
                .len(),
            0
        );
        for n in 0..bytes.len() {
            assert!(SealedBox::from_bytes(&bytes[..n]).is_err(), "prefix {n}");
        }
        let mut v2 = bytes.clone();
        v2[0] = 2;
        assert!(SealedBox::from_bytes(&v2).is_err());
        let mut len = bytes.clone();
        len[2] = 0xFF;
        assert!(SealedBox::from_bytes(&len).is_err());
        assert!(SealedBox::from_bytes(&vec![1; MAX_SEALED_LEN + 1]).is_err());
        let short = SealedBox {
            wrapped_key: vec![0; 10],
            nonce: [0; 12],
            ciphertext: vec![],
        };
        assert_eq!(open(&k, &short, b""), Err(CryptoError::Open));
        assert!(seal(
            &k.public_key(),
            &vec![0; MAX_PLAINTEXT_LEN + 1],
            b"",
            &mut SysRng
        )
        .is_err());
        assert!(profile_aad("", &Eid::test_eid(1), &[0; 16]).is_err());
    }
}
