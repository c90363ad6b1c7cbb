//! The card's side of AUTHENTICATE, 3GPP TS 31.102 §7.1.2 (security contexts of §7.1.1):
//! parse the command ([`AuthenticateCommand::decode`]), then run it ([`Usim::authenticate`])
//! to a typed [`AuthOutcome`] whose [`AuthOutcome::response_data`] the card sends.
//!
//! - 3G context (P2 = 81): data `L RAND L AUTN` (16 bytes each). The USIM recovers
//!   SQN = (SQN xor AK) xor f5(RAND), checks MAC = f1(SQN, RAND, AMF) first, then the
//!   freshness of SQN (TS 33.102 §6.3.3, Annex C). Success answers
//!   `DB L RES L CK L IK` (+ `L Kc` when the profile offers GSM access, UST service 27),
//!   a stale SQN answers `DC 0E AUTS` with AUTS = (SQN_MS xor f5*(RAND)) ||
//!   f1*(SQN_MS, RAND, AMF = 0000) (TS 33.102 §6.3.3), both with 9000; a MAC mismatch is
//!   [`AuthOutcome::MacFailure`], which the card answers with SW 9862.
//! - GSM context (P2 = 80, optional, [`Usim::gsm_context`]): data `L RAND`; answers
//!   `04 SRES 08 Kc` with SRES = c2(RES), Kc = c3(CK, IK) (TS 33.102 §6.8.1.2).
//!
//! The SQN state changes only on a successful 3G authentication.

use super::sqn::{SqnConfig, SqnState};
use super::{
    c2, c3, ct_eq, xor6, AkaError, AkaFunctions, Algorithm, Autn, Auts, Kc, Key128, Rand, Res, Sqn,
};
use zeroize::Zeroizing;

/// P1 of AUTHENTICATE (TS 31.102 §7.1.2: '00').
pub const P1: u8 = 0x00;
/// P2 for the GSM security context (b8 = 1 "specific reference data", context 000).
pub const P2_GSM: u8 = 0x80;
/// P2 for the 3G security context (context 001).
pub const P2_3G: u8 = 0x81;
/// The status word of an authentication error, incorrect MAC (TS 31.102 §7.1.2.2).
pub const SW_MAC_FAILURE: u16 = 0x9862;

/// The security context of the command (TS 31.102 §7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Gsm,
    Umts,
}

/// A decoded AUTHENTICATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthenticateCommand {
    Gsm { rand: Rand },
    Umts { rand: Rand, autn: Autn },
}

impl AuthenticateCommand {
    /// Parses P1, P2 and the data of TS 31.102 §7.1.2.1 ('L RAND [L AUTN]').
    pub fn decode(p1: u8, p2: u8, data: &[u8]) -> Result<Self, AkaError> {
        let context = match (p1, p2) {
            (P1, P2_GSM) => Context::Gsm,
            (P1, P2_3G) => Context::Umts,
            _ => return Err(AkaError::UnsupportedContext { p1, p2 }),
        };
        let (rand, rest) = lv16(data, &RAND_ERRORS)?;
        match context {
            Context::Gsm if rest.is_empty() => Ok(Self::Gsm { rand }),
            Context::Gsm => Err(AkaError::CommandData("bytes after RAND")),
            Context::Umts => {
                let (autn, rest) = lv16(rest, &AUTN_ERRORS)?;
                if !rest.is_empty() {
                    return Err(AkaError::CommandData("bytes after AUTN"));
                }
                Ok(Self::Umts { rand, autn })
            }
        }
    }

    /// The command data (the network side's encoding).
    pub fn encode_data(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(34);
        let (rand, autn) = match self {
            Self::Gsm { rand } => (rand, None),
            Self::Umts { rand, autn } => (rand, Some(autn)),
        };
        out.push(16);
        out.extend_from_slice(rand);
        if let Some(a) = autn {
            out.push(16);
            out.extend_from_slice(a);
        }
        out
    }

    pub fn context(&self) -> Context {
        match self {
            Self::Gsm { .. } => Context::Gsm,
            Self::Umts { .. } => Context::Umts,
        }
    }
}

/// The errors of one missing, mislabelled or short length-value.
struct LvErrors {
    missing: &'static str,
    bad_length: &'static str,
    short: &'static str,
}

const RAND_ERRORS: LvErrors = LvErrors {
    missing: "no RAND",
    bad_length: "RAND length is not 16",
    short: "RAND shorter than its length",
};

const AUTN_ERRORS: LvErrors = LvErrors {
    missing: "no AUTN",
    bad_length: "AUTN length is not 16",
    short: "AUTN shorter than its length",
};

/// One length-value of exactly 16 bytes, and what follows it.
fn lv16<'a>(data: &'a [u8], e: &LvErrors) -> Result<([u8; 16], &'a [u8]), AkaError> {
    let (&len, rest) = data.split_first().ok_or(AkaError::CommandData(e.missing))?;
    if len != 16 {
        return Err(AkaError::CommandData(e.bad_length));
    }
    let value = rest.get(..16).ok_or(AkaError::CommandData(e.short))?;
    let mut v = [0u8; 16];
    v.copy_from_slice(value);
    Ok((v, &rest[16..]))
}

/// What AUTHENTICATE gave.
#[derive(Debug, Clone)]
pub enum AuthOutcome {
    /// 3G context, MAC and SQN good (the SQN state has been updated).
    Success {
        res: Res,
        ck: Key128,
        ik: Key128,
        /// Present when the profile offers GSM access (UST service 27).
        kc: Option<Kc>,
    },
    /// 3G context, MAC good but SQN not fresh: answer AUTS (state unchanged).
    SyncFailure { auts: Auts },
    /// 3G context, MAC wrong: SW 9862, no data (state unchanged).
    MacFailure,
    /// GSM context.
    Gsm { sres: [u8; 4], kc: Kc },
}

impl AuthOutcome {
    /// The response data of TS 31.102 §7.1.2.1 (empty for a MAC failure). Holds CK/IK/Kc:
    /// zeroized on drop.
    pub fn response_data(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(54));
        match self {
            Self::Success { res, ck, ik, kc } => {
                out.push(0xDB);
                push_lv(&mut out, res.as_bytes());
                push_lv(&mut out, ck.expose());
                push_lv(&mut out, ik.expose());
                if let Some(kc) = kc {
                    push_lv(&mut out, kc.expose());
                }
            }
            Self::SyncFailure { auts } => {
                out.push(0xDC);
                push_lv(&mut out, auts);
            }
            Self::MacFailure => {}
            Self::Gsm { sres, kc } => {
                push_lv(&mut out, sres);
                push_lv(&mut out, kc.expose());
            }
        }
        out
    }

    /// The status word to send with [`Self::response_data`] (before any 61xx chaining).
    pub fn status_word(&self) -> u16 {
        match self {
            Self::MacFailure => SW_MAC_FAILURE,
            _ => 0x9000,
        }
    }
}

fn push_lv(out: &mut Vec<u8>, v: &[u8]) {
    // Every value here is at most 16 bytes.
    out.push(v.len() as u8);
    out.extend_from_slice(v);
}

/// A USIM's authentication: its algorithm and the parameters of its profile.
#[derive(Debug, Clone)]
pub struct Usim {
    pub algorithm: Algorithm,
    /// Annex C checks; `None` accepts every SQN whose MAC verifies (SAIP ignores the SQN
    /// options for the TS 34.108 test algorithm, whose test USIM takes the SQN of AUTN).
    pub sqn: Option<SqnConfig>,
    /// GSM access offered (UST service 27): Kc in the 3G answer.
    pub include_kc: bool,
    /// Whether the GSM context (P2 = 80) is served.
    pub gsm_context: bool,
}

impl Usim {
    /// Annex C with its defaults, no GSM.
    pub fn new(algorithm: Algorithm) -> Self {
        Self {
            algorithm,
            sqn: Some(SqnConfig::DEFAULT),
            include_kc: false,
            gsm_context: false,
        }
    }

    /// Runs a decoded AUTHENTICATE. `state` changes only for [`AuthOutcome::Success`].
    /// Errors: a GSM command when [`Self::gsm_context`] is off, or a `state` that does not
    /// fit [`Self::sqn`].
    pub fn authenticate(
        &self,
        state: &mut SqnState,
        cmd: &AuthenticateCommand,
    ) -> Result<AuthOutcome, AkaError> {
        match cmd {
            AuthenticateCommand::Gsm { rand } => {
                if !self.gsm_context {
                    return Err(AkaError::UnsupportedContext { p1: P1, p2: P2_GSM });
                }
                let o = self.algorithm.f2345(rand);
                Ok(AuthOutcome::Gsm {
                    sres: c2(&o.res),
                    kc: c3(&o.ck, &o.ik),
                })
            }
            AuthenticateCommand::Umts { rand, autn } => self.authenticate_3g(state, rand, autn),
        }
    }

    fn authenticate_3g(
        &self,
        state: &mut SqnState,
        rand: &Rand,
        autn: &Autn,
    ) -> Result<AuthOutcome, AkaError> {
        if let Some(cfg) = &self.sqn {
            state.validate(cfg)?;
        }
        let alg = &self.algorithm;
        let o = alg.f2345(rand);
        let mut conc = [0u8; 6];
        conc.copy_from_slice(&autn[..6]);
        let amf = [autn[6], autn[7]];
        let sqn = Sqn::from_bytes(xor6(&conc, &o.ak));
        // TS 33.102 §6.3.3: MAC first ...
        if !ct_eq(&alg.f1(rand, sqn, &amf), &autn[8..]) {
            return Ok(AuthOutcome::MacFailure);
        }
        // ... then the freshness of SQN.
        if let Some(cfg) = &self.sqn {
            if state.check(cfg, sqn)?.is_err() {
                return Ok(AuthOutcome::SyncFailure {
                    auts: auts(alg, rand, state.sqn_ms(cfg)?),
                });
            }
            state.accept(cfg, sqn)?;
        }
        let kc = self.include_kc.then(|| c3(&o.ck, &o.ik));
        Ok(AuthOutcome::Success {
            res: o.res,
            ck: o.ck,
            ik: o.ik,
            kc,
        })
    }
}

/// AUTS = (SQN_MS xor f5*(RAND)) || f1*(SQN_MS, RAND, AMF = 0000) (TS 33.102 §6.3.3:
/// "the dummy value of AMF = 0 is used").
pub fn auts(alg: &impl AkaFunctions, rand: &Rand, sqn_ms: Sqn) -> Auts {
    let mut out = [0u8; 14];
    out[..6].copy_from_slice(&xor6(&sqn_ms.to_bytes(), &alg.f5_star(rand)));
    out[6..].copy_from_slice(&alg.f1_star(rand, sqn_ms, &[0, 0]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_refuses_what_31_102_does_not_lay_out() {
        let mut ok = vec![16];
        ok.extend([1u8; 16]);
        ok.push(16);
        ok.extend([2u8; 16]);
        let cmd = AuthenticateCommand::decode(0, 0x81, &ok).unwrap();
        assert_eq!(
            cmd,
            AuthenticateCommand::Umts {
                rand: [1; 16],
                autn: [2; 16]
            }
        );
        assert_eq!(cmd.encode_data(), ok);
        assert!(matches!(
            AuthenticateCommand::decode(0, 0x82, &ok),
            Err(AkaError::UnsupportedContext { p1: 0, p2: 0x82 })
        ));
        assert!(AuthenticateCommand::decode(1, 0x81, &ok).is_err());
        assert!(AuthenticateCommand::decode(0, 0x81, &ok[..33]).is_err());
        let mut long = ok.clone();
        long.push(0);
        assert!(AuthenticateCommand::decode(0, 0x81, &long).is_err());
        let mut bad_len = ok.clone();
        bad_len[17] = 15;
        assert!(AuthenticateCommand::decode(0, 0x81, &bad_len).is_err());
        assert!(AuthenticateCommand::decode(0, 0x81, &[]).is_err());
        assert_eq!(
            AuthenticateCommand::decode(0, 0x80, &ok[..17]).unwrap(),
            AuthenticateCommand::Gsm { rand: [1; 16] }
        );
        assert!(AuthenticateCommand::decode(0, 0x80, &ok).is_err());
    }
}
