//! What a new card holds: the provisioning profile `PP#0` (class provisioning, enabled)
//! and, on request, test-class profiles (disabled), and an eUICC certificate under the
//! shipped test EUM ([`CardPki::issue_from_eid`]; card-sim's `main` issues one from the
//! card's RNG instead). ICCIDs are derived from the EID, so the same options give the
//! same card. The EID of a new card is derived from `--seed` when one is given
//! ([`derive_eid`]), else drawn at random ([`new_card_eid`]; issue 10), so fresh cards
//! on one slot never pose as the same eUICC.

use super::persistent::{PersistentState, SCHEMA_VERSION};
use super::pki::CardPki;
use super::profile::Profile;
use apdu::sgp22::es10::{Iccid, ProfileClass, ProfileState};
use apdu::Eid;

/// Most test profiles `--test-profiles` may preload.
pub const MAX_TEST_PROFILES: u8 = 99;
/// The root SM-DS address a new card is configured with (a name that resolves nowhere).
pub const ROOT_DS_ADDRESS: &str = "testrootsmds.example.com";

/// The EID of a new card without `--eid`: with `--seed`, [`derive_eid`] (the same seed
/// and slot give the same card, so recordings replay); without, an SGP.26 test EID with
/// 19 random serial digits from `rng`, so two fresh cards, on one slot or not, get
/// different EIDs (a repeat is a 1 in 10^19 chance). Either way the check digits are
/// valid (GSMA SGP.29 EID format: ISO 7064 mod 97-10, as [`Eid::test_eid`] computes).
pub fn new_card_eid<R: rand_core::Rng + ?Sized>(seed: Option<u64>, slot: u16, rng: &mut R) -> Eid {
    match seed {
        Some(_) => derive_eid(seed, slot),
        None => Eid::test_eid(rng.next_u64()),
    }
}

/// The SGP.26 test EID of a card: serial `seed * 1000 + slot` with `--seed`, else `slot`.
pub fn derive_eid(seed: Option<u64>, slot: u16) -> Eid {
    let serial = match seed {
        Some(s) => s.wrapping_mul(1000).wrapping_add(u64::from(slot)),
        None => u64::from(slot),
    };
    Eid::test_eid(serial)
}

/// The ICCID of profile `index` (0 = provisioning) on card `eid`: `89 99 0`, two digits of
/// index, the last 12 EID digits before its check digits, and a Luhn check digit (20 digits).
pub fn derive_iccid(eid: &Eid, index: u8) -> Iccid {
    let eid_digits = eid.digits();
    let tail = eid_digits.get(18..30).unwrap_or("000000000000");
    let body = format!("89990{:02}{tail}", index % 100);
    // `body` is decimal digits only, so the check digit exists.
    let check = apdu::luhn::check_digit(&body).unwrap_or(0);
    let digits = format!("{body}{check}");
    // 20 decimal digits always form a valid ICCID; the fallback is unreachable.
    Iccid::from_digits(&digits).unwrap_or(Iccid([0x98; 10]))
}

/// The ISD-P AID of profile `index`: SGP.02's `A0000005591010FFFFFFFF89 0000 1x00` pattern.
pub fn derive_aid(index: u8) -> Vec<u8> {
    let mut aid = apdu::sgp22::es10::ISDR_AID.to_vec();
    aid[13] = 0x00;
    aid[14] = 0x10u8.wrapping_add(index);
    aid[15] = 0x00;
    aid
}

/// A new card with `PP#0` enabled and `test_profiles` disabled test profiles.
pub fn new_card(eid: Eid, test_profiles: u8) -> PersistentState {
    let mut profiles = vec![Profile {
        iccid: derive_iccid(&eid, 0),
        aid: derive_aid(0),
        state: ProfileState::Enabled,
        class: ProfileClass::Provisioning,
        nickname: None,
        service_provider: Some("card-sim".into()),
        name: Some("PP#0".into()),
        notification_configs: Vec::new(),
        imsi: None,
        msisdn: None,
        ki: None,
        opc: None,
        package: None,
        sim: Default::default(),
    }];
    for i in 1..=test_profiles.min(MAX_TEST_PROFILES) {
        profiles.push(Profile {
            iccid: derive_iccid(&eid, i),
            aid: derive_aid(i),
            state: ProfileState::Disabled,
            class: ProfileClass::Test,
            nickname: None,
            service_provider: Some("Test Operator".into()),
            name: Some(format!("Test#{i}")),
            notification_configs: Vec::new(),
            // Test PLMN 001-01 (3GPP TS 23.003 reserves MCC 001 for testing).
            imsi: Some(format!("00101{:010}", i)),
            msisdn: None,
            ki: None,
            opc: None,
            package: None,
            sim: Default::default(),
        });
    }
    PersistentState {
        schema: SCHEMA_VERSION,
        eid,
        profiles,
        default_dp_address: None,
        root_ds_address: ROOT_DS_ADDRESS.into(),
        notifications: Vec::new(),
        next_notification_seq: 1,
        identity_key: None,
        identity_encryption_key: None,
        // Only the embedded test material can make this fail (tested); an empty PKI
        // would then be refused by `validate`.
        pki: CardPki::issue_from_eid(eid).unwrap_or(CardPki {
            chains: Vec::new(),
            trusted_ci: Vec::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_values() {
        // Textbook example: 7992739871 has check digit 3.
        assert_eq!(apdu::luhn::check_digit("7992739871"), Some(3));
        assert_eq!(apdu::luhn::check_digit("8901410321111851072"), Some(0));
    }

    #[test]
    fn new_card_is_valid_and_deterministic() {
        let eid = derive_eid(Some(7), 1);
        assert_eq!(eid, derive_eid(Some(7), 1));
        assert_ne!(eid, derive_eid(Some(7), 2));
        assert_ne!(derive_eid(None, 0), derive_eid(None, 1));
        let s = new_card(eid, 3);
        s.validate().unwrap();
        assert_eq!(s.profiles.len(), 4);
        assert_eq!(s.enabled().unwrap().name.as_deref(), Some("PP#0"));
        assert_eq!(s.profiles[0].class, ProfileClass::Provisioning);
        let iccid = s.profiles[0].iccid.digits();
        assert_eq!(iccid.len(), 20);
        assert!(apdu::luhn::is_valid(&iccid));
        assert!(s.profiles[1..]
            .iter()
            .all(|p| p.class == ProfileClass::Test && !p.is_enabled()));
        assert_eq!(s, new_card(eid, 3));
        assert_eq!(
            new_card(eid, 200).profiles.len(),
            1 + MAX_TEST_PROFILES as usize
        );
    }

    /// Without a seed every new card draws its own EID, valid and with the test prefix;
    /// with one the EID is fixed and the generator untouched (seeded keys stay the same).
    #[test]
    fn new_card_eids_are_random_unless_seeded() {
        use rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([3; 32]);
        let eids: Vec<Eid> = (0..64).map(|_| new_card_eid(None, 0, &mut rng)).collect();
        for (i, e) in eids.iter().enumerate() {
            let digits = e.digits();
            assert!(digits.starts_with("89049032"), "{digits}");
            assert_eq!(
                digits.parse::<Eid>().ok(),
                Some(*e),
                "check digits of {digits}"
            );
            assert!(eids[..i].iter().all(|o| o != e), "repeated EID {digits}");
        }
        let mut used = rand_chacha::ChaCha20Rng::from_seed([4; 32]);
        let mut fresh = rand_chacha::ChaCha20Rng::from_seed([4; 32]);
        assert_eq!(new_card_eid(Some(7), 1, &mut used), derive_eid(Some(7), 1));
        assert_ne!(new_card_eid(Some(7), 1, &mut used), derive_eid(Some(7), 2));
        assert_eq!(
            rand_core::Rng::next_u64(&mut used),
            rand_core::Rng::next_u64(&mut fresh),
            "a seeded EID draws nothing from the key generator"
        );
    }
}
