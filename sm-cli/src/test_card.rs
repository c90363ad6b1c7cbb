//! Unit-test support: a card-sim card on a fake PC/SC link that hands each APDU straight
//! to its transport (the same bytes as through pcscd + vpcd, without them), and the
//! terminal's answers given ahead of time. Shared by the in-process flow tests
//! (`commands::method`, `sm::remote`) and the LPA download tests.

use crate::errors::CliError;
use crate::reader::{CardLink, Secrecy};
use crate::terminal::answers::GivenParameter;
use crate::terminal::prompt::NoPrompter;
use crate::terminal::Answers;
use card_sim::card::{atr, Euicc};
use card_sim::state::new_card::{derive_eid, new_card};
use card_sim::state::{MemoryStorage, Storage};
use card_sim::transport::Transport;
use card_sim::vpcd::Card;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::sync::Arc;
use zeroize::Zeroizing;

/// A fresh card, powered on: EID `derive_eid(Some(eid_seed), slot)`, its random numbers
/// from `rng_seed`; `storage` holds what it saves.
pub struct SimLink {
    pub card: Transport<Euicc>,
    pub storage: Arc<MemoryStorage>,
}

impl SimLink {
    pub fn new(eid_seed: u64, slot: u16, rng_seed: u64) -> SimLink {
        let storage = Arc::new(MemoryStorage::new());
        let state = new_card(derive_eid(Some(eid_seed), slot), 0);
        storage.save(&state).unwrap();
        let euicc = Euicc::new(
            state,
            Box::new(storage.clone()),
            ChaCha20Rng::seed_from_u64(rng_seed),
            atr::DEFAULT_ATR.to_vec(),
        );
        let mut card = Transport::new(euicc);
        card.power_on();
        SimLink { card, storage }
    }

    /// A power cycle: volatile state (a session, a derived key) is gone.
    pub fn restart(&mut self) {
        self.card.power_off();
        self.card.power_on();
    }
}

impl CardLink for SimLink {
    fn transmit_raw(&mut self, apdu: &[u8], _: Secrecy) -> Result<Vec<u8>, CliError> {
        Ok(self.card.transmit(apdu))
    }
}

/// A key-generation parameter given ahead of time.
pub fn param(s: &str) -> Option<GivenParameter> {
    Some(GivenParameter::new(Zeroizing::new(s.into()), "test").unwrap())
}

/// The terminal's answers for OP ID `op` and `imei`, the parameters given ahead of time,
/// no prompts.
pub fn answers(op: &str, imei: &str, current: Option<&str>, new: Option<&str>) -> Answers {
    Answers {
        op_id: Some(op.into()),
        imei: Some(imei.into()),
        current: current.and_then(param),
        new: new.and_then(param),
        prompter: Box::new(NoPrompter),
    }
}
