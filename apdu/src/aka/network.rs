//! The network's side, for tests and a later SM-DP+ / HSS: an authentication vector from
//! K (inside the algorithm), SQN and AMF (TS 33.102 §6.3.2), and the resynchronisation
//! from AUTS (TS 33.102 §6.3.5). RAND comes from the caller (an injected RNG).

use super::{ct_eq, xor6, AkaError, AkaFunctions, Amf, Autn, Auts, Key128, Rand, Res, Sqn};

/// An authentication vector (RAND, XRES, CK, IK, AUTN), TS 33.102 §6.3.2.
#[derive(Debug, Clone)]
pub struct AuthVector {
    pub rand: Rand,
    pub xres: Res,
    pub ck: Key128,
    pub ik: Key128,
    /// AUTN = (SQN xor AK) || AMF || MAC.
    pub autn: Autn,
}

/// The vector for `rand`, `sqn` and `amf`.
pub fn generate_vector(alg: &impl AkaFunctions, rand: &Rand, sqn: Sqn, amf: &Amf) -> AuthVector {
    let o = alg.f2345(rand);
    let mut autn = [0u8; 16];
    autn[..6].copy_from_slice(&xor6(&sqn.to_bytes(), &o.ak));
    autn[6..8].copy_from_slice(amf);
    autn[8..].copy_from_slice(&alg.f1(rand, sqn, amf));
    AuthVector {
        rand: *rand,
        xres: o.res,
        ck: o.ck,
        ik: o.ik,
        autn,
    }
}

/// SQN_MS from AUTS for the RAND it answered: SQN_MS = AUTS[0..6] xor f5*(RAND), accepted
/// only when AUTS[6..14] = f1*(SQN_MS, RAND, AMF = 0000) (TS 33.102 §6.3.5). The HE then
/// continues from SQN_MS (its next SQN has a higher SEQ).
pub fn resynchronise(alg: &impl AkaFunctions, rand: &Rand, auts: &Auts) -> Result<Sqn, AkaError> {
    let mut conc = [0u8; 6];
    conc.copy_from_slice(&auts[..6]);
    let sqn_ms = Sqn::from_bytes(xor6(&conc, &alg.f5_star(rand)));
    if !ct_eq(&alg.f1_star(rand, sqn_ms, &[0, 0]), &auts[6..]) {
        return Err(AkaError::AutsMac);
    }
    Ok(sqn_ms)
}
