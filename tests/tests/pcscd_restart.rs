//! pcscd restarts under a running card-sim: the same card-sim process reconnects to the
//! new vpcd by itself (interop.md: "vpcd ... does not retry. A card that wants to survive
//! a pcscd restart must reconnect by itself"), with its state unchanged.
//!
//! The test restarts the pcscd that scripts/stack-up.sh owns (`stack-up.sh
//! --restart-pcscd`), holding the pcscd lock exclusively so no other test is using pcscd
//! meanwhile. It cannot restart a pcscd it does not own: then it skips (or fails in CI).

use std::time::Duration;
use system_tests::cli::restart_pcscd;
use system_tests::flows::{eid_cli, eid_raw, profiles};
use system_tests::pcsc_io::{self, Presence};
use system_tests::stack::may_restart_pcscd;
use system_tests::{require_stack, sm_cli, CardOptions, CardSim, Lease};

#[test]
fn card_sim_reconnects_after_pcscd_restart() {
    let Some(stack) = require_stack("card_sim_reconnects_after_pcscd_restart") else {
        return;
    };
    if !may_restart_pcscd(&stack, "card_sim_reconnects_after_pcscd_restart") {
        return;
    }
    let t0 = std::time::Instant::now();
    let lease = Lease::take(&stack, 1, true).unwrap();
    eprintln!("pcscd lock taken exclusively after {:?}", t0.elapsed());
    let mut card = CardSim::start(
        &stack,
        &lease,
        "pcscd-restart",
        &CardOptions {
            test_profiles: Some(1),
            ..CardOptions::default()
        },
    )
    .unwrap();
    let r = card.reader.clone();
    let eid = eid_cli(&stack, &r);
    let test = profiles(&stack, &r)
        .into_iter()
        .find(|p| p.class == "test")
        .expect("a test profile");
    sm_cli(
        &stack,
        ["-r", r.as_str(), "profiles", "enable", test.iccid.as_str()],
    )
    .expect_success();
    let before = profiles(&stack, &r);
    let pid = card.pid();

    for round in 1..=2 {
        let t = std::time::Instant::now();
        let restart = restart_pcscd(&stack);
        restart.expect_success();
        // The card-sim process reconnects with its backoff; give it time, no fixed sleep.
        pcsc_io::wait_presence(&r, Presence::Card, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("round {round}: {e:#}\n{}", card.log_tail()));
        pcsc_io::wait_answering(&r, Duration::from_secs(10)).unwrap();
        eprintln!(
            "round {round}: pcscd restarted in {:?}, card answering again after {:?}",
            restart.elapsed,
            t.elapsed()
        );
        assert!(card.running(), "card-sim exited:\n{}", card.log_tail());
        assert_eq!(card.pid(), pid, "the same process must reconnect");
        assert_eq!(eid_raw(&r).unwrap(), eid);
        assert_eq!(eid_cli(&stack, &r), eid);
        assert_eq!(
            profiles(&stack, &r),
            before,
            "state after pcscd restart {round}"
        );
    }
    let log = std::fs::read_to_string(&card.log).unwrap_or_default();
    assert!(!log.contains("panicked"), "{}", card.log_tail());
}
