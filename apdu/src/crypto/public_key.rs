//! Public keys on the wire and in the SM store (device-change.md A.5: the card sends pub2,
//! the SM records it; C.4: the SM replaces it), and their fingerprint for display.
//!
//! Encoding: DER SubjectPublicKeyInfo (RFC 5280, rsaEncryption), at most
//! [`MAX_PUBLIC_KEY_DER_LEN`] bytes; decoding accepts only 2048-bit moduli with e = 65537.
//! The fingerprint is SHA-256 of that DER.

use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

use super::error::{CryptoError, Result};

/// Modulus size of every key of the method.
pub const MODULUS_BITS: u32 = 2048;
/// Public exponent of every key of the method.
pub const PUBLIC_EXPONENT: u32 = 65537;

/// Largest DER accepted (a 2048-bit SubjectPublicKeyInfo is 294 bytes).
pub const MAX_PUBLIC_KEY_DER_LEN: usize = 512;

/// An RSA-2048 public key with e = 65537. Serializes as hex of its DER.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct PublicKey(rsa::PublicKey);

/// SHA-256 of a public key's DER; Display is lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl PublicKey {
    /// Wraps a key this module already checked or derived.
    pub(crate) fn from_rsa_unchecked(key: rsa::PublicKey) -> PublicKey {
        PublicKey(key)
    }

    pub(crate) fn rsa(&self) -> &rsa::PublicKey {
        &self.0
    }

    /// DER SubjectPublicKeyInfo.
    pub fn to_der(&self) -> Vec<u8> {
        match self.0.to_public_key_der() {
            Ok(doc) => doc.into_vec(),
            // Encoding a valid 2048-bit key into DER cannot fail; an empty answer would
            // be refused by every decoder.
            Err(_) => Vec::new(),
        }
    }

    /// Reads DER SubjectPublicKeyInfo, checking size, modulus (2048 bits) and exponent.
    pub fn from_der(der: &[u8]) -> Result<PublicKey> {
        if der.len() > MAX_PUBLIC_KEY_DER_LEN {
            return Err(CryptoError::PublicKey("too large"));
        }
        let key = rsa::PublicKey::from_public_key_der(der)
            .map_err(|_| CryptoError::PublicKey("not an RSA SubjectPublicKeyInfo"))?;
        check_modulus(&key)?;
        Ok(PublicKey(key))
    }

    /// SHA-256 of [`Self::to_der`].
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(Sha256::digest(self.to_der()).into())
    }
}

/// The invariant of every key of the method: 2048-bit modulus, e = 65537.
pub(crate) fn check_modulus(key: &rsa::PublicKey) -> Result<()> {
    if key.n().bit_width_vartime() != MODULUS_BITS {
        return Err(CryptoError::PublicKey("modulus is not 2048 bits"));
    }
    let e = key.e_bytes();
    let first = e.iter().position(|b| *b != 0).unwrap_or(e.len());
    if e[first..] != PUBLIC_EXPONENT.to_be_bytes()[1..] {
        return Err(CryptoError::PublicKey("public exponent is not 65537"));
    }
    Ok(())
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(RSA-2048, sha256 {})", self.fingerprint())
    }
}

impl From<PublicKey> for String {
    fn from(k: PublicKey) -> String {
        hex::encode(k.to_der())
    }
}

impl TryFrom<String> for PublicKey {
    type Error = CryptoError;
    fn try_from(s: String) -> Result<PublicKey> {
        if s.len() > 2 * MAX_PUBLIC_KEY_DER_LEN {
            return Err(CryptoError::PublicKey("too large"));
        }
        let der = hex::decode(s).map_err(|_| CryptoError::PublicKey("not hex"))?;
        PublicKey::from_der(&der)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{PrivateKey, Seed};
    use rand_core::SeedableRng;

    #[test]
    fn der_round_trip_fingerprint_and_caps() {
        let k = PrivateKey::derive(&Seed::from_bytes([5; 32]))
            .unwrap()
            .public_key();
        let der = k.to_der();
        assert_eq!(der.len(), 294);
        let back = PublicKey::from_der(&der).unwrap();
        assert_eq!(back, k);
        assert_eq!(back.fingerprint(), k.fingerprint());
        assert_eq!(k.fingerprint().to_string().len(), 64);
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), k);

        assert!(PublicKey::from_der(&[]).is_err());
        assert!(PublicKey::from_der(&der[..200]).is_err());
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(PublicKey::from_der(&trailing).is_err());
        assert!(PublicKey::from_der(&vec![0x30; 600]).is_err());
        for i in 0..der.len() {
            let mut bad = der.clone();
            bad[i] ^= 0xFF;
            // Never panics; a flipped modulus byte may still decode, into another key.
            if let Ok(other) = PublicKey::from_der(&bad) {
                assert_ne!(other, k);
            }
        }
    }

    #[test]
    fn other_sizes_and_exponents_are_refused() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([9; 32]);
        let k1024 = rsa::PrivateKey::new(&mut rng, 1024).unwrap();
        let der = k1024.to_public_key().to_public_key_der().unwrap();
        assert!(PublicKey::from_der(der.as_bytes()).is_err());
        let k3 = rsa::PrivateKey::new_with_exp(&mut rng, 2048, rsa::BoxedUint::from(3u64)).unwrap();
        let der = k3.to_public_key().to_public_key_der().unwrap();
        assert_eq!(
            PublicKey::from_der(der.as_bytes()),
            Err(CryptoError::PublicKey("public exponent is not 65537"))
        );
    }
}
