//! Seed -> RSA-2048 key pair (device-change.md A.4, B.5, C.2: "the same parameter always
//! gives the same pair", [0149]), and the [`PrivateKey`] type of this crate.
//!
//! The derivation is specified here, not left to the `rsa` crate, whose key generation
//! may change between releases (and would silently change every subscriber's key):
//!
//! 1. `rng = ChaCha20Rng::from_seed(seed)` (rand_chacha, 20 rounds).
//! 2. Prime `p`: take 128 bytes from `rng`, set the two top bits and the low bit, read as a
//!    big-endian integer `x`; `p` is the smallest prime `>= x` (Baillie-PSW, via
//!    crypto-primes) with `p mod 65537 != 1`. If no such prime has 1024 bits, draw again.
//! 3. Prime `q`: the same, continuing the same `rng`; draw again while
//!    `|p - q| <= 2^924` (FIPS 186-5 A.1.3).
//! 4. `n = p * q` (2048 bits: both primes are `>= 0.75 * 2^1024`), `e = 65537`,
//!    `d = e^-1 mod lcm(p-1, q-1)`.
//!
//! Public key and PKCS#1 v1.5 signatures depend only on `n` and `e`, so they are fixed by
//! the steps above; the test vectors (apdu/tests/vectors/device_change.json) pin them, and
//! apdu/tests/vectors/crosscheck.py re-derives them from this text with other libraries.
//!
//! Cost on the project machine: median 96 ms, 28-298 ms over 20 seeds (the length of the
//! prime search depends on the seed).

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng, TryCryptoRng};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::BoxedUint;
use std::fmt;
use std::num::NonZeroU32;
use zeroize::{Zeroize, Zeroizing};

use super::error::{CryptoError, Result};
use super::kdf::{derive_seed, KdfParams, Parameter, Salt, Seed};
use super::public_key::{check_modulus, PublicKey, MODULUS_BITS, PUBLIC_EXPONENT};
/// Largest PKCS#8 DER accepted (a 2048-bit key is about 1.2 KB).
pub const MAX_PKCS8_LEN: usize = 2048;

const PRIME_BITS: u32 = MODULUS_BITS / 2;
const PRIME_BYTES: usize = (PRIME_BITS / 8) as usize;
/// Safety net: with the 2-in-1000 prime density near 2^1024 this is never reached.
const MAX_DRAWS: usize = 64;

/// An RSA-2048 private key (e = 65537). The `rsa` crate zeroizes its parts on drop;
/// Debug shows only the public key's fingerprint.
#[derive(Clone)]
pub struct PrivateKey(rsa::PrivateKey);

impl PrivateKey {
    /// The key pair the seed defines (module docs).
    pub fn derive(seed: &Seed) -> Result<PrivateKey> {
        let mut rng = ChaCha20Rng::from_seed(*seed.expose_bytes());
        let p = draw_prime(&mut rng, None)?;
        let q = draw_prime(&mut rng, Some(&p))?;
        let key = rsa::PrivateKey::from_p_q(
            BoxedUint::clone(&p),
            BoxedUint::clone(&q),
            BoxedUint::from(u64::from(PUBLIC_EXPONENT)),
        )
        .map_err(|_| CryptoError::KeyGen("primes rejected"))?;
        let key = PrivateKey(key);
        check_modulus(key.0.as_ref()).map_err(|_| CryptoError::KeyGen("wrong modulus"))?;
        Ok(key)
    }

    /// A fresh random key (a card's identity key): a seed from `rng`, then [`Self::derive`].
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<PrivateKey> {
        let seed = Seed::from_bytes(super::random_array(rng)?);
        PrivateKey::derive(&seed)
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_rsa_unchecked(self.0.to_public_key())
    }

    /// PKCS#8 DER, for the card state file.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = self
            .0
            .to_pkcs8_der()
            .map_err(|_| CryptoError::PrivateKey("cannot encode"))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// Reads PKCS#8 DER (at most [`MAX_PKCS8_LEN`] bytes) of an RSA-2048 key with e = 65537.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey> {
        if der.len() > MAX_PKCS8_LEN {
            return Err(CryptoError::PrivateKey("too large"));
        }
        let key = rsa::PrivateKey::from_pkcs8_der(der)
            .map_err(|_| CryptoError::PrivateKey("not an RSA PKCS#8 key"))?;
        check_modulus(key.as_ref()).map_err(|_| CryptoError::PrivateKey("not RSA-2048/65537"))?;
        Ok(PrivateKey(key))
    }

    pub(crate) fn rsa(&self) -> &rsa::PrivateKey {
        &self.0
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PrivateKey(<redacted>, public {})",
            self.public_key().fingerprint()
        )
    }
}

/// The whole chain: parameter, salt and KDF params -> seed -> key pair.
pub fn key_pair_from_parameter(
    parameter: &Parameter,
    salt: &Salt,
    params: &KdfParams,
) -> Result<PrivateKey> {
    let seed = derive_seed(parameter, salt, params)?;
    PrivateKey::derive(&seed)
}

/// Steps 2 and 3 of the module docs. `other` is `p` when drawing `q`.
fn draw_prime(rng: &mut ChaCha20Rng, other: Option<&BoxedUint>) -> Result<Zeroizing<BoxedUint>> {
    let bits = NonZeroU32::new(PRIME_BITS).ok_or(CryptoError::KeyGen("prime size"))?;
    let mut bytes = Zeroizing::new([0u8; PRIME_BYTES]);
    for _ in 0..MAX_DRAWS {
        rng.fill_bytes(bytes.as_mut_slice());
        bytes[0] |= 0xC0;
        bytes[PRIME_BYTES - 1] |= 0x01;
        let start = Zeroizing::new(
            BoxedUint::from_be_slice(bytes.as_slice(), PRIME_BITS)
                .map_err(|_| CryptoError::KeyGen("prime size"))?,
        );
        let sieve =
            crypto_primes::hazmat::SmallFactorsSieve::new(BoxedUint::clone(&start), bits, false)
                .map_err(|_| CryptoError::KeyGen("sieve"))?;
        // The sieve yields ascending candidates >= start without small factors, so the first
        // accepted prime is the smallest prime >= start with the property.
        let mut found = None;
        for mut candidate in sieve {
            if mod_65537(&candidate) != 1
                && crypto_primes::is_prime(crypto_primes::Flavor::Any, &candidate)
            {
                found = Some(Zeroizing::new(candidate));
                break;
            }
            candidate.zeroize();
        }
        let Some(prime) = found else { continue };
        if let Some(p) = other {
            if !far_apart(p, &prime) {
                continue;
            }
        }
        return Ok(prime);
    }
    Err(CryptoError::KeyGen("no prime found"))
}

/// `x mod 65537`, from the big-endian bytes.
fn mod_65537(x: &BoxedUint) -> u32 {
    let mut bytes = Zeroizing::new(x.to_be_bytes());
    let r = bytes
        .iter()
        .fold(0u32, |acc, b| (acc * 256 + u32::from(*b)) % PUBLIC_EXPONENT);
    bytes.zeroize();
    r
}

/// `|p - q| > 2^(PRIME_BITS - 100)`.
fn far_apart(p: &BoxedUint, q: &BoxedUint) -> bool {
    let diff = Zeroizing::new(if p > q {
        p.wrapping_sub(q)
    } else {
        q.wrapping_sub(p)
    });
    diff.bit_width_vartime() > PRIME_BITS - 100
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::PrivateKeyParts;

    #[test]
    fn same_seed_same_key_other_seed_other_key() {
        let a = PrivateKey::derive(&Seed::from_bytes([1; 32])).unwrap();
        let b = PrivateKey::derive(&Seed::from_bytes([1; 32])).unwrap();
        let c = PrivateKey::derive(&Seed::from_bytes([2; 32])).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        assert_ne!(a.public_key(), c.public_key());
        assert!(a.rsa().validate().is_ok());
        assert_eq!(a.rsa().primes().len(), 2);
    }

    #[test]
    fn pkcs8_round_trip_and_redaction() {
        let k = PrivateKey::derive(&Seed::from_bytes([3; 32])).unwrap();
        let der = k.to_pkcs8_der().unwrap();
        let back = PrivateKey::from_pkcs8_der(&der).unwrap();
        assert_eq!(back.public_key(), k.public_key());
        let dbg = format!("{k:?}");
        assert!(dbg.starts_with("PrivateKey(<redacted>"), "{dbg}");
        assert!(PrivateKey::from_pkcs8_der(&der[..der.len() - 1]).is_err());
        assert!(PrivateKey::from_pkcs8_der(&[0x30; 4096]).is_err());
        assert!(PrivateKey::from_pkcs8_der(&[]).is_err());
    }

    #[test]
    fn mod_65537_matches_small_values() {
        assert_eq!(mod_65537(&BoxedUint::from(65538u64)), 1);
        assert_eq!(mod_65537(&BoxedUint::from(65536u64 * 65537 + 5)), 5);
    }
}
