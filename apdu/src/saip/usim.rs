//! From a package's PE-AKAParameter (SAIP v3.3.1 §8.6.1) to the USIM's AUTHENTICATE
//! ([`crate::aka::Usim`]) and its initial SQN state ([`crate::aka::SqnState`]).
//!
//! - `algorithmID`: milenage(1) with `rotationConstants` / `xoringConstants` (SAIP
//!   defaults = TS 35.206 §4.1), usim-test-algorithm(3) (TS 34.108 §8.1.2, 128-bit RES);
//!   TUAK(2) and `mappingParameter` are refused (the card does not run them).
//! - `sqnOptions` (one byte, DEFAULT `02`), as this card reads it: bit `02` turns on the
//!   wrap-around check of TS 33.102 Annex C.2.1 with `sqnDelta`, bit `04` the age limit of
//!   C.2.3 with `sqnAgeLimit`; C.2.2 (SEQ newer than SEQ_MS(IND)) always holds, IND has 5
//!   bits (SAIP's 32 `sqnInit` entries). The test algorithm takes every SQN whose MAC
//!   verifies (no Annex C), as the TS 34.108 test USIM does.
//! - EF.UST service 27 (GSM access, TS 31.102 §4.2.8) puts Kc into the 3G answer and
//!   serves the GSM context (P2 = 80).

use super::aka::{AkaParameter, AlgoConfiguration, Algorithm, DEFAULT_ROTATION};
use crate::aka::{
    self, AkaError, Key128, Milenage, MilenageConstants, SqnConfig, SqnState, TestXor,
};

/// UST service 27, "GSM Access".
pub const UST_GSM_ACCESS: usize = 27;

/// Whether service `n` (1-based) is set in an EF.UST content.
pub fn ust_has(ust: &[u8], n: usize) -> bool {
    n > 0
        && ust
            .get((n - 1) / 8)
            .is_some_and(|b| b & (1 << ((n - 1) % 8)) != 0)
}

/// The USIM of `p` and its SQN state before any authentication; `ust` is the ADF's
/// EF.UST content, if it has one.
pub fn usim(p: &AkaParameter, ust: Option<&[u8]>) -> Result<(aka::Usim, SqnState), AkaError> {
    let AlgoConfiguration::Parameters(a) = &p.config else {
        return Err(AkaError::Parameter("mappingParameter is not supported"));
    };
    let key = Key128::from_slice(a.key.expose())
        .ok_or(AkaError::Parameter("the key must be 16 bytes"))?;
    let (algorithm, sqn) = match a.algorithm {
        Algorithm::Milenage => {
            let opc = Key128::from_slice(a.opc.expose())
                .ok_or(AkaError::Parameter("OPc must be 16 bytes"))?;
            let rotation = a.rotation.unwrap_or(DEFAULT_ROTATION);
            let constants = MilenageConstants::from_saip(&rotation, &a.xoring_or_default())?;
            let options = p.sqn_options_or_default();
            let delta =
                (options & 0x02 != 0).then(|| aka::Sqn::from_bytes(p.sqn_delta_or_default()));
            let age =
                (options & 0x04 != 0).then(|| aka::Sqn::from_bytes(p.sqn_age_limit_or_default()));
            let cfg = SqnConfig::new(5, delta.map(aka::Sqn::value), age.map(aka::Sqn::value))?;
            let m = Milenage::with_constants(&key, &opc, constants);
            (aka::Algorithm::from(m), Some(cfg))
        }
        Algorithm::UsimTestAlgorithm => (aka::Algorithm::from(TestXor::new(&key)), None),
        Algorithm::Tuak => return Err(AkaError::Parameter("TUAK is not supported")),
    };
    let state = match (&sqn, &p.sqn_init) {
        (Some(cfg), Some(init)) => SqnState::from_saip(cfg, init)?,
        (Some(cfg), None) => SqnState::new(cfg),
        (None, _) => SqnState::new(&SqnConfig::DEFAULT),
    };
    let gsm = ust.is_some_and(|u| ust_has(u, UST_GSM_ACCESS));
    Ok((
        aka::Usim {
            algorithm,
            sqn,
            include_kc: gsm,
            gsm_context: gsm,
        },
        state,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saip::build::{build, Subscription};
    use crate::saip::{Element, Secret};

    fn aka_of(alg: Algorithm) -> AkaParameter {
        let s = Subscription {
            iccid: crate::sgp22::es10::Iccid::from_digits("89490000000000000042").unwrap(),
            imsi: "001010000000042".into(),
            msisdn: None,
            ki: Secret::new(vec![0x11; 16]),
            opc: Secret::new(vec![0x22; 16]),
            algorithm: alg,
            spn: "t".into(),
            profile_type: "test".into(),
            pin1: "1234".into(),
            puk1: "12345678".into(),
            adm1: "88888888".into(),
        };
        build(&s)
            .unwrap()
            .elements
            .into_iter()
            .find_map(|e| match e {
                Element::Aka(a) => Some(a),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn milenage_and_test_algorithm() {
        let (u, st) = usim(&aka_of(Algorithm::Milenage), None).unwrap();
        assert!(matches!(u.algorithm, aka::Algorithm::Milenage(_)));
        let cfg = u.sqn.unwrap();
        assert_eq!(cfg.delta(), Some(1 << 28));
        assert_eq!(cfg.age_limit(), None, "sqnOptions 02: no age limit");
        assert_eq!(st.seqs().len(), 32);
        assert!(!u.include_kc && !u.gsm_context);
        let (u, _) = usim(
            &aka_of(Algorithm::UsimTestAlgorithm),
            Some(&[0, 0, 0, 0x04]),
        )
        .unwrap();
        assert!(matches!(u.algorithm, aka::Algorithm::TestXor(_)));
        assert!(u.sqn.is_none() && u.include_kc && u.gsm_context);
        assert!(usim(&aka_of(Algorithm::Tuak), None).is_err());
        assert!(ust_has(&[0, 0, 0, 0x04], 27) && !ust_has(&[0xFF], 9) && !ust_has(&[], 0));
    }
}
