//! Issue 9, "Record any client's session": the card-side recordings of unmodified lpac
//! downloading TS.48 profiles from osmo-smdpp into card-sim (tests/data/recordings/, made
//! by hand with `card-sim --record`, see the README there) replay byte for byte on a fresh
//! card-sim with the same PKI and seed, through the real pcscd + vpcd, and the card then
//! lists the profile.
//!
//! - The PKI is regenerated here with the command the recordings were made with
//!   (`card-sim pki init DIR --eid EID --smdp-host testsmdpplus1.example.com --seed 9`):
//!   `pki init` is deterministic, so the card presents the same certificates and keys,
//!   and the SM-DP+ signatures in the recording verify against the same CI.
//! - The replay is `sm-cli -r READER script run FILE` (every answer compared with the
//!   recorded `#<` line, GET RESPONSE rounds as recorded), so the format is also checked
//!   against the script runner every user has.
//! - Then ES10c GetProfilesInfo through pcscd (raw PC/SC, lpac's bytes) lists the profile
//!   with its ICCID, ISD-P AID, state, SPN, name and class, and the state file holds it
//!   with its profile package.
//! - The same recording against a card with another seed must fail (its challenges
//!   differ): the check can fail.

use std::path::Path;
use system_tests::replay::recordings::{self, CASES, EID};
use system_tests::replay::{iccid_of, profiles_raw, Recorded};
use system_tests::{require_stack, sm_cli, CardOptions, CardSim, Lease, Stack};

fn card(stack: &Stack, lease: &Lease, test: &str, pki: &Path, seed: u64) -> CardSim {
    let opts = CardOptions {
        seed: Some(seed),
        extra: vec!["--pki".into(), pki.display().to_string()],
        ..CardOptions::default()
    };
    CardSim::start(stack, lease, test, &opts).expect("card-sim starts")
}

/// The profile `iccid` as the state file holds it: (name, package bytes).
fn stored(state: &Path, iccid: &str) -> Option<(String, usize)> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(state).ok()?).ok()?;
    let p = v
        .get("profiles")?
        .as_array()?
        .iter()
        .find(|p| p.get("iccid").and_then(|i| i.as_str()) == Some(iccid))?;
    let name = p.get("name")?.as_str()?.to_string();
    let package = hex::decode(p.get("package")?.as_str()?).ok()?;
    Some((name, package.len()))
}

#[test]
fn recorded_lpac_downloads_replay_byte_exact_and_the_profile_is_listed() {
    let test = "download_replay";
    let Some(stack) = require_stack(test) else {
        return;
    };
    let lease = Lease::one(&stack).expect("a free slot");
    let pki = recordings::pki_init(&stack, test).unwrap();
    for case in &CASES {
        let path = recordings::path(&stack, case);
        let rec = Recorded::load(&path).unwrap();
        assert_eq!(rec.header_word("EID"), Some(EID), "{}", path.display());
        assert_eq!(
            rec.header_word("Seed"),
            Some(case.seed.to_string().as_str()),
            "{}",
            path.display()
        );
        let n = rec.commands().len();
        assert!(rec.install_command().is_some(), "{}: no install", case.file);

        let c = card(&stack, &lease, test, &pki, case.seed);
        let run = sm_cli(
            &stack,
            [
                "-r",
                c.reader.as_str(),
                "script",
                "run",
                path.to_str().unwrap(),
            ],
        );
        assert_eq!(run.code, Some(0), "{} did not replay: {run}", case.file);
        let listed = profiles_raw(&c.reader).unwrap();
        let p = listed
            .iter()
            .find(|p| iccid_of(p).as_deref() == Some(case.iccid))
            .unwrap_or_else(|| panic!("{} not listed: {listed:?}", case.iccid));
        assert_eq!(p.get(&0x92).map(Vec::as_slice), Some(case.name.as_bytes()));
        assert_eq!(p.get(&0x91).map(Vec::as_slice), Some(&b"OsmocomSPN"[..]));
        assert_eq!(p.get(&0x4F).map(Vec::len), Some(16), "ISD-P AID");
        assert!(p.contains_key(&0x9F70) && p.contains_key(&0x95), "{p:?}");
        let (name, package) = stored(&c.state, case.iccid).expect("the state holds the profile");
        assert_eq!(name, case.name);
        assert!(
            package > 1000,
            "the profile package is stored ({package} bytes)"
        );
        eprintln!("{}: {n} commands replayed byte for byte", case.file);
        drop(c);
    }
    // The check bites: another seed, other challenges, a failed replay (exit 60).
    let case = &CASES[0];
    let c = card(&stack, &lease, test, &pki, case.seed + 100);
    let path = recordings::path(&stack, case);
    let run = sm_cli(
        &stack,
        [
            "-r",
            c.reader.as_str(),
            "script",
            "run",
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(
        run.code,
        Some(60),
        "a card with another seed replayed it: {run}"
    );
    drop(c);
    if let Some(d) = pki.parent() {
        let _ = std::fs::remove_dir_all(d);
    }
}
