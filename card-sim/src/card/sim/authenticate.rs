//! AUTHENTICATE in ADF.USIM (3GPP TS 31.102 §7.1.2): the current application must be an
//! ADF whose PE-AKAParameter the card runs (`6985` otherwise), and its application PIN
//! (the first key reference of the ADF's PIN status template, TS 102 221 §9.5.1) verified
//! or disabled (`6982`). The algorithm, keys and SQN options come from the package
//! (`apdu::saip::usim`); SEQ_MS (TS 33.102 Annex C) starts at the package's `sqnInit` and
//! lives in the profile's persistent `sim.sqn`, saved with the answer that accepted an
//! SQN. Answers: `DB RES CK IK [Kc]` (success), `DC AUTS` (synchronisation failure), `9862`
//! (MAC failure), GSM context `SRES Kc` when EF.UST offers GSM access; CK, IK and Kc are
//! redacted in the `-v` log.

use super::super::Euicc;
use super::pins::pin_ok;
use apdu::aka::{AkaError, AuthOutcome, AuthenticateCommand};
use apdu::{Response, StatusWord};

impl Euicc {
    /// Whether channel `ch`'s current application authenticates (the lifecycle check).
    pub(in crate::card) fn sim_can_authenticate(&self, ch: usize) -> bool {
        let pos = self.vol.channels[ch].sim;
        let in_isdr = self.vol.channels[ch].selection == crate::state::volatile::Selection::IsdR;
        !in_isdr
            && pos
                .adf
                .is_some_and(|a| self.served().is_ok_and(|s| s.usim(a).is_some()))
    }

    pub(in crate::card) fn sim_authenticate(
        &mut self,
        ch: usize,
        cmd: &AuthenticateCommand,
    ) -> Result<Response, StatusWord> {
        let adf = self.vol.channels[ch]
            .sim
            .adf
            .ok_or(StatusWord::ConditionsNotSatisfied)?;
        let served = self.served()?;
        let u = served.usim(adf).ok_or(StatusWord::ConditionsNotSatisfied)?;
        // The application PIN: the ADF's key reference among 01-08 (TS 102 221 §9.5.1).
        let app_pin = served.fs.node(adf).and_then(|n| {
            n.pin_key_refs()
                .into_iter()
                .find(|k| (0x01..=0x08).contains(k))
        });
        let state = self.sim_state();
        if let Some(k) = app_pin {
            if !pin_ok(served, state, &self.vol.verified, Some(adf), k) {
                return Err(StatusWord::SecurityStatusNotSatisfied);
            }
        }
        let before = state
            .and_then(|s| s.sqn.get(&adf).cloned())
            .unwrap_or_else(|| u.initial.clone());
        let mut sqn = before.clone();
        let outcome = u.usim.authenticate(&mut sqn, cmd).map_err(|e| match e {
            AkaError::UnsupportedContext { .. } => StatusWord::IncorrectP1P2,
            e => {
                eprintln!("card-sim: AUTHENTICATE failed: {e}");
                StatusWord::NoPreciseDiagnosis
            }
        })?;
        if sqn != before {
            self.change_sim(|s| {
                s.sqn.insert(adf, sqn);
            });
        }
        match outcome {
            AuthOutcome::MacFailure => Err(StatusWord::AuthenticationMacFailure),
            o => Ok(Response::ok(o.response_data().to_vec())),
        }
    }
}
