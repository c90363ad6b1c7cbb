//! The USIM's sequence-number management, 3GPP TS 33.102 Annex C (C.1.1, C.2.1 to C.2.3).
//!
//! SQN = SEQ || IND, IND of `ind_bits` bits (Annex C.1.1; 5 by default, which matches
//! SAIP's `sqnInit`: 32 entries of SEQ "not including the index"). The USIM keeps an array
//! SEQ_MS(i) of the highest SEQ accepted with IND = i, and SEQ_MS = the highest of them.
//! A received SQN = SEQ || i is fresh when:
//! - C.2.1 (wrap-around protection, limit Δ = SAIP `sqnDelta`): SEQ - SEQ_MS <= Δ;
//! - C.2.2: SEQ > SEQ_MS(i);
//! - C.2.3 (optional age limit L = SAIP `sqnAgeLimit`): SEQ_MS - SEQ <= L.
//!
//! On acceptance SEQ_MS(i) := SEQ, nothing else. A synchronisation failure reports SQN_MS,
//! the highest accepted sequence number: SEQ_MS with the IND of the entry holding it.
//! [`SqnState`] is a plain value (serde) the card persists; only [`SqnState::accept`]
//! changes it, and [`super::Usim`] calls that only after a successful authentication.
//!
//! How SAIP's one-byte `sqnOptions` switches these checks is not read here: the SAIP
//! reader maps it onto [`SqnConfig`]'s fields.

use super::{AkaError, Sqn};
use serde::{Deserialize, Serialize};

/// The largest IND length this implementation keeps an array for (1024 entries).
pub const MAX_IND_BITS: u8 = 10;
/// SAIP's cap on `sqnDelta`, `sqnAgeLimit` and `sqnInit` values: `'07FFFFFFFFFF'H`.
pub const SAIP_MAX: u64 = 0x07FF_FFFF_FFFF;

/// The parameters of Annex C's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqnConfig {
    ind_bits: u8,
    delta: Option<u64>,
    age_limit: Option<u64>,
}

impl SqnConfig {
    /// TS 33.102 Annex C / SAIP defaults: IND of 5 bits, Δ = 2^28 (`'000010000000'H`),
    /// L = 2^28.
    pub const DEFAULT: Self = Self {
        ind_bits: 5,
        delta: Some(1 << 28),
        age_limit: Some(1 << 28),
    };

    /// `delta` / `age_limit` `None` switch C.2.1 / C.2.3 off.
    pub fn new(ind_bits: u8, delta: Option<u64>, age_limit: Option<u64>) -> Result<Self, AkaError> {
        if ind_bits > MAX_IND_BITS {
            return Err(AkaError::SqnConfig("IND longer than 10 bits"));
        }
        let seq_max = Sqn::MAX >> ind_bits;
        if delta.is_some_and(|d| d > seq_max) || age_limit.is_some_and(|l| l > seq_max) {
            return Err(AkaError::SqnConfig("delta or age limit larger than SEQ"));
        }
        Ok(Self {
            ind_bits,
            delta,
            age_limit,
        })
    }

    /// From SAIP PE-AKAParameter's `sqnDelta` and `sqnAgeLimit` (6 bytes each, at most
    /// `'07FFFFFFFFFF'H`), IND of 5 bits, both checks on.
    pub fn from_saip(sqn_delta: [u8; 6], sqn_age_limit: [u8; 6]) -> Result<Self, AkaError> {
        let (d, l) = (
            Sqn::from_bytes(sqn_delta).value(),
            Sqn::from_bytes(sqn_age_limit).value(),
        );
        if d > SAIP_MAX || l > SAIP_MAX {
            return Err(AkaError::SqnConfig(
                "sqnDelta or sqnAgeLimit above '07FFFFFFFFFF'H",
            ));
        }
        Self::new(5, Some(d), Some(l))
    }

    pub fn ind_bits(&self) -> u8 {
        self.ind_bits
    }

    pub fn delta(&self) -> Option<u64> {
        self.delta
    }

    pub fn age_limit(&self) -> Option<u64> {
        self.age_limit
    }

    /// The number of SEQ_MS(i) entries, 2^ind_bits.
    pub fn entries(&self) -> usize {
        1 << self.ind_bits
    }
}

impl Default for SqnConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why a received SQN is not fresh (the card answers a synchronisation failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// C.2.1: SEQ - SEQ_MS > Δ.
    TooFarAhead,
    /// C.2.2: SEQ <= SEQ_MS(IND) (e.g. a replayed AUTN).
    NotNewer,
    /// C.2.3: SEQ_MS - SEQ > L.
    TooOld,
}

/// The array SEQ_MS(0..2^ind_bits) of Annex C.2.2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqnState {
    seq_ms: Vec<u64>,
}

impl SqnState {
    /// All entries zero (SAIP's default `sqnInit`).
    pub fn new(cfg: &SqnConfig) -> Self {
        Self {
            seq_ms: vec![0; cfg.entries()],
        }
    }

    /// From initial SEQ values (SAIP `sqnInit`: 32 entries, without IND).
    pub fn from_seqs(cfg: &SqnConfig, seqs: Vec<u64>) -> Result<Self, AkaError> {
        let s = Self { seq_ms: seqs };
        s.validate(cfg)?;
        Ok(s)
    }

    /// From SAIP `sqnInit` (6-byte values, each at most `'07FFFFFFFFFF'H`).
    pub fn from_saip(cfg: &SqnConfig, sqn_init: &[[u8; 6]]) -> Result<Self, AkaError> {
        let seqs: Vec<u64> = sqn_init
            .iter()
            .map(|b| Sqn::from_bytes(*b).value())
            .collect();
        if seqs.iter().any(|&s| s > SAIP_MAX) {
            return Err(AkaError::SqnState("sqnInit value above '07FFFFFFFFFF'H"));
        }
        Self::from_seqs(cfg, seqs)
    }

    /// SEQ_MS(i) for every i.
    pub fn seqs(&self) -> &[u64] {
        &self.seq_ms
    }

    /// A stored state (e.g. read back from the card's file) that fits `cfg`.
    pub fn validate(&self, cfg: &SqnConfig) -> Result<(), AkaError> {
        if self.seq_ms.len() != cfg.entries() {
            return Err(AkaError::SqnState("entry count is not 2^IND bits"));
        }
        let seq_max = Sqn::MAX >> cfg.ind_bits;
        if self.seq_ms.iter().any(|&s| s > seq_max) {
            return Err(AkaError::SqnState("SEQ larger than 48 bits minus IND"));
        }
        Ok(())
    }

    /// SQN_MS: the highest accepted SEQ with the IND of its entry (the lowest such IND).
    pub fn sqn_ms(&self, cfg: &SqnConfig) -> Result<Sqn, AkaError> {
        self.validate(cfg)?;
        let (ind, seq) = self.highest();
        Sqn::from_parts(seq, ind, cfg.ind_bits).ok_or(AkaError::SqnState("SQN_MS out of range"))
    }

    fn highest(&self) -> (u32, u64) {
        let mut best = (0u32, 0u64);
        for (i, &s) in self.seq_ms.iter().enumerate() {
            if s > best.1 {
                // i < 2^MAX_IND_BITS once validated.
                best = (u32::try_from(i).unwrap_or(u32::MAX), s);
            }
        }
        best
    }

    /// Annex C.2.1 to C.2.3 for a received SQN; changes nothing.
    pub fn check(&self, cfg: &SqnConfig, sqn: Sqn) -> Result<Result<(), Stale>, AkaError> {
        self.validate(cfg)?;
        let (seq, ind) = (sqn.seq(cfg.ind_bits), sqn.ind(cfg.ind_bits) as usize);
        let (_, seq_ms) = self.highest();
        if let Some(delta) = cfg.delta {
            if seq > seq_ms && seq - seq_ms > delta {
                return Ok(Err(Stale::TooFarAhead));
            }
        }
        // validate() made the array 2^ind_bits long and ind < 2^ind_bits.
        let entry = self.seq_ms.get(ind).copied().unwrap_or(u64::MAX);
        if seq <= entry {
            return Ok(Err(Stale::NotNewer));
        }
        if let Some(limit) = cfg.age_limit {
            if seq_ms > seq && seq_ms - seq > limit {
                return Ok(Err(Stale::TooOld));
            }
        }
        Ok(Ok(()))
    }

    /// SEQ_MS(IND) := SEQ (Annex C.2.2), after [`Self::check`] found `sqn` fresh.
    pub fn accept(&mut self, cfg: &SqnConfig, sqn: Sqn) -> Result<(), AkaError> {
        self.validate(cfg)?;
        let ind = sqn.ind(cfg.ind_bits) as usize;
        let seq = sqn.seq(cfg.ind_bits);
        match self.seq_ms.get_mut(ind) {
            Some(e) => {
                *e = seq;
                Ok(())
            }
            None => Err(AkaError::SqnState("IND outside the array")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqn(seq: u64, ind: u32) -> Sqn {
        Sqn::from_parts(seq, ind, 5).unwrap()
    }

    #[test]
    fn each_ind_keeps_its_own_highest_seq() {
        let cfg = SqnConfig::DEFAULT;
        let mut st = SqnState::new(&cfg);
        assert_eq!(st.check(&cfg, sqn(0, 0)).unwrap(), Err(Stale::NotNewer));
        st.accept(&cfg, sqn(5, 1)).unwrap();
        // Same IND, same SEQ: a replay.
        assert_eq!(st.check(&cfg, sqn(5, 1)).unwrap(), Err(Stale::NotNewer));
        // Another IND with a lower SEQ is still fresh (the point of the array).
        assert_eq!(st.check(&cfg, sqn(3, 2)).unwrap(), Ok(()));
        assert_eq!(st.sqn_ms(&cfg).unwrap(), sqn(5, 1));
    }

    #[test]
    fn delta_and_age_limits() {
        let cfg = SqnConfig::new(5, Some(10), Some(4)).unwrap();
        let mut st = SqnState::new(&cfg);
        st.accept(&cfg, sqn(20, 0)).unwrap();
        assert_eq!(st.check(&cfg, sqn(30, 1)).unwrap(), Ok(()));
        assert_eq!(st.check(&cfg, sqn(31, 1)).unwrap(), Err(Stale::TooFarAhead));
        assert_eq!(st.check(&cfg, sqn(16, 1)).unwrap(), Ok(()));
        assert_eq!(st.check(&cfg, sqn(15, 1)).unwrap(), Err(Stale::TooOld));
        let off = SqnConfig::new(5, None, None).unwrap();
        assert_eq!(st.check(&off, sqn(1 << 40, 1)).unwrap(), Ok(()));
        assert_eq!(st.check(&off, sqn(1, 1)).unwrap(), Ok(()));
    }

    #[test]
    fn config_and_state_caps() {
        assert!(SqnConfig::new(11, None, None).is_err());
        assert!(SqnConfig::new(5, Some(1 << 43), None).is_err());
        assert!(SqnConfig::from_saip([0x08, 0, 0, 0, 0, 0], [0; 6]).is_err());
        assert_eq!(
            SqnConfig::from_saip([0, 0, 0x10, 0, 0, 0], [0, 0, 0x10, 0, 0, 0]).unwrap(),
            SqnConfig::DEFAULT
        );
        let cfg = SqnConfig::DEFAULT;
        assert!(SqnState::from_seqs(&cfg, vec![0; 31]).is_err());
        assert!(SqnState::from_saip(&cfg, &[[0xff; 6]; 32]).is_err());
        let st = SqnState::from_saip(&cfg, &[[0, 0, 0, 0, 0, 7]; 32]).unwrap();
        assert_eq!(st.seqs()[31], 7);
        let json = serde_json::to_string(&st).unwrap();
        assert_eq!(serde_json::from_str::<SqnState>(&json).unwrap(), st);
    }
}
