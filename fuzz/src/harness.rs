//! The `card_sequence` oracle: card-sim's transport and ISD-R dispatcher on memory
//! storage, fed the steps of [`crate::sequence`], exactly as the vpcd link would feed
//! them (`card_sim::vpcd::Card`). After every step:
//!
//! - every response APDU has 2 to 258 bytes (ISO/IEC 7816-4 §5.1, at most 256 data bytes
//!   per response: card-sim's GET RESPONSE rule) and SW1 `61`-`6F` or `90`-`9F`;
//! - when the step saved the state, the stored state loads back from its JSON
//!   (`PersistentState::from_json`), equals what was stored, passes `validate()`, and
//!   keeps the card's EID;
//! - at the end, the card's state in memory is the stored state (commit-before-answer).
//!
//! The card starts from a fixed state (SGP.26 test EID, PP#0 and 6 test profiles) with
//! its identity key and identity encryption key already made, each derived from a fixed
//! seed: device-change inputs then skip the RSA key generation of the first BF66 and of
//! the first identity-only BF68 / key-source-1 BF69, and answer the same on every run.
//! Its PKI is the shipped test one (`new_card`), so BF69 and BF6B authorised with the
//! shipped test DPpb (`sm_cli::sm::credential::SmCredential::test`) are accepted.

use crate::sequence::{self, Step};
use apdu::crypto::{IdentityKey, PrivateKey, Seed};
use apdu::Eid;
use card_sim::card::{atr, Euicc};
use card_sim::state::new_card::{derive_eid, new_card};
use card_sim::state::{MemoryStorage, PersistentState, Secret, Storage};
use card_sim::transport::Transport;
use card_sim::vpcd::Card as _;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::sync::{Arc, OnceLock};

/// Test profiles on the fuzzed card: enough for a GetProfilesInfo answer over 256 bytes.
pub const TEST_PROFILES: u8 = 6;

/// The EID of the fuzzed card.
pub fn eid() -> Eid {
    derive_eid(Some(1), 0)
}

/// PKCS#8 of the card's identity key, derived once per process from a fixed seed.
pub fn identity_pkcs8() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        PrivateKey::derive(&Seed::from_bytes([0x1D; 32]))
            .and_then(|k| k.to_pkcs8_der())
            .map(|der| der.to_vec())
            .expect("deriving the fuzz identity key")
    })
}

/// PKCS#8 of the card's identity encryption key (the key a key-source-1 BF69 is sealed
/// to), derived once per process from another fixed seed.
pub fn encryption_pkcs8() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        PrivateKey::derive(&Seed::from_bytes([0x1E; 32]))
            .and_then(|k| k.to_pkcs8_der())
            .map(|der| der.to_vec())
            .expect("deriving the fuzz identity encryption key")
    })
}

/// The card's identity encryption key (from [`encryption_pkcs8`]).
pub fn encryption_key() -> &'static IdentityKey {
    static KEY: OnceLock<IdentityKey> = OnceLock::new();
    KEY.get_or_init(|| {
        IdentityKey::from_pkcs8_der(encryption_pkcs8())
            .expect("loading the fuzz identity encryption key")
    })
}

/// The card's identity key (from [`identity_pkcs8`]), for the `sm_answers` card that
/// signs BF6C as this card does.
pub fn identity_key() -> &'static IdentityKey {
    static KEY: OnceLock<IdentityKey> = OnceLock::new();
    KEY.get_or_init(|| {
        IdentityKey::from_pkcs8_der(identity_pkcs8()).expect("loading the fuzz identity key")
    })
}

/// A powered-on card and its storage.
pub struct Sim {
    pub card: Transport<Euicc>,
    pub storage: Arc<MemoryStorage>,
    powered: bool,
    saves_checked: usize,
}

impl Default for Sim {
    fn default() -> Self {
        Self::new()
    }
}

impl Sim {
    /// The fixed starting card, powered on.
    pub fn new() -> Sim {
        let storage = Arc::new(MemoryStorage::new());
        let mut state = new_card(eid(), TEST_PROFILES);
        state.identity_key = Some(Secret::new(identity_pkcs8().to_vec()));
        state.identity_encryption_key = Some(Secret::new(encryption_pkcs8().to_vec()));
        storage.save(&state).expect("memory storage saves");
        let euicc = Euicc::new(
            state,
            Box::new(storage.clone()),
            ChaCha20Rng::seed_from_u64(1),
            atr::DEFAULT_ATR.to_vec(),
        );
        let mut card = Transport::new(euicc);
        card.power_on();
        let saves_checked = storage.saves();
        Sim {
            card,
            storage,
            powered: true,
            saves_checked,
        }
    }

    /// Runs one step and checks the invariants; returns the response of an APDU step.
    pub fn step(&mut self, step: &Step) -> Option<Vec<u8>> {
        let out = match step {
            Step::PowerOff => {
                self.card.power_off();
                self.powered = false;
                None
            }
            Step::PowerOn => {
                self.card.power_on();
                self.powered = true;
                None
            }
            Step::Reset => {
                self.card.reset();
                None
            }
            Step::Apdu(cmd) => {
                if !self.powered {
                    self.card.power_on();
                    self.powered = true;
                }
                let r = self.card.transmit(cmd);
                check_response(cmd, &r);
                Some(r)
            }
        };
        self.check_stored();
        out
    }

    /// Checks the stored state when a save happened since the last check.
    fn check_stored(&mut self) {
        let saves = self.storage.saves();
        if saves == self.saves_checked {
            return;
        }
        self.saves_checked = saves;
        let stored = self.storage.stored().expect("a saved state");
        let json = match stored.to_json() {
            Ok(j) => j,
            Err(e) => panic!("the stored state does not serialize: {e:#}"),
        };
        let reloaded = match PersistentState::from_json(&json) {
            Ok(s) => s,
            Err(e) => panic!("the stored state does not load back: {e:#}"),
        };
        assert_eq!(reloaded, stored, "the state changes through its JSON");
        if let Err(e) = stored.validate() {
            panic!("the stored state fails validate(): {e:#}");
        }
        assert_eq!(stored.eid, eid(), "the EID changed");
    }

    /// The end-of-input check: what the card holds is what it stored.
    pub fn finish(&mut self) {
        self.check_stored();
        let stored = self.storage.stored().expect("a saved state");
        assert!(
            self.card.applet().state() == &stored,
            "the card's state differs from the stored state"
        );
    }
}

/// ISO/IEC 7816-4 §5.1: data (at most 256 bytes here) and SW1 SW2 of a defined group.
pub fn check_response(cmd: &[u8], r: &[u8]) {
    assert!(
        (2..=258).contains(&r.len()),
        "a response of {} bytes to {}",
        r.len(),
        hex::encode_upper(&cmd[..cmd.len().min(64)])
    );
    let sw1 = r[r.len() - 2];
    assert!(
        (0x61..=0x6F).contains(&sw1) || (0x90..=0x9F).contains(&sw1),
        "SW1 {sw1:02X} in answer to {}",
        hex::encode_upper(&cmd[..cmd.len().min(64)])
    );
}

/// The `card_sequence` target.
pub fn card_sequence(data: &[u8]) {
    let mut sim = Sim::new();
    for step in sequence::decode(data) {
        sim.step(&step);
    }
    sim.finish();
}
