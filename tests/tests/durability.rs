//! A killed card-sim restarts with its state intact (issue 2, "Done when"): a profile is
//! enabled through pcscd, card-sim gets SIGKILL (no chance to flush anything), and a new
//! card-sim on the same `--state` file shows the same EID and the same profile states.

use system_tests::flows::{eid_cli, profiles};
use system_tests::{require_stack, sm_cli, CardOptions, CardSim, Lease};

#[test]
fn kill9_after_enable_then_restart_keeps_the_state() {
    let Some(stack) = require_stack("kill9_after_enable_then_restart_keeps_the_state") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let mut card = CardSim::start(
        &stack,
        &lease,
        "kill9",
        &CardOptions {
            test_profiles: Some(2),
            ..CardOptions::default()
        },
    )
    .unwrap();
    let r = card.reader.clone();
    let eid = eid_cli(&stack, &r);
    let before = profiles(&stack, &r);
    let target = before
        .iter()
        .find(|p| p.class == "test")
        .unwrap_or_else(|| panic!("no test profile: {before:?}"))
        .iccid
        .clone();
    sm_cli(
        &stack,
        ["-r", r.as_str(), "profiles", "enable", target.as_str()],
    )
    .expect_success();
    sm_cli(
        &stack,
        [
            "-r",
            r.as_str(),
            "profiles",
            "nickname",
            target.as_str(),
            "survivor",
        ],
    )
    .expect_success();
    let after_enable = profiles(&stack, &r);
    assert_ne!(after_enable, before);

    // SIGKILL right after the answers: whatever the card acknowledged is on disk.
    let pid = card.pid();
    card.kill9().unwrap();
    assert!(
        card.state.is_file(),
        "no state file at {}",
        card.state.display()
    );
    card.restart().unwrap();
    assert_ne!(card.pid(), pid);

    assert_eq!(eid_cli(&stack, &r), eid, "EID after restart");
    let restored = profiles(&stack, &r);
    assert_eq!(restored, after_enable, "profiles after kill -9 and restart");
    let list = sm_cli(&stack, ["-r", r.as_str(), "profiles", "list", "--json"]);
    assert!(
        list.expect_success().stdout.contains("survivor"),
        "nickname lost: {list}"
    );

    // No temporary file left next to the state (atomic write: temp, fsync, rename).
    let leftovers: Vec<String> = std::fs::read_dir(&card.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "left over: {leftovers:?}");

    // And it keeps working: disable, kill again, restart, still disabled.
    sm_cli(
        &stack,
        ["-r", r.as_str(), "profiles", "disable", target.as_str()],
    )
    .expect_success();
    let disabled = profiles(&stack, &r);
    card.kill9().unwrap();
    card.restart().unwrap();
    assert_eq!(profiles(&stack, &r), disabled);
}
