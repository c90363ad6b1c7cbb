//! The device-change story of issue 3, through the real stack: two card-sim processes
//! (old phone, new phone) behind pcscd + vpcd, sm-cli as a user runs it, its SM store in
//! a file. Flow A on the old card; flow B on the new card with a wrong parameter (refused,
//! counter 1) then the right one (profile on the new card, old binding stopped, IMEI
//! updated); sync removes the profile from the old card; flow C (rekey); the old
//! parameter then fails and the new one works; three failures lock the record and the
//! lock survives restarts of card-sim and sm-cli; unlock is audited.

use std::path::Path;
use std::process::Command;
use system_tests::cli::{run_with, COMMAND_TIMEOUT};
use system_tests::flows::profiles;
use system_tests::{require_stack, CardOptions, CardSim, Lease, Run, Stack};

const OP: &str = "+8613800000042";
const OLD_IMEI: &str = "490154203237518";
const NEW_IMEI: &str = "356938035643809";

/// sm-cli with this test's SM store, `stdin` fed in.
fn sm(stack: &Stack, db: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(&stack.sm_cli);
    cmd.env_remove("SM_CLI_READER")
        .env_remove("SM_CLI_IMEI")
        .env("SM_CLI_DB", db);
    run_with(&mut cmd, args, stdin.map(str::as_bytes), COMMAND_TIMEOUT)
}

fn expect_exit(r: &Run, code: i32) {
    assert_eq!(r.code, Some(code), "expected exit {code}: {r}");
}

fn show(stack: &Stack, db: &Path) -> serde_json::Value {
    sm(stack, db, &["--json", "sm", "show", OP], None)
        .ok()
        .json()
}

fn holds_op(stack: &Stack, reader: &str) -> bool {
    profiles(stack, reader)
        .iter()
        .any(|p| p.class == "operational" && p.state == "enabled")
}

fn device_change(stack: &Stack, db: &Path, reader: &str, imei: &str, param: &str) -> Run {
    sm(
        stack,
        db,
        &[
            "-r",
            reader,
            "device-change",
            "--op-id",
            OP,
            "--imei",
            imei,
            "--param-stdin",
        ],
        Some(&format!("{param}\n")),
    )
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
    let db = old.dir.join("sm.sqlite3");
    let (o, n) = (old.reader.clone(), new.reader.clone());

    // Flow A on the old phone.
    let r = sm(
        &stack,
        &db,
        &[
            "-r",
            &o,
            "provision",
            "--op-id",
            OP,
            "--imei",
            OLD_IMEI,
            "--param-stdin",
            "--kdf",
            "test",
        ],
        Some("123456\n"),
    );
    r.ok();
    assert!(holds_op(&stack, &o), "old card has no operational profile");
    let rec = show(&stack, &db);
    assert_eq!(rec["device"]["imei"], OLD_IMEI);
    assert_eq!(rec["failures"], 0);
    // Provisioning twice is refused.
    let r = sm(
        &stack,
        &db,
        &[
            "-r",
            &o,
            "provision",
            "--op-id",
            OP,
            "--imei",
            OLD_IMEI,
            "--param-stdin",
            "--kdf",
            "test",
        ],
        Some("123456\n"),
    );
    expect_exit(&r, 33);

    // Flow B: wrong parameter, refused, counter 1; nothing on the new card.
    let r = device_change(&stack, &db, &n, NEW_IMEI, "000000");
    expect_exit(&r, 31);
    assert!(r.stderr.contains("2 attempt"), "{r}");
    assert_eq!(show(&stack, &db)["failures"], 1);
    assert!(!holds_op(&stack, &n));

    // Right parameter: the profile moves, the old binding stops, the IMEI is updated.
    device_change(&stack, &db, &n, NEW_IMEI, "123456").ok();
    assert!(holds_op(&stack, &n), "new card has no operational profile");
    let rec = show(&stack, &db);
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
    sm(&stack, &db, &["-r", &o, "sync"], None).ok();
    assert!(
        !holds_op(&stack, &o),
        "old card still holds the moved profile"
    );

    // Flow C from the new phone.
    sm(
        &stack,
        &db,
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
    .ok();

    // Back to the old phone: the old parameter fails, the new one works.
    expect_exit(&device_change(&stack, &db, &o, OLD_IMEI, "123456"), 31);
    device_change(&stack, &db, &o, OLD_IMEI, "24681357").ok();
    assert!(holds_op(&stack, &o));
    sm(&stack, &db, &["-r", &n, "sync"], None).ok();
    assert!(!holds_op(&stack, &n));

    // Three failures lock the record.
    expect_exit(&device_change(&stack, &db, &n, NEW_IMEI, "111111"), 31);
    expect_exit(&device_change(&stack, &db, &n, NEW_IMEI, "222222"), 31);
    let r = device_change(&stack, &db, &n, NEW_IMEI, "333333");
    expect_exit(&r, 32);
    // The lock survives a restart of both cards and of sm-cli (a new process each time),
    // and the right parameter is refused while locked.
    new.restart().unwrap();
    old.restart().unwrap();
    assert_eq!(show(&stack, &db)["locked"], true);
    let r = sm(
        &stack,
        &db,
        &[
            "--json",
            "-r",
            &n,
            "device-change",
            "--op-id",
            OP,
            "--imei",
            NEW_IMEI,
            "--param-stdin",
        ],
        Some("24681357\n"),
    );
    expect_exit(&r, 32);
    assert_eq!(r.json()["error"]["code"], "locked", "{r}");
    assert!(!holds_op(&stack, &n));

    // The operator unlocks (audited); the right parameter works again.
    sm(&stack, &db, &["sm", "unlock", OP, "--operator", "ci"], None).ok();
    device_change(&stack, &db, &n, NEW_IMEI, "24681357").ok();
    assert!(holds_op(&stack, &n));
    let audit = sm(&stack, &db, &["--json", "sm", "audit", OP], None)
        .ok()
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
    let db = old.dir.join("sm.sqlite3");
    sm(
        &stack,
        &db,
        &[
            "-r",
            &old.reader,
            "provision",
            "--op-id",
            OP,
            "--imei",
            OLD_IMEI,
            "--param-stdin",
            "--kdf",
            "test",
        ],
        Some("314159\n"),
    )
    .ok();
    // The thief knows the OP ID and even claims the old phone's IMEI.
    for guess in ["000000", "123456"] {
        let r = device_change(&stack, &db, &thief.reader, OLD_IMEI, guess);
        expect_exit(&r, 31);
    }
    assert!(!holds_op(&stack, &thief.reader));
    // An unknown OP ID is its own refusal.
    let r = sm(
        &stack,
        &db,
        &[
            "-r",
            &thief.reader,
            "device-change",
            "--op-id",
            "+8613800009999",
            "--imei",
            NEW_IMEI,
            "--param-stdin",
        ],
        Some("000000\n"),
    );
    expect_exit(&r, 30);
    // The old card still holds its profile and its binding.
    assert!(holds_op(&stack, &old.reader));
    assert_eq!(show(&stack, &db)["device"]["imei"], OLD_IMEI);
}
