//! 3GPP authentication and key agreement (AKA), for both sides: the card's USIM
//! AUTHENTICATE and the network's authentication vectors (tests, a later SM-DP+ / HSS).
//! No I/O.
//!
//! What each file owns:
//! - this file: the value types ([`Secret`], [`Sqn`], [`Res`]), the [`AkaFunctions`] trait
//!   (f1, f1*, f2..f5, f5* of TS 33.102 §6.3) and the [`Algorithm`] a profile names
//!   (SAIP `AlgoParameter.algorithmID`).
//! - [`milenage`]: Milenage of TS 35.206 with the standard or operator-chosen constants.
//! - [`test_xor`]: the test algorithm of TS 34.108 §8.1.2 (SAIP algorithm 3, the TS.48 test
//!   profiles).
//! - [`sqn`]: the USIM's sequence-number state and checks of TS 33.102 Annex C.
//! - [`usim`]: the card's AUTHENTICATE (TS 31.102 §7.1.2): decode, verify, answer.
//! - [`network`]: authentication vectors and resynchronisation from AUTS (TS 33.102 §6.3.2,
//!   §6.3.5).
//! - [`error`] holds [`AkaError`].
//!
//! Secrets (K, OPc, CK, IK, Kc) are [`Secret`]s: zeroized on drop, `<redacted>` in `Debug`.

pub mod algorithm;
pub mod error;
pub mod milenage;
pub mod network;
pub mod sqn;
pub mod test_xor;
pub mod usim;

pub use algorithm::Algorithm;
pub use error::AkaError;
pub use milenage::{Milenage, MilenageConstants};
pub use network::{generate_vector, resynchronise, AuthVector};
pub use sqn::{SqnConfig, SqnState};
pub use test_xor::TestXor;
pub use usim::{AuthOutcome, AuthenticateCommand, Context, Usim};

use std::fmt;
use zeroize::Zeroizing;

/// A secret of `N` bytes (K, OPc, CK, IK, Kc): zeroized on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<const N: usize>(Zeroizing<[u8; N]>);

impl<const N: usize> Secret<N> {
    pub fn new(bytes: [u8; N]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// From a slice of exactly `N` bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut s = Self::new([0u8; N]);
        if bytes.len() != N {
            return None;
        }
        s.0.copy_from_slice(bytes);
        Some(s)
    }

    pub fn expose(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> fmt::Debug for Secret<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret<{N}>(<redacted>)")
    }
}

/// The 128-bit subscriber key K, OPc, CK or IK.
pub type Key128 = Secret<16>;
/// The 64-bit GSM cipher key Kc (TS 33.102 §6.8.1.2, c3).
pub type Kc = Secret<8>;

/// The 128-bit challenge RAND.
pub type Rand = [u8; 16];
/// The authentication management field AMF.
pub type Amf = [u8; 2];
/// AUTN = (SQN xor AK) || AMF || MAC (TS 33.102 §6.3.2).
pub type Autn = [u8; 16];
/// AUTS = (SQN_MS xor AK*) || MAC-S (TS 33.102 §6.3.3).
pub type Auts = [u8; 14];

/// A 48-bit sequence number SQN = SEQ || IND (TS 33.102 Annex C.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sqn(u64);

impl Sqn {
    /// The largest 48-bit value.
    pub const MAX: u64 = (1 << 48) - 1;

    /// `None` when `value` does not fit 48 bits.
    pub fn new(value: u64) -> Option<Self> {
        (value <= Self::MAX).then_some(Self(value))
    }

    /// SEQ || IND with an IND of `ind_bits` bits; `None` when a part does not fit.
    pub fn from_parts(seq: u64, ind: u32, ind_bits: u8) -> Option<Self> {
        let ind_bits = u32::from(ind_bits);
        if ind_bits >= 48 || u64::from(ind) >> ind_bits != 0 || seq >> (48 - ind_bits) != 0 {
            return None;
        }
        Some(Self((seq << ind_bits) | u64::from(ind)))
    }

    pub fn from_bytes(b: [u8; 6]) -> Self {
        let mut v = [0u8; 8];
        v[2..].copy_from_slice(&b);
        Self(u64::from_be_bytes(v))
    }

    pub fn to_bytes(self) -> [u8; 6] {
        let v = self.0.to_be_bytes();
        let mut b = [0u8; 6];
        b.copy_from_slice(&v[2..]);
        b
    }

    pub fn value(self) -> u64 {
        self.0
    }

    /// SEQ, the SQN without its `ind_bits` low bits.
    pub fn seq(self, ind_bits: u8) -> u64 {
        self.0 >> ind_bits.min(47)
    }

    /// IND, the `ind_bits` low bits.
    pub fn ind(self, ind_bits: u8) -> u32 {
        // ind_bits is capped by SqnConfig at 10, so the mask fits u32.
        (self.0 & ((1u64 << ind_bits.min(31)) - 1)) as u32
    }
}

/// RES / XRES: 4 to 16 bytes (TS 33.102 §6.3.2 allows 32..128 bits). Not a secret once
/// sent; the network compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Res {
    len: usize,
    bytes: [u8; 16],
}

impl Res {
    /// The shortest RES (32 bits) and the longest (128 bits).
    pub const MIN_LEN: usize = 4;
    pub const MAX_LEN: usize = 16;

    /// `None` unless 4 <= len <= 16.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&b.len()) {
            return None;
        }
        let mut bytes = [0u8; 16];
        bytes[..b.len()].copy_from_slice(b);
        Some(Self {
            len: b.len(),
            bytes,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The first `len` bytes of a 16-byte output (f2); the callers' lengths are checked
    /// (Milenage 8, [`TestXor`] 4..=16).
    pub(crate) fn prefix(out: &[u8; 16], len: usize) -> Self {
        let len = len.clamp(Self::MIN_LEN, Self::MAX_LEN);
        let mut bytes = [0u8; 16];
        bytes[..len].copy_from_slice(&out[..len]);
        Self { len, bytes }
    }
}

/// What f2, f3, f4 and f5 give for one RAND (TS 33.102 §6.3.2, figure 9).
#[derive(Debug, Clone)]
pub struct Outputs {
    pub res: Res,
    pub ck: Key128,
    pub ik: Key128,
    /// The anonymity key AK = f5(RAND).
    pub ak: [u8; 6],
}

/// The authentication functions of TS 33.102 §6.3 for one subscriber (K and the
/// algorithm's own parameters are inside).
pub trait AkaFunctions {
    /// MAC-A = f1(SQN, RAND, AMF), network authentication.
    fn f1(&self, rand: &Rand, sqn: Sqn, amf: &Amf) -> [u8; 8];
    /// MAC-S = f1*(SQN, RAND, AMF), resynchronisation.
    fn f1_star(&self, rand: &Rand, sqn: Sqn, amf: &Amf) -> [u8; 8];
    /// RES, CK, IK and AK (f2, f3, f4, f5).
    fn f2345(&self, rand: &Rand) -> Outputs;
    /// AK* = f5*(RAND), the anonymity key of resynchronisation.
    fn f5_star(&self, rand: &Rand) -> [u8; 6];
}

/// GSM SRES from RES by the conversion function c2 of TS 33.102 §6.8.1.2: the XOR of
/// the four 32-bit words of RES zero-padded to 128 bits.
pub fn c2(res: &Res) -> [u8; 4] {
    let mut out = [0u8; 4];
    for (i, b) in res.as_bytes().iter().enumerate() {
        out[i % 4] ^= b;
    }
    out
}

/// GSM Kc from CK and IK by the conversion function c3 of TS 33.102 §6.8.1.2:
/// Kc = CK1 xor CK2 xor IK1 xor IK2 (64-bit halves).
pub fn c3(ck: &Key128, ik: &Key128) -> Kc {
    let mut kc = Kc::new([0u8; 8]);
    let (ck, ik) = (ck.expose(), ik.expose());
    for (i, out) in kc.0.iter_mut().enumerate() {
        *out = ck[i] ^ ck[i + 8] ^ ik[i] ^ ik[i + 8];
    }
    kc
}

/// Constant-time equality of two MACs.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `a xor b` for 6-byte values (SQN xor AK).
pub(crate) fn xor6(a: &[u8; 6], b: &[u8; 6]) -> [u8; 6] {
    let mut out = *a;
    out.iter_mut().zip(b).for_each(|(o, k)| *o ^= k);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqn_parts_round_trip_and_caps() {
        let s = Sqn::from_parts(0x7f, 3, 5).unwrap();
        assert_eq!(s.value(), 0xfe3);
        assert_eq!((s.seq(5), s.ind(5)), (0x7f, 3));
        assert_eq!(Sqn::from_bytes(s.to_bytes()), s);
        assert!(Sqn::from_parts(0, 32, 5).is_none());
        assert!(Sqn::from_parts(1 << 43, 0, 5).is_none());
        assert!(Sqn::new(1 << 48).is_none());
    }

    #[test]
    fn secrets_are_redacted() {
        let k = Key128::new([0x42; 16]);
        assert_eq!(format!("{k:?}"), "Secret<16>(<redacted>)");
        assert!(Key128::from_slice(&[0; 15]).is_none());
    }

    #[test]
    fn res_length_caps() {
        assert!(Res::from_slice(&[0; 3]).is_none());
        assert!(Res::from_slice(&[0; 17]).is_none());
        assert_eq!(Res::from_slice(&[1; 8]).unwrap().as_bytes(), &[1; 8]);
    }
}
