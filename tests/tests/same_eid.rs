//! Issue 10, finding 8, through pcscd with card-sim processes and sm-cli as a user runs
//! it: removals are decided by EID *and* identity key. A card that only reuses the old
//! card's EID (EIDs are public) must not cancel the removal the old card owes, so the
//! old card's next sync still deletes the moved profile.
//!
//! On main before the fix (7d6dd29) the device change to the EID-reusing card cancelled
//! the old card's removal ("EID ... is the bound card again"), and the old card kept the
//! operator profile: two cards held it.

use system_tests::flows::profiles;
use system_tests::{require_stack, CardOptions, CardSim, Lease, Sm, Stack};

const OP: &str = "+8613800000099";
/// An SGP.26 test EID (valid check digits), given to two different cards.
const EID: &str = "89049032123451234512345678901235";

fn holds_op(stack: &Stack, reader: &str) -> bool {
    profiles(stack, reader)
        .iter()
        .any(|p| p.class == "operational")
}

#[test]
fn a_card_reusing_an_eid_does_not_cancel_the_old_cards_removal() {
    let Some(stack) = require_stack("a_card_reusing_an_eid_does_not_cancel_the_old_cards_removal")
    else {
        return;
    };
    let lease = Lease::take(&stack, 2, false).unwrap();
    let with_eid = CardOptions {
        eid: Some(EID.into()),
        ..CardOptions::default()
    };
    let old = CardSim::start_on(
        &stack,
        lease.slots[0],
        &lease.readers[0],
        "eid-old",
        &with_eid,
    )
    .unwrap();
    let mut new = CardSim::start_on(
        &stack,
        lease.slots[1],
        &lease.readers[1],
        "eid-new",
        &CardOptions::default(),
    )
    .unwrap();
    let sm = Sm::new(&stack, &old.dir.join("sm.sqlite3"));
    let flow = |reader: &str, cmd: &str, imei: &str| {
        let mut args = vec![
            "-r",
            reader,
            cmd,
            "--op-id",
            OP,
            "--imei",
            imei,
            "--param-stdin",
        ];
        if cmd == "provision" {
            args.extend(["--kdf", "test"]);
        }
        sm.run(&args, Some("123456\n"))
    };
    flow(&old.reader, "provision", "490154203237518").expect_success();
    flow(&new.reader, "device-change", "356938035643809").expect_success();
    assert!(holds_op(&stack, &new.reader));

    // Another card with the old card's EID (a fresh identity key) takes the profile.
    new.stop().unwrap();
    let twin = CardSim::start_on(
        &stack,
        lease.slots[1],
        &lease.readers[1],
        "eid-twin",
        &with_eid,
    )
    .unwrap();
    flow(&twin.reader, "device-change", "352099001761481").expect_success();
    assert!(holds_op(&stack, &twin.reader));
    let rec = sm
        .run(&["--json", "sm", "show", OP], None)
        .expect_success()
        .json();
    let pending = rec["pending_removals"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        pending.iter().any(|p| p
            .as_str()
            .is_some_and(|p| p.contains(&format!("on EID {EID}")))),
        "the old card's removal was cancelled by a card that only shares its EID: {rec}"
    );

    // The old card syncs: the profile is removed from it.
    assert!(holds_op(&stack, &old.reader));
    sm.run(&["-r", &old.reader, "sync"], None).expect_success();
    assert!(
        !holds_op(&stack, &old.reader),
        "the old card still holds the operator profile"
    );
    assert!(holds_op(&stack, &twin.reader));
}
