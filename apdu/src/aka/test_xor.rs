//! The test algorithm of 3GPP TS 34.108 §8.1.2 (SAIP `usim-test-algorithm(3)`, the one the
//! GSMA TS.48 test profiles use with K = 000102...0F). No cryptography: every output is a
//! slice of XDOUT = K xor RAND.
//!
//! ```text
//! §8.1.2.1  XDOUT = K xor RAND
//!           RES  = XDOUT[bits 0 .. n-1]              (f2, n = RES length)
//!           CK   = XDOUT rotated by 8 bits (bits 8..127, 0..7)    (f3)
//!           IK   = XDOUT rotated by 16 bits (bits 16..127, 0..15) (f4)
//!           AK   = XDOUT[bits 24 .. 71]                (f5)
//!           MAC  = XDOUT[bits 0..63] xor (SQN || AMF)  (f1)
//! §8.1.2.2  AK for AUTS = XDOUT[bits 24..71]           (f5*, the same as f5)
//!           MAC-S = XDOUT[bits 0..63] xor (SQN_MS || AMF*)  (f1*, the same as f1)
//! ```
//! The spec leaves n to the test; SAIP gives no field for it. [`TestXor::new`] takes the
//! 128-bit RES that osmocom's implementation (libosmocore `auth_xor.c`) uses.

use super::{AkaError, AkaFunctions, Amf, Key128, Outputs, Rand, Res, Sqn};

/// The TS 34.108 §8.1.2 algorithm for one K and one RES length.
#[derive(Debug, Clone)]
pub struct TestXor {
    k: Key128,
    res_len: usize,
}

impl TestXor {
    /// With a 16-byte RES.
    pub fn new(k: &Key128) -> Self {
        Self {
            k: k.clone(),
            res_len: Res::MAX_LEN,
        }
    }

    /// With a RES of `res_len` bytes (4..=16, TS 33.102 §6.3.2's 32..128 bits).
    pub fn with_res_len(k: &Key128, res_len: usize) -> Result<Self, AkaError> {
        if !(Res::MIN_LEN..=Res::MAX_LEN).contains(&res_len) {
            return Err(AkaError::Parameter("RES length must be 4 to 16 bytes"));
        }
        Ok(Self {
            k: k.clone(),
            res_len,
        })
    }

    fn xdout(&self, rand: &Rand) -> Key128 {
        let mut x = *self.k.expose();
        x.iter_mut().zip(rand).for_each(|(o, r)| *o ^= r);
        let out = Key128::new(x);
        zeroize::Zeroize::zeroize(&mut x);
        out
    }

    /// XDOUT[0..63] xor (SQN || AMF): f1 and f1* alike (§8.1.2.1 step 4, §8.1.2.2).
    fn mac(&self, rand: &Rand, sqn: Sqn, amf: &Amf) -> [u8; 8] {
        let xd = self.xdout(rand);
        let mut cd = [0u8; 8];
        cd[..6].copy_from_slice(&sqn.to_bytes());
        cd[6..].copy_from_slice(amf);
        cd.iter_mut().zip(xd.expose()).for_each(|(c, x)| *c ^= x);
        cd
    }

    fn ak(&self, rand: &Rand) -> [u8; 6] {
        let mut ak = [0u8; 6];
        ak.copy_from_slice(&self.xdout(rand).expose()[3..9]);
        ak
    }
}

impl AkaFunctions for TestXor {
    fn f1(&self, rand: &Rand, sqn: Sqn, amf: &Amf) -> [u8; 8] {
        self.mac(rand, sqn, amf)
    }

    fn f1_star(&self, rand: &Rand, sqn: Sqn, amf: &Amf) -> [u8; 8] {
        self.mac(rand, sqn, amf)
    }

    fn f2345(&self, rand: &Rand) -> Outputs {
        let xd = self.xdout(rand);
        let x = xd.expose();
        let rotated = |by: usize| {
            let mut k = [0u8; 16];
            k[..16 - by].copy_from_slice(&x[by..]);
            k[16 - by..].copy_from_slice(&x[..by]);
            Key128::new(k)
        };
        Outputs {
            res: Res::prefix(x, self.res_len),
            ck: rotated(1),
            ik: rotated(2),
            ak: self.ak(rand),
        }
    }

    fn f5_star(&self, rand: &Rand) -> [u8; 6] {
        self.ak(rand)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn res_length_is_capped() {
        let k = Key128::new([1; 16]);
        assert!(TestXor::with_res_len(&k, 3).is_err());
        assert!(TestXor::with_res_len(&k, 17).is_err());
        let x = TestXor::with_res_len(&k, 8).unwrap();
        assert_eq!(x.f2345(&[0; 16]).res.as_bytes(), &[1; 8]);
    }
}
