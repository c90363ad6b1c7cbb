//! Key stretching (device-change.md, "Key stretching"): the user's key-generation
//! parameter and the per-subscription [`Salt`] go through Argon2id (RFC 9106, version
//! 0x13, no secret, no associated data, 32-byte output) into the [`Seed`] of the key pair.
//!
//! The SM chooses the salt and the [`KdfParams`], stores them with the record and sends
//! them with every key-generation or authentication request; the card must not trust
//! them blindly, so [`KdfParams`] are capped ([`MAX_MEMORY_KIB`], [`MAX_TIME_COST`],
//! [`MAX_PARALLELISM`]) before any memory is allocated.
//!
//! Costs measured on the project machine (2 shared cores, dependencies at opt-level 2;
//! `cargo test -p apdu --test crypto_vectors -- --ignored --nocapture`):
//! - [`KdfParams::PRODUCTION`] (64 MiB, t=3, p=1): median 0.25 s (0.25-0.27 s, 5 runs).
//! - [`KdfParams::TEST`] (1 MiB, t=1, p=1): 1.5 ms; for tests and CI only.
//!
//! Wire form of [`KdfParams`] (7 bytes): algorithm id (`01` = Argon2id v0x13),
//! memory in KiB (u32 big-endian), time cost (u8), parallelism (u8).

use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::error::{CryptoError, Result};

/// Length of the per-subscription salt.
pub const SALT_LEN: usize = 16;
/// Length of the derived seed.
pub const SEED_LEN: usize = 32;
/// Shortest parameter accepted (bytes of UTF-8).
pub const MIN_PARAMETER_LEN: usize = 4;
/// Longest parameter accepted (bytes of UTF-8).
pub const MAX_PARAMETER_LEN: usize = 128;
/// Least memory a request may ask for (KiB): the test profile.
pub const MIN_MEMORY_KIB: u32 = 1024;
/// Most memory a request may make the card allocate (KiB): 256 MiB.
pub const MAX_MEMORY_KIB: u32 = 256 * 1024;
/// Highest Argon2 time cost accepted.
pub const MAX_TIME_COST: u32 = 10;
/// Highest Argon2 parallelism (lanes) accepted.
pub const MAX_PARALLELISM: u32 = 4;

/// The key-generation parameter the user types (spec A.3, B.5, C.2). Zeroized on drop,
/// redacted in Debug. Used exactly as given: the terminal strips line endings.
#[derive(Clone)]
pub struct Parameter(Zeroizing<String>);

impl Parameter {
    /// Takes the parameter, checking its length (`MIN_PARAMETER_LEN..=MAX_PARAMETER_LEN`
    /// bytes) and that it has no control characters.
    pub fn new(secret: impl Into<Zeroizing<String>>) -> Result<Parameter> {
        let secret = secret.into();
        if secret.len() < MIN_PARAMETER_LEN {
            return Err(CryptoError::Parameter("too short"));
        }
        if secret.len() > MAX_PARAMETER_LEN {
            return Err(CryptoError::Parameter("too long"));
        }
        if secret.chars().any(char::is_control) {
            return Err(CryptoError::Parameter("contains control characters"));
        }
        Ok(Parameter(secret))
    }

    /// Takes the parameter from UTF-8 bytes (e.g. a GET INPUT answer); `bytes` stay the
    /// caller's to zeroize.
    pub fn from_utf8(bytes: &[u8]) -> Result<Parameter> {
        let text = std::str::from_utf8(bytes).map_err(|_| CryptoError::Parameter("not UTF-8"))?;
        Parameter::new(text.to_owned())
    }

    /// The secret bytes, for the KDF.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Parameter(<redacted>)")
    }
}

/// The per-subscription KDF salt, chosen at random by the SM. Not secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Salt(pub [u8; SALT_LEN]);

impl Salt {
    /// A fresh random salt.
    pub fn random<R: rand_core::TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Salt> {
        super::random_array(rng).map(Salt)
    }

    /// Reads exactly [`SALT_LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Salt> {
        bytes
            .try_into()
            .map(Salt)
            .map_err(|_| CryptoError::Salt("a salt has 16 bytes"))
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Salt({})", hex::encode(self.0))
    }
}

impl From<Salt> for String {
    fn from(s: Salt) -> String {
        hex::encode(s.0)
    }
}

impl TryFrom<String> for Salt {
    type Error = CryptoError;
    fn try_from(s: String) -> Result<Salt> {
        let bytes = hex::decode(s).map_err(|_| CryptoError::Salt("not hex"))?;
        Salt::from_bytes(&bytes)
    }
}

/// The 32-byte KDF output that seeds key generation. Zeroized on drop, redacted in Debug.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Seed([u8; SEED_LEN]);

impl Seed {
    /// Wraps seed bytes (for test vectors and random identity keys).
    pub fn from_bytes(bytes: [u8; SEED_LEN]) -> Seed {
        Seed(bytes)
    }

    /// The secret bytes.
    pub fn expose_bytes(&self) -> &[u8; SEED_LEN] {
        &self.0
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(<redacted>)")
    }
}

/// The KDF algorithm, with its one-byte wire id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KdfAlgorithm {
    /// Argon2id, version 0x13 (RFC 9106).
    Argon2id,
}

impl KdfAlgorithm {
    /// The wire id.
    pub fn id(self) -> u8 {
        match self {
            KdfAlgorithm::Argon2id => 0x01,
        }
    }

    /// The algorithm for a wire id.
    pub fn from_id(id: u8) -> Result<KdfAlgorithm> {
        match id {
            0x01 => Ok(KdfAlgorithm::Argon2id),
            _ => Err(CryptoError::KdfParams("unknown KDF algorithm")),
        }
    }
}

/// KDF algorithm and costs, stored with the subscription record. Always within the caps:
/// construction, [`KdfParams::from_bytes`] and deserialization all validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "KdfParamsUnchecked")]
pub struct KdfParams {
    algorithm: KdfAlgorithm,
    memory_kib: u32,
    time_cost: u32,
    parallelism: u32,
}

#[derive(Deserialize)]
struct KdfParamsUnchecked {
    algorithm: KdfAlgorithm,
    memory_kib: u32,
    time_cost: u32,
    parallelism: u32,
}

impl TryFrom<KdfParamsUnchecked> for KdfParams {
    type Error = CryptoError;
    fn try_from(u: KdfParamsUnchecked) -> Result<KdfParams> {
        KdfParams::new(u.algorithm, u.memory_kib, u.time_cost, u.parallelism)
    }
}

impl Default for KdfParams {
    fn default() -> KdfParams {
        KdfParams::PRODUCTION
    }
}

impl KdfParams {
    /// Length of [`KdfParams::to_bytes`].
    pub const WIRE_LEN: usize = 7;

    /// The production profile: Argon2id, 64 MiB, t=3, p=1.
    pub const PRODUCTION: KdfParams = KdfParams {
        algorithm: KdfAlgorithm::Argon2id,
        memory_kib: 64 * 1024,
        time_cost: 3,
        parallelism: 1,
    };

    /// The fast profile for tests and CI: Argon2id, 1 MiB, t=1, p=1. Never for real users.
    pub const TEST: KdfParams = KdfParams {
        algorithm: KdfAlgorithm::Argon2id,
        memory_kib: 1024,
        time_cost: 1,
        parallelism: 1,
    };

    /// Checked constructor: memory `MIN_MEMORY_KIB..=MAX_MEMORY_KIB` KiB, time cost
    /// `1..=MAX_TIME_COST`, parallelism `1..=MAX_PARALLELISM`.
    pub fn new(
        algorithm: KdfAlgorithm,
        memory_kib: u32,
        time_cost: u32,
        parallelism: u32,
    ) -> Result<KdfParams> {
        if !(MIN_MEMORY_KIB..=MAX_MEMORY_KIB).contains(&memory_kib) {
            return Err(CryptoError::KdfParams("memory cost out of range"));
        }
        if !(1..=MAX_TIME_COST).contains(&time_cost) {
            return Err(CryptoError::KdfParams("time cost out of range"));
        }
        if !(1..=MAX_PARALLELISM).contains(&parallelism) {
            return Err(CryptoError::KdfParams("parallelism out of range"));
        }
        Ok(KdfParams {
            algorithm,
            memory_kib,
            time_cost,
            parallelism,
        })
    }

    pub fn algorithm(&self) -> KdfAlgorithm {
        self.algorithm
    }
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }
    pub fn time_cost(&self) -> u32 {
        self.time_cost
    }
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }

    /// The 7 wire bytes (module docs).
    pub fn to_bytes(&self) -> [u8; Self::WIRE_LEN] {
        let m = self.memory_kib.to_be_bytes();
        // Within the caps, time cost and parallelism fit one byte each.
        let t = u8::try_from(self.time_cost).unwrap_or(u8::MAX);
        let p = u8::try_from(self.parallelism).unwrap_or(u8::MAX);
        [self.algorithm.id(), m[0], m[1], m[2], m[3], t, p]
    }

    /// Reads exactly [`KdfParams::WIRE_LEN`] bytes and checks the caps.
    pub fn from_bytes(bytes: &[u8]) -> Result<KdfParams> {
        let b: [u8; Self::WIRE_LEN] = bytes
            .try_into()
            .map_err(|_| CryptoError::KdfParams("KDF parameters have 7 bytes"))?;
        let algorithm = KdfAlgorithm::from_id(b[0])?;
        let memory_kib = u32::from_be_bytes([b[1], b[2], b[3], b[4]]);
        KdfParams::new(algorithm, memory_kib, b[5].into(), b[6].into())
    }
}

/// Argon2id(parameter, salt, params) -> 32-byte seed. Allocates `params.memory_kib()` KiB
/// (fallibly: out of memory is an error, not an abort) and wipes it afterwards.
pub fn derive_seed(parameter: &Parameter, salt: &Salt, params: &KdfParams) -> Result<Seed> {
    let KdfAlgorithm::Argon2id = params.algorithm;
    let a2_params = argon2::Params::new(
        params.memory_kib,
        params.time_cost,
        params.parallelism,
        Some(SEED_LEN),
    )
    .map_err(|_| CryptoError::KdfParams("rejected by Argon2"))?;
    let blocks = a2_params.block_count();
    let mut memory: Zeroizing<Vec<argon2::Block>> = Zeroizing::new(Vec::new());
    memory
        .try_reserve_exact(blocks)
        .map_err(|_| CryptoError::Kdf("out of memory"))?;
    memory.resize(blocks, argon2::Block::new());
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        a2_params,
    );
    let mut seed = Seed([0u8; SEED_LEN]);
    argon
        .hash_password_into_with_memory(
            parameter.expose_bytes(),
            &salt.0,
            &mut seed.0,
            memory.as_mut_slice(),
        )
        .map_err(|_| CryptoError::Kdf("Argon2 failed"))?;
    Ok(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(s: &str) -> Parameter {
        Parameter::new(s.to_owned()).unwrap()
    }

    #[test]
    fn same_inputs_same_seed_and_each_input_matters() {
        let salt = Salt([7; 16]);
        let a = derive_seed(&param("123456"), &salt, &KdfParams::TEST).unwrap();
        let b = derive_seed(&param("123456"), &salt, &KdfParams::TEST).unwrap();
        assert_eq!(a.expose_bytes(), b.expose_bytes());
        let c = derive_seed(&param("123457"), &salt, &KdfParams::TEST).unwrap();
        assert_ne!(a.expose_bytes(), c.expose_bytes());
        let d = derive_seed(&param("123456"), &Salt([8; 16]), &KdfParams::TEST).unwrap();
        assert_ne!(a.expose_bytes(), d.expose_bytes());
        let t2 = KdfParams::new(KdfAlgorithm::Argon2id, 1024, 2, 1).unwrap();
        let e = derive_seed(&param("123456"), &salt, &t2).unwrap();
        assert_ne!(a.expose_bytes(), e.expose_bytes());
    }

    #[test]
    fn params_round_trip_and_caps() {
        for p in [KdfParams::PRODUCTION, KdfParams::TEST] {
            assert_eq!(KdfParams::from_bytes(&p.to_bytes()).unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<KdfParams>(&json).unwrap(), p);
        }
        assert_eq!(
            KdfParams::PRODUCTION.to_bytes(),
            [0x01, 0x00, 0x01, 0x00, 0x00, 0x03, 0x01]
        );
        // 4 GiB of memory, time 255, unknown algorithm, short input: all refused.
        for bad in [
            &[0x01, 0x00, 0x40, 0x00, 0x00, 0x03, 0x01][..],
            &[0x01, 0x00, 0x04, 0x00, 0x01, 0x03, 0x01],
            &[0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0x01],
            &[0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01],
            &[0x01, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00],
            &[0x01, 0x00, 0x01, 0x00, 0x00, 0x03, 0x05],
            &[0x01, 0x00, 0x00, 0x00, 0x08, 0x03, 0x01],
            &[0x02, 0x00, 0x01, 0x00, 0x00, 0x03, 0x01],
            &[0x01, 0x00, 0x01, 0x00, 0x00, 0x03],
            &[],
        ] {
            assert!(KdfParams::from_bytes(bad).is_err(), "{bad:02x?}");
        }
        let json =
            r#"{"algorithm":"argon2id","memory_kib":4294967295,"time_cost":3,"parallelism":1}"#;
        assert!(serde_json::from_str::<KdfParams>(json).is_err());
    }

    #[test]
    fn parameter_checks_and_redaction() {
        assert!(Parameter::new("123".to_owned()).is_err());
        assert!(Parameter::new("1".repeat(129)).is_err());
        assert!(Parameter::new("1234\n".to_owned()).is_err());
        assert!(Parameter::from_utf8(&[0xff, 0xfe, 0x31, 0x32]).is_err());
        let p = param("secret-123");
        assert!(!format!("{p:?}").contains("secret"));
        let s = derive_seed(&p, &Salt([0; 16]), &KdfParams::TEST).unwrap();
        assert_eq!(format!("{s:?}"), "Seed(<redacted>)");
    }

    #[test]
    fn salt_hex_round_trip() {
        let s = Salt([0xAB; 16]);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Salt>(&json).unwrap(), s);
        assert!(serde_json::from_str::<Salt>("\"abcd\"").is_err());
        assert!(Salt::from_bytes(&[0; 15]).is_err());
    }
}
