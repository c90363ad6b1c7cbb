//! The cryptography both sides of the device-change method share (device-change.md,
//! "What the text leaves open, and what we require instead"; issue 3, Cryptography).
//!
//! The key chain of flows A, B and C:
//!
//! ```text
//! parameter (the user's PIN) ─┐
//! salt (16 bytes, per record) ├─ Argon2id ──> 32-byte seed ──> ChaCha20Rng ──> RSA-2048 key pair
//! KdfParams (m, t, p)        ─┘   [kdf]                         [keygen]
//! ```
//!
//! Same parameter, same salt, same [`KdfParams`]: the same key pair on any machine, which
//! is what lets the new card re-derive the key the old card registered (spec B.5, [0149]).
//!
//! What each file owns:
//! - [`error`]: [`CryptoError`], the one error type of this module.
//! - [`kdf`]: the [`Parameter`] secret, the [`Salt`], [`KdfParams`] with their wire bytes and
//!   caps, and Argon2id from parameter to [`Seed`].
//! - [`keygen`]: seed to RSA-2048 key pair by a fully specified prime search, and the
//!   [`PrivateKey`] type (zeroized on drop, redacted in Debug, PKCS#8 for storage).
//! - [`public_key`]: [`PublicKey`] wire/store encoding (DER SubjectPublicKeyInfo, capped and
//!   checked to be RSA-2048/65537) and its SHA-256 [`Fingerprint`].
//! - [`signature`]: the domain-separated [`SignedMessage`] (label, [`Purpose`], SM challenge,
//!   OP ID, EID, IMEI) and RSA PKCS#1 v1.5 / SHA-256 [`sign`] and [`verify`].
//! - [`hybrid`]: [`seal`]/[`open`] of an operator profile, RSA-OAEP(SHA-256) wrapping a fresh
//!   AES-256-GCM key, as a bounded [`SealedBox`].
//! - [`identity`]: each card's own [`IdentityKey`] that proves "the recorded device"
//!   (issue 3, Security behaviour), kept in the card state as PKCS#8.
//!
//! Secrets ([`Parameter`], [`Seed`], [`PrivateKey`], content keys, opened plaintext) are
//! zeroized when dropped and print as `<redacted>`. Every decoder here caps its input and
//! returns [`CryptoError`] instead of panicking.

pub mod error;
pub mod hybrid;
pub mod identity;
pub mod kdf;
pub mod keygen;
pub mod public_key;
pub mod signature;

pub use error::{CryptoError, Result};
pub use getrandom::SysRng;
pub use hybrid::{open, profile_aad, seal, SealedBox};
pub use identity::IdentityKey;
pub use kdf::{derive_seed, KdfAlgorithm, KdfParams, Parameter, Salt, Seed};
pub use keygen::{key_pair_from_parameter, PrivateKey};
pub use public_key::{Fingerprint, PublicKey};
pub use signature::{
    encryption_key_binding, kdf_binding, key_binding, new_challenge, result_binding, sign, verify,
    Purpose, SignedMessage,
};

use rand_core::TryCryptoRng;

/// `N` random bytes from `rng` (e.g. `&mut SysRng`), for salts, challenges and seeds.
pub fn random_array<const N: usize, R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    rng.try_fill_bytes(&mut out).map_err(|_| CryptoError::Rng)?;
    Ok(out)
}

/// Appends `field` with a one-byte length prefix; the caller has checked `field.len() <= 255`.
pub(crate) fn push_len8(out: &mut Vec<u8>, field: &[u8]) -> Result<()> {
    let len = u8::try_from(field.len()).map_err(|_| CryptoError::Message("field too long"))?;
    out.push(len);
    out.extend_from_slice(field);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng, SeedableRng};

    /// Every decoder meets random bytes and bit-flipped valid encodings: errors, no panic.
    #[test]
    fn malformed_bytes_never_panic() {
        let key = PrivateKey::derive(&Seed::from_bytes([8; 32])).unwrap();
        let pkcs8 = key.to_pkcs8_der().unwrap();
        let spki = key.public_key().to_der();
        let sealed = seal(&key.public_key(), b"profile", b"aad", &mut SysRng)
            .unwrap()
            .to_bytes();
        let valid: [&[u8]; 4] = [&pkcs8, &spki, &sealed, &KdfParams::TEST.to_bytes()];
        let mut rng = ChaCha20Rng::from_seed([0x77; 32]);
        for round in 0..400 {
            let mut input = if round % 2 == 0 {
                let mut b = vec![0u8; (rng.next_u32() % 700) as usize];
                rng.fill_bytes(&mut b);
                b
            } else {
                valid[(round / 2) % valid.len()].to_vec()
            };
            if round % 2 == 1 && !input.is_empty() {
                let i = rng.next_u32() as usize % input.len();
                input[i] ^= 1 << (rng.next_u32() % 8);
                input.truncate(input.len() - rng.next_u32() as usize % 3);
            }
            let _ = KdfParams::from_bytes(&input);
            let _ = Salt::from_bytes(&input);
            let _ = Parameter::from_utf8(&input);
            let _ = PublicKey::from_der(&input);
            let _ = SealedBox::from_bytes(&input);
            if round % 8 <= 1 {
                // Decoding a private key validates it, which is slower: fewer rounds.
                let _ = PrivateKey::from_pkcs8_der(&input);
                let _ = IdentityKey::from_pkcs8_der(&input);
            }
            if let Ok(sb) = SealedBox::from_bytes(&input) {
                assert!(input == sealed || open(&key, &sb, b"aad").is_err());
            }
        }
    }
}
