//! Which KDF parameters the card derives a key with (issue 10, finding 7): the SM picks
//! them (docs/device-change-protocol.md, tag 8B), so the card bounds them on both sides
//! before it asks the user for anything or derives anything.
//!
//! - The **floor** ([`KdfFloor`]): a request cheaper than it would make the derived public
//!   key (85) and the signatures made with it (86, 88) cheap to brute-force offline.
//!   A card's floor is [`KdfParams::PRODUCTION`] unless the card was started for tests
//!   (`card-sim --kdf-floor test`): then [`KdfParams::TEST`]. The floor is an option read
//!   at each start, not part of the card's state: forgetting the flag on a restart makes
//!   the card stricter, never weaker, and no state file can lower it.
//! - The **ceiling** ([`MAX_MEMORY_KIB`], [`MAX_WORK_KIB`]): `apdu`'s caps bound what
//!   Argon2 may allocate (256 MiB, t=10), which still lets any PC/SC client make the card
//!   spend seconds of CPU per request; the card accepts at most twice the production
//!   work (memory x passes), about 0.5 s of Argon2id on the project machine.
//!
//! A request outside the bounds is answered `BadRequest` (result 9) at once.

use apdu::crypto::KdfParams;

/// Most memory the card lets a request ask for (KiB): 128 MiB, twice production.
pub const MAX_MEMORY_KIB: u32 = 128 * 1024;
/// Most Argon2 work (memory in KiB x passes) per request: twice production's 64 MiB x 3.
pub const MAX_WORK_KIB: u64 = 2 * 64 * 1024 * 3;

/// The card's KDF floor (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KdfFloor {
    /// [`KdfParams::PRODUCTION`]: every card-sim unless started with `--kdf-floor test`.
    Production,
    /// [`KdfParams::TEST`]: cards made for tests and CI only.
    Test,
}

impl KdfFloor {
    /// The cheapest parameters this floor admits.
    pub fn params(self) -> KdfParams {
        match self {
            KdfFloor::Production => KdfParams::PRODUCTION,
            KdfFloor::Test => KdfParams::TEST,
        }
    }

    /// Whether the card derives with `kdf`: no cheaper than the floor in memory and in
    /// passes, no dearer than the ceiling (module docs). Parallelism is `apdu`'s cap:
    /// the lanes share the memory and are computed one after the other.
    pub fn admits(self, kdf: &KdfParams) -> bool {
        let floor = self.params();
        let work = u64::from(kdf.memory_kib()) * u64::from(kdf.time_cost());
        kdf.algorithm() == floor.algorithm()
            && kdf.memory_kib() >= floor.memory_kib()
            && kdf.time_cost() >= floor.time_cost()
            && kdf.memory_kib() <= MAX_MEMORY_KIB
            && work <= MAX_WORK_KIB
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apdu::crypto::KdfAlgorithm::Argon2id;

    fn kdf(m: u32, t: u32, p: u32) -> KdfParams {
        KdfParams::new(Argon2id, m, t, p).unwrap()
    }

    #[test]
    fn production_cards_refuse_the_test_profile_test_cards_take_both() {
        assert!(!KdfFloor::Production.admits(&KdfParams::TEST));
        assert!(KdfFloor::Production.admits(&KdfParams::PRODUCTION));
        assert!(KdfFloor::Test.admits(&KdfParams::TEST));
        assert!(KdfFloor::Test.admits(&KdfParams::PRODUCTION));
        // Cheaper in one dimension only: refused.
        assert!(!KdfFloor::Production.admits(&kdf(64 * 1024, 2, 1)));
        assert!(!KdfFloor::Production.admits(&kdf(64 * 1024 - 1, 3, 1)));
        assert!(KdfFloor::Production.admits(&kdf(64 * 1024, 3, 4)));
    }

    #[test]
    fn the_ceiling_holds_for_every_floor() {
        for floor in [KdfFloor::Production, KdfFloor::Test] {
            // apdu's caps (256 MiB, t=10) are within KdfParams, beyond the card's.
            assert!(!floor.admits(&kdf(256 * 1024, 10, 4)));
            assert!(!floor.admits(&kdf(MAX_MEMORY_KIB + 1, 3, 1)));
            assert!(!floor.admits(&kdf(64 * 1024, 7, 1)));
            assert!(floor.admits(&kdf(64 * 1024, 6, 1)));
            assert!(floor.admits(&kdf(MAX_MEMORY_KIB, 3, 1)));
            assert!(!floor.admits(&kdf(MAX_MEMORY_KIB, 4, 1)));
        }
        assert!(KdfFloor::Test.admits(&kdf(1024, 10, 1)));
    }
}
