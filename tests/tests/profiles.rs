//! Profile management through the reader: `sm-cli profiles list|enable|disable|delete`
//! against a card-sim process with preloaded test profiles (issue 2: "list/enable/disable
//! the profiles of a card-sim through pcscd"), with the ES10 result codes of refusals
//! surfacing as distinct exit codes (sm-cli: 20 + N for result N).

use system_tests::flows::{profiles, Profile, PROFILES_INFO_CH1};
use system_tests::{require_stack, sm_cli, CardOptions, CardSim, Lease};

fn enabled(list: &[Profile]) -> Vec<&str> {
    list.iter()
        .filter(|p| p.state == "enabled")
        .map(|p| p.iccid.as_str())
        .collect()
}

#[test]
fn list_enable_disable_delete_through_the_reader() {
    let Some(stack) = require_stack("list_enable_disable_delete_through_the_reader") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let card = CardSim::start(
        &stack,
        &lease,
        "profiles",
        &CardOptions {
            test_profiles: Some(2),
            ..CardOptions::default()
        },
    )
    .unwrap();
    let r = card.reader.as_str();

    // A new card: PP#0 (provisioning, enabled) and two disabled test profiles.
    let list = profiles(&stack, r);
    assert_eq!(list.len(), 3, "{list:?}");
    let pp0: Vec<&Profile> = list.iter().filter(|p| p.class == "provisioning").collect();
    assert_eq!(pp0.len(), 1, "{list:?}");
    assert_eq!(pp0[0].state, "enabled", "{list:?}");
    let tests: Vec<&Profile> = list.iter().filter(|p| p.class == "test").collect();
    assert_eq!(tests.len(), 2, "{list:?}");
    assert!(tests.iter().all(|p| p.state == "disabled"), "{list:?}");
    let (pp0, t1, t2) = (
        pp0[0].iccid.clone(),
        tests[0].iccid.clone(),
        tests[1].iccid.clone(),
    );
    for i in [&pp0, &t1, &t2] {
        assert!(
            (18..=20).contains(&i.len()) && i.bytes().all(|b| b.is_ascii_digit()),
            "ICCID {i:?}"
        );
    }

    // Enable a test profile: it is the only enabled one afterwards.
    sm_cli(&stack, ["-r", r, "profiles", "enable", t1.as_str()]).expect_success();
    assert_eq!(enabled(&profiles(&stack, r)), vec![t1.as_str()]);

    // Enabling it again: profileNotInDisabledState (2) -> exit 22; nothing changes.
    let again = sm_cli(
        &stack,
        ["-r", r, "profiles", "enable", t1.as_str(), "--json"],
    );
    assert_eq!(again.code, Some(22), "{again}");
    assert!(again.json().get("error").is_some(), "{again}");
    assert_eq!(enabled(&profiles(&stack, r)), vec![t1.as_str()]);

    // An ICCID the card does not hold: iccidOrAidNotFound (1) -> exit 21.
    let unknown = sm_cli(
        &stack,
        ["-r", r, "profiles", "enable", "8949000000000000001"],
    );
    assert_eq!(unknown.code, Some(21), "{unknown}");
    assert!(
        !unknown.stderr.trim().is_empty(),
        "a refusal says why: {unknown}"
    );

    // Switch to the other test profile, then disable it: no profile enabled.
    sm_cli(&stack, ["-r", r, "profiles", "enable", t2.as_str()]).expect_success();
    assert_eq!(enabled(&profiles(&stack, r)), vec![t2.as_str()]);
    sm_cli(&stack, ["-r", r, "profiles", "disable", t2.as_str()]).expect_success();
    assert!(enabled(&profiles(&stack, r)).is_empty());
    // Disabling a disabled profile: profileNotInEnabledState (2) -> exit 22.
    let dis = sm_cli(&stack, ["-r", r, "profiles", "disable", t2.as_str()]);
    assert_eq!(dis.code, Some(22), "{dis}");

    // Delete a disabled test profile; it is gone from the list.
    sm_cli(&stack, ["-r", r, "profiles", "delete", t1.as_str()]).expect_success();
    let list = profiles(&stack, r);
    assert!(list.iter().all(|p| p.iccid != t1), "{list:?}");
    assert_eq!(list.len(), 2, "{list:?}");

    // Back to PP#0; the raw GetProfilesInfo answer agrees (ICCIDs nibble-swapped, tag 5A).
    sm_cli(&stack, ["-r", r, "profiles", "enable", pp0.as_str()]).expect_success();
    assert_eq!(enabled(&profiles(&stack, r)), vec![pp0.as_str()]);
    let raw = sm_cli(
        &stack,
        [
            "-r",
            r,
            "apdu",
            "--json",
            "0070000001",
            "01A4040010A0000005591010FFFFFFFF8900000100",
            PROFILES_INFO_CH1,
            "0070800100",
        ],
    );
    let v = raw.expect_success().json();
    let bf2d = v["exchanges"][2]["response"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for iccid in [&pp0, &t2] {
        let mut swapped = String::new();
        let padded = format!("{iccid:F<20}");
        for pair in padded.as_bytes().chunks(2) {
            swapped.push(pair[1] as char);
            swapped.push(pair[0] as char);
        }
        assert!(
            bf2d.contains(&format!("5A0A{swapped}")),
            "{iccid} not in {bf2d}"
        );
    }
}
