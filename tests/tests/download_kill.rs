//! Issue 9, "Done when": card-sim SIGKILLed in the middle of a recorded lpac download
//! (tests/data/recordings/, see download_replay.rs) never leaves half a profile.
//!
//! Each kill uses a fresh card (new state file; the PKI and seed of the recording). The
//! first k commands of the recording are replayed through pcscd (every answer checked
//! byte for byte), then command k (counting from 0) is sent and card-sim is SIGKILLed
//! after a random delay (0-8 ms for the install command, which decodes, installs and
//! saves; 0-1.5 ms otherwise), while it works on the command or after it answered.
//! card-sim is started again on the same state file, and:
//! - GetProfilesInfo (through pcscd) lists either no new profile or the whole profile
//!   (ICCID, ISD-P AID, state, SPN, name, class), and the state file agrees: the profile
//!   with its package and its install notification (until the recording removes it), or
//!   neither;
//! - a kill at a command before the install command leaves no profile, one after it the
//!   whole profile; at the install command itself either, and the whole profile if its
//!   answer (the ProfileInstallationResult) came back;
//! - when no profile was left, a full replay from the start succeeds byte for byte (the
//!   card restarts its random stream from the same seed) and then lists the profile.
//!
//! The k of a run: for each recording, the install command itself (the last block of the
//! last `86` segment, SGP.22 §5.7.6: decode, install and save in one change), a k uniform
//! over the BPP segments, and a k uniform over the whole recording; `DOWNLOAD_KILLS` more
//! uniform ones. `DOWNLOAD_KILL_SEED` repeats a run (the seed is printed).

use std::path::Path;
use std::time::Duration;
use system_tests::replay::recordings::{self, Case, CASES};
use system_tests::replay::{iccid_of, profiles_raw, ProfileFields, Recorded, Replay};
use system_tests::rng::{env_num, Rng};
use system_tests::{require_stack, CardOptions, CardSim, Lease, Stack};

/// What the state file says about the profile after the restart.
#[derive(Debug, PartialEq, Eq)]
struct Stored {
    profile: bool,
    package: usize,
    notification: bool,
}

fn stored(state: &Path, iccid: &str) -> Stored {
    let bytes = std::fs::read(state).expect("the state file is there");
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).expect("the state file is JSON after the kill");
    let has = |list: &str| {
        v.get(list)
            .and_then(|l| l.as_array())
            .into_iter()
            .flatten()
            .find(|p| p.get("iccid").and_then(|i| i.as_str()) == Some(iccid))
            .cloned()
    };
    let p = has("profiles");
    let package = p
        .as_ref()
        .and_then(|p| p.get("package"))
        .and_then(|x| x.as_str())
        .and_then(|h| hex::decode(h).ok())
        .map_or(0, |b| b.len());
    Stored {
        profile: p.is_some(),
        package,
        notification: has("notifications").is_some(),
    }
}

fn whole(p: &ProfileFields, case: &Case) -> bool {
    p.get(&0x92).map(Vec::as_slice) == Some(case.name.as_bytes())
        && p.get(&0x91).is_some_and(|s| !s.is_empty())
        && p.get(&0x4F).is_some_and(|a| a.len() == 16)
        && p.contains_key(&0x9F70)
        && p.contains_key(&0x95)
}

/// One kill after command `k` of `rec` (module docs).
fn kill_round(
    stack: &Stack,
    lease: &Lease,
    pki: &Path,
    case: &Case,
    rec: &Recorded,
    k: usize,
    delay: Duration,
) {
    let install = rec.install_command().expect("the recording installs");
    let opts = CardOptions {
        seed: Some(case.seed),
        extra: vec!["--pki".into(), pki.display().to_string()],
        ..CardOptions::default()
    };
    let mut card = CardSim::start(stack, lease, "download_kill", &opts).expect("card-sim starts");
    let pid = card.pid().expect("running") as libc::pid_t;
    let mut replay = Replay::connect(&card.reader).unwrap();
    replay
        .run(rec, k)
        .unwrap_or_else(|e| panic!("replay up to {k}: {e:#}\n{}", card.log_tail()));
    let killer = std::thread::spawn(move || {
        std::thread::sleep(delay);
        // SAFETY: kill(2) on the PID of the child this test started and still holds.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    });
    let answer = replay.send_next_unchecked(rec);
    let answered = answer.as_ref().is_ok_and(|a| a.len() >= 2);
    killer.join().unwrap();
    replay.abandon();
    card.kill9().unwrap();
    card.restart()
        .unwrap_or_else(|e| panic!("card-sim does not start on the killed state: {e:#}"));
    let listed = profiles_raw(&card.reader).unwrap();
    let new: Vec<&ProfileFields> = listed
        .iter()
        .filter(|p| iccid_of(p).as_deref() == Some(case.iccid))
        .collect();
    let file = stored(&card.state, case.iccid);
    let what = format!(
        "{} k={k} (install at {install}) delay {delay:?} answer {}: listed {new:?}, state {file:?}",
        case.file,
        match &answer {
            Ok(a) => system_tests::hexutil::up(a),
            Err(e) => format!("none ({e:#})"),
        }
    );
    eprintln!("{what}");
    match new.as_slice() {
        [] => {
            assert_eq!(
                file,
                Stored {
                    profile: false,
                    package: 0,
                    notification: false
                },
                "{what}"
            );
            assert!(
                k < install || (k == install && !answered),
                "{what}: the installed profile is gone"
            );
            // Nothing installed: the whole recording replays from the start.
            let mut again = Replay::connect(&card.reader).unwrap();
            again
                .run_all(rec)
                .unwrap_or_else(|e| panic!("{what}: full replay after the kill: {e:#}"));
            again.close().unwrap();
            let after = profiles_raw(&card.reader).unwrap();
            assert!(
                after
                    .iter()
                    .any(|p| iccid_of(p).as_deref() == Some(case.iccid) && whole(p, case)),
                "{what}: not listed after the full replay: {after:?}"
            );
        }
        [p] => {
            assert!(whole(p, case), "{what}: half a profile");
            assert!(file.profile && file.package > 1000, "{what}");
            assert!(k >= install, "{what}: a profile before its install command");
            // The notification goes with the profile until lpac removes it (later in the
            // recording than any k that left it pending).
            let removed_later = rec.commands()[..=k.min(rec.commands().len() - 1)]
                .iter()
                .any(|(_, c, _)| c.get(5..7) == Some(&[0xBF, 0x30]));
            assert!(file.notification || removed_later, "{what}");
        }
        _ => panic!("{what}: the profile twice"),
    }
}

#[test]
fn sigkill_during_a_recorded_download_leaves_no_half_profile() {
    let Some(stack) = require_stack("download_kill") else {
        return;
    };
    let lease = Lease::one(&stack).expect("a free slot");
    let pki = recordings::pki_init(&stack, "download_kill").unwrap();
    let mut rng = Rng::from_env("DOWNLOAD_KILL_SEED");
    let extra = env_num("DOWNLOAD_KILLS", 0usize);
    let recs: Vec<Recorded> = CASES
        .iter()
        .map(|c| Recorded::load(&recordings::path(&stack, c)).unwrap())
        .collect();
    let mut plan: Vec<(usize, usize, Duration)> = Vec::new();
    for (i, rec) in recs.iter().enumerate() {
        let n = rec.commands().len();
        let (bpp, install) = rec.bpp_range().expect("a BPP in the recording");
        // The install command itself (sent as command k), cut anywhere in its work.
        plan.push((i, install, Duration::from_micros(rng.below(8000))));
        plan.push((
            i,
            bpp + rng.below((install - bpp) as u64) as usize,
            Duration::from_micros(rng.below(1500)),
        ));
        plan.push((
            i,
            rng.below(n as u64 - 1) as usize,
            Duration::from_micros(rng.below(1500)),
        ));
    }
    for _ in 0..extra {
        let i = rng.below(recs.len() as u64) as usize;
        let n = recs[i].commands().len();
        plan.push((
            i,
            rng.below(n as u64 - 1) as usize,
            Duration::from_micros(rng.below(1500)),
        ));
    }
    for (i, k, delay) in plan {
        kill_round(&stack, &lease, &pki, &CASES[i], &recs[i], k, delay);
    }
    if let Some(d) = pki.parent() {
        let _ = std::fs::remove_dir_all(d);
    }
}
