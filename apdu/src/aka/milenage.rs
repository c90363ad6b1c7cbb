//! Milenage, 3GPP TS 35.206 §4.1: OPc from OP, and f1, f1*, f2, f3, f4, f5, f5* over
//! AES-128, with the standard constants r1..r5 / c1..c5 or operator-chosen ones (TS 35.206
//! §4.1 leaves them to the operator; SAIP AlgoParameter carries them as
//! `rotationConstants` (5 bytes, r1..r5 in bits) and `xoringConstants` (80 bytes, c1..c5)).
//!
//! ```text
//! TEMP = E_K(RAND xor OPc)
//! OUT1 = E_K(TEMP xor rot(SQN||AMF||SQN||AMF xor OPc, r1) xor c1) xor OPc
//! OUTi = E_K(rot(TEMP xor OPc, ri) xor ci) xor OPc        (i = 2..5)
//! f1 = OUT1[0..63]  f1* = OUT1[64..127]  f5 = OUT2[0..47]  f2 = OUT2[64..127]
//! f3 = OUT3         f4 = OUT4            f5* = OUT5[0..47]
//! ```
//! `rot(x, r)` rotates the 128-bit `x` by `r` bit positions towards the most significant
//! bit (bit 0 of the spec is the most significant).

use super::{AkaError, AkaFunctions, Amf, Key128, Outputs, Rand, Res, Sqn};
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use aes::Aes128;
use std::fmt;
use zeroize::Zeroizing;

/// The constants r1..r5 (bits, 0..127) and c1..c5 (128-bit) of TS 35.206 §4.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilenageConstants {
    r: [u8; 5],
    c: [[u8; 16]; 5],
}

impl MilenageConstants {
    /// TS 35.206 §4.1: r1 = 64, r2 = 0, r3 = 32, r4 = 64, r5 = 96; c1 = 0, c2 = 1,
    /// c3 = 2, c4 = 4, c5 = 8 (in the least significant byte). Also SAIP's defaults
    /// `'4000204060'H` and `'00..00 00..01 00..02 00..04 00..08'H`.
    pub const STANDARD: Self = Self {
        r: [64, 0, 32, 64, 96],
        c: [lsb(0), lsb(1), lsb(2), lsb(4), lsb(8)],
    };

    /// From SAIP AlgoParameter's `rotationConstants` (r1..r5, one byte each, each below
    /// 128) and `xoringConstants` (c1..c5, 16 bytes each).
    pub fn from_saip(rotation: &[u8], xoring: &[u8]) -> Result<Self, AkaError> {
        let r: [u8; 5] = rotation
            .try_into()
            .map_err(|_| AkaError::Parameter("rotationConstants must be 5 bytes"))?;
        if r.iter().any(|&x| x >= 128) {
            return Err(AkaError::Parameter("a rotation constant is not below 128"));
        }
        if xoring.len() != 80 {
            return Err(AkaError::Parameter("xoringConstants must be 80 bytes"));
        }
        let mut c = [[0u8; 16]; 5];
        for (ci, chunk) in c.iter_mut().zip(xoring.chunks_exact(16)) {
            ci.copy_from_slice(chunk);
        }
        Ok(Self { r, c })
    }

    /// The SAIP encodings (`rotationConstants`, `xoringConstants`).
    pub fn to_saip(&self) -> ([u8; 5], [u8; 80]) {
        let mut x = [0u8; 80];
        for (chunk, ci) in x.chunks_exact_mut(16).zip(&self.c) {
            chunk.copy_from_slice(ci);
        }
        (self.r, x)
    }
}

impl Default for MilenageConstants {
    fn default() -> Self {
        Self::STANDARD
    }
}

const fn lsb(v: u8) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[15] = v;
    c
}

/// OPc = E_K(OP) xor OP (TS 35.206 §4.1).
pub fn opc_from_op(k: &Key128, op: &[u8; 16]) -> Key128 {
    let cipher = Aes128::new(&Array::from(*k.expose()));
    let mut block = Zeroizing::new(encrypt(&cipher, op));
    block.iter_mut().zip(op).for_each(|(b, o)| *b ^= o);
    Key128::new(*block)
}

/// Milenage for one subscriber: K (as an AES key schedule), OPc and the constants.
#[derive(Clone)]
pub struct Milenage {
    cipher: Aes128,
    opc: Key128,
    constants: MilenageConstants,
}

impl fmt::Debug for Milenage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Milenage")
            .field("k", &"<redacted>")
            .field("opc", &self.opc)
            .field("constants", &self.constants)
            .finish()
    }
}

impl Milenage {
    /// With K, OPc and the standard constants.
    pub fn new(k: &Key128, opc: &Key128) -> Self {
        Self::with_constants(k, opc, MilenageConstants::STANDARD)
    }

    /// With K and OP (OPc computed, TS 35.206 §4.1).
    pub fn from_op(k: &Key128, op: &[u8; 16]) -> Self {
        Self::new(k, &opc_from_op(k, op))
    }

    /// With operator-chosen constants.
    pub fn with_constants(k: &Key128, opc: &Key128, constants: MilenageConstants) -> Self {
        Self {
            cipher: Aes128::new(&Array::from(*k.expose())),
            opc: opc.clone(),
            constants,
        }
    }

    /// OUT1 of TS 35.206 §4.1 (f1 || f1*).
    fn out1(&self, rand: &Rand, sqn: Sqn, amf: &Amf) -> Zeroizing<[u8; 16]> {
        let temp = self.temp(rand);
        let mut in1 = [0u8; 16];
        let s = sqn.to_bytes();
        in1[..6].copy_from_slice(&s);
        in1[6..8].copy_from_slice(amf);
        in1[8..14].copy_from_slice(&s);
        in1[14..].copy_from_slice(amf);
        let x = rot(&xor16(&in1, self.opc.expose()), self.constants.r[0]);
        let x = xor16(&xor16(&temp, &x), &self.constants.c[0]);
        Zeroizing::new(xor16(&encrypt(&self.cipher, &x), self.opc.expose()))
    }

    /// OUTi for i = 2..5 (index 1..4 into the constants).
    fn out(&self, temp: &[u8; 16], i: usize) -> Zeroizing<[u8; 16]> {
        let x = rot(&xor16(temp, self.opc.expose()), self.constants.r[i]);
        let x = xor16(&x, &self.constants.c[i]);
        Zeroizing::new(xor16(&encrypt(&self.cipher, &x), self.opc.expose()))
    }

    /// TEMP = E_K(RAND xor OPc).
    fn temp(&self, rand: &Rand) -> Zeroizing<[u8; 16]> {
        Zeroizing::new(encrypt(&self.cipher, &xor16(rand, self.opc.expose())))
    }
}

impl AkaFunctions for Milenage {
    fn f1(&self, rand: &Rand, sqn: Sqn, amf: &Amf) -> [u8; 8] {
        first8(&self.out1(rand, sqn, amf)[..8])
    }

    fn f1_star(&self, rand: &Rand, sqn: Sqn, amf: &Amf) -> [u8; 8] {
        first8(&self.out1(rand, sqn, amf)[8..])
    }

    fn f2345(&self, rand: &Rand) -> Outputs {
        let temp = self.temp(rand);
        let out2 = self.out(&temp, 1);
        let mut ak = [0u8; 6];
        ak.copy_from_slice(&out2[..6]);
        Outputs {
            res: Res::prefix(&f2_at_front(&out2), 8),
            ck: Key128::new(*self.out(&temp, 2)),
            ik: Key128::new(*self.out(&temp, 3)),
            ak,
        }
    }

    fn f5_star(&self, rand: &Rand) -> [u8; 6] {
        let out5 = self.out(&self.temp(rand), 4);
        let mut ak = [0u8; 6];
        ak.copy_from_slice(&out5[..6]);
        ak
    }
}

fn encrypt(cipher: &Aes128, block: &[u8; 16]) -> [u8; 16] {
    let mut b = Array::from(*block);
    cipher.encrypt_block(&mut b);
    b.into()
}

fn xor16(a: &[u8; 16], b: &[u8; 16]) -> [u8; 16] {
    let mut out = *a;
    out.iter_mut().zip(b).for_each(|(o, x)| *o ^= x);
    out
}

/// rot(x, r) of TS 35.206 §4.1: bit r becomes bit 0 (the most significant).
fn rot(x: &[u8; 16], r: u8) -> [u8; 16] {
    u128::from_be_bytes(*x)
        .rotate_left(u32::from(r) % 128)
        .to_be_bytes()
}

/// OUT2 with f2 (its bits 64..127) moved to the front.
fn f2_at_front(out2: &[u8; 16]) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&out2[8..]);
    b
}

fn first8(b: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&b[..8]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rot_moves_bit_r_to_the_top() {
        let mut x = [0u8; 16];
        x[15] = 1; // bit 127
        assert_eq!(rot(&x, 1)[15], 2);
        assert_eq!(rot(&x, 0), x);
        let y = rot(&x, 127); // bit 127 -> bit 0
        assert_eq!(y[0], 0x80);
    }

    #[test]
    fn saip_constants_round_trip_and_caps() {
        let (r, c) = MilenageConstants::STANDARD.to_saip();
        assert_eq!(r, [0x40, 0x00, 0x20, 0x40, 0x60]);
        assert_eq!(
            MilenageConstants::from_saip(&r, &c).unwrap(),
            MilenageConstants::STANDARD
        );
        assert!(MilenageConstants::from_saip(&[0, 0, 0, 0, 128], &c).is_err());
        assert!(MilenageConstants::from_saip(&r[..4], &c).is_err());
        assert!(MilenageConstants::from_saip(&r, &c[..79]).is_err());
    }

    #[test]
    fn debug_redacts_keys() {
        let m = Milenage::new(&Key128::new([7; 16]), &Key128::new([9; 16]));
        let d = format!("{m:?}");
        assert!(d.contains("<redacted>") && !d.contains("9, 9"), "{d}");
    }
}
