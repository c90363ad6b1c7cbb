//! Issue 10: fresh cards on one slot are different eUICCs. Without `--seed` or `--eid` a
//! new card-sim card draws its own EID (an SGP.26 test EID with valid check digits), so
//! two `--ephemeral` cards started one after the other on the same slot do not pose as
//! the same card to the SM (which pins the identity it saw with the EID); with `--seed`
//! the EID is fixed, so recorded sessions still replay. Read through pcscd with GetEID
//! (raw PC/SC) and with `sm-cli info`.

use system_tests::flows::{eid_cli, eid_raw};
use system_tests::hexutil::eid_valid;
use system_tests::{require_stack, CardOptions, CardSim, Lease, Stack};

/// Starts a card on the lease's slot with `opts`, reads its EID both ways, stops it.
fn eid_of_new_card(stack: &Stack, lease: &Lease, opts: &CardOptions) -> String {
    let mut card = CardSim::start(stack, lease, "fresh-eid", opts).unwrap();
    let eid = eid_raw(&card.reader).unwrap();
    assert!(eid_valid(&eid), "EID {eid} fails its check digits");
    assert!(eid.starts_with("89049032"), "not an SGP.26 test EID: {eid}");
    assert_eq!(
        eid_cli(stack, &card.reader),
        eid,
        "sm-cli reads another EID"
    );
    card.stop().unwrap();
    eid
}

#[test]
fn fresh_cards_on_one_slot_get_their_own_eid_unless_seeded() {
    let Some(stack) = require_stack("fresh_cards_on_one_slot_get_their_own_eid_unless_seeded")
    else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let fresh = CardOptions {
        ephemeral: true,
        ..CardOptions::default()
    };
    let first = eid_of_new_card(&stack, &lease, &fresh);
    let second = eid_of_new_card(&stack, &lease, &fresh);
    assert_ne!(
        first,
        second,
        "two fresh cards on slot {} share an EID",
        lease.slot()
    );

    let seeded = CardOptions {
        ephemeral: true,
        seed: Some(4242),
        ..CardOptions::default()
    };
    let a = eid_of_new_card(&stack, &lease, &seeded);
    let b = eid_of_new_card(&stack, &lease, &seeded);
    assert_eq!(a, b, "--seed must fix the EID");
    assert_ne!(a, first);
}
