//! The device-change story of issue 3, through the real stack: two card-sim processes
//! (old phone, new phone) behind pcscd + vpcd, sm-cli as a user runs it, its SM store in
//! a file. Flow A on the old card; flow B on the new card with a wrong parameter (refused,
//! counter 1) then the right one (profile on the new card, old binding stopped, IMEI
//! updated); sync removes the profile from the old card; flow C (rekey); the old
//! parameter then fails and the new one works; three failures lock the record and the
//! lock survives restarts of card-sim and sm-cli; unlock is audited.

use system_tests::flows::profiles;
use system_tests::sm::{
    EXIT_ALREADY_PROVISIONED, EXIT_LOCKED, EXIT_UNKNOWN_OP, EXIT_WRONG_PARAMETER,
};
use system_tests::{require_stack, CardOptions, CardSim, Lease, Run, Sm, Stack};

const OP: &str = "+8613800000042";
const OLD_IMEI: &str = "490154203237518";
const NEW_IMEI: &str = "356938035643809";

fn expect_exit(r: &Run, code: i32) {
    assert_eq!(r.code, Some(code), "expected exit {code}: {r}");
}

fn show(sm: &Sm) -> serde_json::Value {
    sm.run(&["--json", "sm", "show", OP], None)
        .expect_success()
        .json()
}

fn holds_op(stack: &Stack, reader: &str) -> bool {
    profiles(stack, reader)
        .iter()
        .any(|p| p.class == "operational" && p.state == "enabled")
}

/// Flow A of OP on `reader` (the old phone), with the test KDF.
fn provision(sm: &Sm, reader: &str, param: &str) -> Run {
    let args = [
        "-r",
        reader,
        "provision",
        "--op-id",
        OP,
        "--imei",
        OLD_IMEI,
        "--param-stdin",
        "--kdf",
        "test",
    ];
    sm.run(&args, Some(&format!("{param}\n")))
}

/// Flow B of `op` to `reader`; `--json` first when `json`.
fn device_change_of(sm: &Sm, json: bool, reader: &str, op: &str, imei: &str, param: &str) -> Run {
    let mut args = vec![
        "-r",
        reader,
        "device-change",
        "--op-id",
        op,
        "--imei",
        imei,
        "--param-stdin",
    ];
    if json {
        args.insert(0, "--json");
    }
    sm.run(&args, Some(&format!("{param}\n")))
}

fn device_change(sm: &Sm, reader: &str, imei: &str, param: &str) -> Run {
    device_change_of(sm, false, reader, OP, imei, param)
}

#[test]
fn provision_change_rekey_lock_and_sync_through_pcscd() {
    let Some(stack) = require_stack("provision_change_rekey_lock_and_sync_through_pcscd") else {
        return;
    };
    let lease = Lease::take(&stack, 2, false).unwrap();
    let opts = CardOptions::default();
    let mut old =
        CardSim::start_on(&stack, lease.slots[0], &lease.readers[0], "dc-old", &opts).unwrap();
    let mut new =
        CardSim::start_on(&stack, lease.slots[1], &lease.readers[1], "dc-new", &opts).unwrap();
    let sm = Sm::new(&stack, &old.dir.join("sm.sqlite3"));
    let (o, n) = (old.reader.clone(), new.reader.clone());

    // Flow A on the old phone.
    provision(&sm, &o, "123456").expect_success();
    assert!(holds_op(&stack, &o), "old card has no operational profile");
    let rec = show(&sm);
    assert_eq!(rec["device"]["imei"], OLD_IMEI);
    assert_eq!(rec["failures"], 0);
    // Provisioning twice is refused.
    expect_exit(&provision(&sm, &o, "123456"), EXIT_ALREADY_PROVISIONED);

    // Flow B: wrong parameter, refused, counter 1; nothing on the new card.
    let r = device_change(&sm, &n, NEW_IMEI, "000000");
    expect_exit(&r, EXIT_WRONG_PARAMETER);
    assert!(r.stderr.contains("2 attempt"), "{r}");
    assert_eq!(show(&sm)["failures"], 1);
    assert!(!holds_op(&stack, &n));

    // Right parameter: the profile moves, the old binding stops, the IMEI is updated.
    device_change(&sm, &n, NEW_IMEI, "123456").expect_success();
    assert!(holds_op(&stack, &n), "new card has no operational profile");
    let rec = show(&sm);
    assert_eq!(rec["device"]["imei"], NEW_IMEI);
    assert_eq!(rec["previous_device"]["imei"], OLD_IMEI);
    assert_eq!(rec["failures"], 0, "a success resets the counter");
    let bindings = rec["bindings"].as_array().unwrap();
    assert!(bindings
        .iter()
        .any(|b| b["imei"] == OLD_IMEI && b["state"] == "stopped"));
    assert!(bindings
        .iter()
        .any(|b| b["imei"] == NEW_IMEI && b["state"] == "active"));

    // The old card learns of it at its next sync: the moved profile is removed.
    assert!(holds_op(&stack, &o));
    sm.run(&["-r", &o, "sync"], None).expect_success();
    assert!(
        !holds_op(&stack, &o),
        "old card still holds the moved profile"
    );

    // Flow C from the new phone.
    sm.run(
        &[
            "-r",
            &n,
            "rekey",
            "--op-id",
            OP,
            "--imei",
            NEW_IMEI,
            "--param-stdin",
            "--new-param-stdin",
        ],
        Some("123456\n24681357\n"),
    )
    .expect_success();

    // Back to the old phone: the old parameter fails, the new one works.
    expect_exit(
        &device_change(&sm, &o, OLD_IMEI, "123456"),
        EXIT_WRONG_PARAMETER,
    );
    device_change(&sm, &o, OLD_IMEI, "24681357").expect_success();
    assert!(holds_op(&stack, &o));
    sm.run(&["-r", &n, "sync"], None).expect_success();
    assert!(!holds_op(&stack, &n));

    // Three failures lock the record.
    expect_exit(
        &device_change(&sm, &n, NEW_IMEI, "111111"),
        EXIT_WRONG_PARAMETER,
    );
    expect_exit(
        &device_change(&sm, &n, NEW_IMEI, "222222"),
        EXIT_WRONG_PARAMETER,
    );
    let r = device_change(&sm, &n, NEW_IMEI, "333333");
    expect_exit(&r, EXIT_LOCKED);
    // The lock survives a restart of both cards and of sm-cli (a new process each time),
    // and the right parameter is refused while locked.
    new.restart().unwrap();
    old.restart().unwrap();
    assert_eq!(show(&sm)["locked"], true);
    let r = device_change_of(&sm, true, &n, OP, NEW_IMEI, "24681357");
    expect_exit(&r, EXIT_LOCKED);
    assert_eq!(r.json()["error"]["code"], "locked", "{r}");
    assert!(!holds_op(&stack, &n));

    // The operator unlocks (audited); the right parameter works again.
    sm.run(&["sm", "unlock", OP, "--operator", "ci"], None)
        .expect_success();
    device_change(&sm, &n, NEW_IMEI, "24681357").expect_success();
    assert!(holds_op(&stack, &n));
    let audit = sm
        .run(&["--json", "sm", "audit", OP], None)
        .expect_success()
        .json();
    let actions: Vec<String> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_string())
        .collect();
    for want in [
        "provision",
        "auth-failure",
        "lock",
        "unlock",
        "device-change",
        "rekey",
    ] {
        assert!(
            actions.iter().any(|a| a == want),
            "no {want} in the audit log: {actions:?}"
        );
    }
}

#[test]
fn a_card_that_never_held_the_parameter_gets_nothing() {
    let Some(stack) = require_stack("a_card_that_never_held_the_parameter_gets_nothing") else {
        return;
    };
    let lease = Lease::take(&stack, 2, false).unwrap();
    let opts = CardOptions::default();
    let old =
        CardSim::start_on(&stack, lease.slots[0], &lease.readers[0], "np-old", &opts).unwrap();
    let thief =
        CardSim::start_on(&stack, lease.slots[1], &lease.readers[1], "np-thief", &opts).unwrap();
    let sm = Sm::new(&stack, &old.dir.join("sm.sqlite3"));
    provision(&sm, &old.reader, "314159").expect_success();
    // The thief knows the OP ID and even claims the old phone's IMEI.
    for guess in ["000000", "123456"] {
        let r = device_change(&sm, &thief.reader, OLD_IMEI, guess);
        expect_exit(&r, EXIT_WRONG_PARAMETER);
    }
    assert!(!holds_op(&stack, &thief.reader));
    // An unknown OP ID is its own refusal.
    let r = device_change_of(
        &sm,
        false,
        &thief.reader,
        "+8613800009999",
        NEW_IMEI,
        "000000",
    );
    expect_exit(&r, EXIT_UNKNOWN_OP);
    // The old card still holds its profile and its binding.
    assert!(holds_op(&stack, &old.reader));
    assert_eq!(show(&sm)["device"]["imei"], OLD_IMEI);
}
