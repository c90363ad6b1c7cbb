//! card-sim killed with SIGKILL at random points of profile installation and of its state
//! writes (issue 5, "Faults"), while sm-cli drives the device-change method against one
//! SM store, through the real pcscd + vpcd.
//!
//! Two cards with state files and one SM store file. Each round picks a flow, runs sm-cli
//! with `--trace`, and kills the card the flow talks to at a random point:
//! - provision of a new OP ID (`--kdf test`; on a fresh card this includes the card's
//!   first state write, its identity key),
//! - device change of an existing OP ID to the other card (the new card installs it; the
//!   flow's opening sync may remove profiles that moved away),
//! - sync (the old card deletes a moved profile).
//!
//! The kill point is, in turn: a delay uniform over the flow's duration (the window: the
//! 75th percentile of that flow's fault-free runs on this machine, measured before the
//! rounds and by every recovery run), a delay in the second half of it (where BF69, the
//! installation and its state write happen), or right after the
//! k-th APDU of the flow leaves sm-cli (k uniform over the measured APDU count) plus a
//! random 0-15 ms, which lands inside the card's decryption and `fsync`s.
//!
//! After every kill:
//! - sm-cli ended by itself with success or a clear error: exit 5, 7 or 9 (reader gone,
//!   no card, card did not answer; sm-cli/src/errors.rs) and a message, never a hang,
//!   a crash or an "unexpected PC/SC error";
//! - card-sim starts again on the same state file (the file loads) with the same EID,
//!   and every operational profile in it is whole (ICCID, IMSI, MSISDN, Ki, OPc, name)
//!   or absent, at most one profile enabled, no ICCID twice;
//! - the SM record agrees with the cards: a record delivered to a card's EID is on that
//!   card with the record's ICCID; a card holding an operator profile has a record with
//!   that ICCID, and is either the bound card or owes a pending removal;
//! - the flow recovers: a provision that left no record is run again; a record left
//!   pending (on the card or not) is completed by the bound card's device change (the SM
//!   re-serves the profile to the recorded device without the parameter, [0074]); a
//!   device change that did not get recorded is run again with the parameter; a sync is
//!   run again. Afterwards the record is delivered to the bound card, and the card
//!   holds the profile.
//!
//! Every so often a card is replaced by a fresh one (new state file, an EID of its own),
//! so kills also hit the first state write of a card (its identity key).
//!
//! `FAULTS_KILLS` sets the number of kills (default 100), `FAULTS_SEED` the random seed
//! (printed). The SM store's own crash and concurrency tests are in
//! sm-cli/src/sm/store/tests/crash.rs and concurrency.rs.

use std::time::{Duration, Instant};
use system_tests::flows::eid_raw;
use system_tests::rng::{env_num, Rng};
use system_tests::sm::{
    is_command_line, Sm, EXIT_ALREADY_ON_CARD, EXIT_CARD_MUTE, EXIT_NO_CARD, EXIT_READER_GONE,
    IMEIS,
};
use system_tests::state_file::CardFile;
use system_tests::{require_stack, CardOptions, CardSim, Lease, Run, Stack};

const PARAM: &str = "13572468";
/// sm-cli's own deadline for a card that stops answering.
const CLI_TIMEOUT: &str = "20";
/// How long a killed flow's sm-cli may take to notice and exit.
const FINISH: Duration = Duration::from_secs(60);
/// Operator profiles alive at once (a card holds at most 255 profiles).
const MAX_OPS: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Provision,
    DeviceChange,
    Sync,
}

/// One card of the rig, on its leased slot.
struct Slot {
    card: CardSim,
    eid: String,
    imei: &'static str,
    slot: u32,
    reader: String,
    generation: u32,
}

/// What a flow took without faults: its duration and APDU count.
#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    elapsed: Duration,
    apdus: u64,
}

struct Rig<'a> {
    stack: &'a Stack,
    sm: Sm,
    slots: Vec<Slot>,
    /// OP IDs provisioned so far (each delivered to some card after its round).
    ops: Vec<String>,
    next_op: u32,
    rng: Rng,
    log: Vec<String>,
    /// Every flow run to the end without a fault, by kind: the kill windows.
    seen: std::collections::HashMap<Kind, Vec<Measure>>,
}

/// A test EID (SGP.29 layout, ISO/IEC 7064 MOD 97-10 check digits) of its own for a
/// fresh card: card-sim's default EID depends only on the slot, and a new card must not
/// pose as the one it replaces.
fn fresh_eid(n: u64) -> String {
    let body = format!("89049032999{:019}", n % 10_000_000_000_000_000_000);
    let rem = body
        .bytes()
        .fold(0u64, |acc, d| (acc * 10 + u64::from(d - b'0')) % 97);
    format!("{body}{:02}", 98 - (rem * 100) % 97)
}

fn op_id(n: u32) -> String {
    format!("+86139{n:08}")
}

fn flow_args(kind: Kind, reader: &str, imei: &str, op: &str) -> (Vec<String>, Option<String>) {
    let mut a: Vec<String> = vec![
        "--timeout".into(),
        CLI_TIMEOUT.into(),
        "-r".into(),
        reader.into(),
    ];
    let stdin = Some(format!("{PARAM}\n"));
    match kind {
        Kind::Provision => {
            a.extend(
                [
                    "provision",
                    "--op-id",
                    op,
                    "--imei",
                    imei,
                    "--param-stdin",
                    "--kdf",
                    "test",
                ]
                .map(String::from),
            );
            (a, stdin)
        }
        Kind::DeviceChange => {
            a.extend(
                [
                    "device-change",
                    "--op-id",
                    op,
                    "--imei",
                    imei,
                    "--param-stdin",
                ]
                .map(String::from),
            );
            (a, stdin)
        }
        Kind::Sync => {
            a.push("sync".into());
            (a, None)
        }
    }
}

impl Rig<'_> {
    fn slot_of_eid(&self, eid: &str) -> Option<usize> {
        self.slots.iter().position(|s| s.eid == eid)
    }

    /// Runs a flow to the end (no fault), traced like the faulted runs so that timings
    /// compare; returns the run and the APDUs it sent.
    fn run_flow(&mut self, kind: Kind, i: usize, op: &str) -> (Run, u64) {
        let s = &self.slots[i];
        let (args, stdin) = flow_args(kind, &s.reader, s.imei, op);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let t = self.sm.spawn_traced(&a, stdin.as_deref());
        let mut apdus = 0;
        while t.wait_line(FINISH, is_command_line).is_some() {
            apdus += 1;
        }
        let run = t.finish(FINISH);
        if run.code == Some(0) {
            self.seen.entry(kind).or_default().push(Measure {
                elapsed: run.elapsed,
                apdus,
            });
        }
        (run, apdus)
    }

    /// The kill window of a flow: the 75th percentile of its fault-free durations (the
    /// card's key generation takes 20-350 ms depending on the seed) and the most APDUs
    /// it sent.
    fn window(&self, kind: Kind) -> Measure {
        let runs = self.seen.get(&kind).cloned().unwrap_or_default();
        let mut t: Vec<Duration> = runs.iter().map(|m| m.elapsed).collect();
        t.sort();
        Measure {
            elapsed: t
                .get(t.len() * 3 / 4)
                .copied()
                .unwrap_or(Duration::from_millis(300)),
            apdus: runs.iter().map(|m| m.apdus).max().unwrap_or(30),
        }
    }

    /// Starts a fresh card on slot `i` (new state file, new EID, no identity key yet).
    fn fresh_card(&mut self, i: usize) -> Result<(), String> {
        let s = &mut self.slots[i];
        s.card.stop().map_err(|e| format!("{e:#}"))?;
        s.generation += 1;
        let eid = fresh_eid(self.rng.next_u64());
        let card = CardSim::start_on(
            self.stack,
            s.slot,
            &s.reader,
            &format!("kill-{}-g{}", s.slot, s.generation),
            &CardOptions {
                eid: Some(eid.clone()),
                ..CardOptions::default()
            },
        )
        .map_err(|e| format!("{e:#}"))?;
        s.card = card;
        s.eid = eid_raw(&s.reader).map_err(|e| format!("{e:#}"))?;
        if s.eid != eid {
            return Err(format!("card-sim --eid {eid} reads back as {}", s.eid));
        }
        Ok(())
    }

    /// The state of card `i` as its file says (an absent file: a card that never saved).
    fn file(&self, i: usize) -> Result<Option<CardFile>, String> {
        CardFile::read(&self.slots[i].card.state)
    }

    /// The SM store and both cards agree (module docs).
    fn check_agreement(&self) -> Result<(), String> {
        let records = self.sm.list()?;
        let mut files = Vec::new();
        for i in 0..self.slots.len() {
            if let Some(f) = self.file(i)? {
                if f.eid != self.slots[i].eid {
                    return Err(format!(
                        "card {i}: the state file's EID {} is not the card's {}",
                        f.eid, self.slots[i].eid
                    ));
                }
                files.push(f);
            }
        }
        for r in records.iter().filter(|r| r.delivered()) {
            if let Some(f) = files.iter().find(|f| f.eid == r.eid) {
                match f.op(&r.op_id) {
                    Some(p) if p.iccid == r.iccid => {}
                    Some(p) => {
                        return Err(format!(
                        "{}: the SM says ICCID {} is delivered to EID {}, the card holds ICCID {}",
                        r.op_id, r.iccid, r.eid, p.iccid
                    ))
                    }
                    None => {
                        return Err(format!(
                        "{}: the SM says it is delivered to EID {}, but that card does not hold it",
                        r.op_id, r.eid
                    ))
                    }
                }
            }
        }
        for f in &files {
            for op in f.ops() {
                let Some(r) = records.iter().find(|r| r.op_id == op) else {
                    return Err(format!(
                        "card {} holds an operator profile for {op} of which the SM has no record",
                        f.eid
                    ));
                };
                let held = f.op(&op).map(|p| p.iccid.clone()).unwrap_or_default();
                if held != r.iccid {
                    return Err(format!(
                        "card {} holds {op} with ICCID {held}, the SM's record has {}",
                        f.eid, r.iccid
                    ));
                }
                if r.eid != f.eid {
                    let show = self.sm.show(&op)?.unwrap_or_default();
                    let owed = show["pending_removals"].as_array().is_some_and(|a| {
                        a.iter()
                            .any(|x| x.as_str().is_some_and(|s| s.contains(&f.eid)))
                    });
                    if !owed {
                        return Err(format!(
                            "card {} holds {op}, which is bound to EID {}, and no removal is pending for it: {show:#}",
                            f.eid, r.eid
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// After the round's kill: completes the flow (module docs) and checks the outcome.
    /// Returns what state the kill had left, for the summary.
    fn recover(&mut self, kind: Kind, i: usize, op: &str) -> Result<&'static str, String> {
        let eid = self.slots[i].eid.clone();
        let holds = |rig: &Rig<'_>| -> Result<bool, String> {
            Ok(rig.file(i)?.is_some_and(|f| f.op(op).is_some()))
        };
        let expect = |run: &Run, ok: &[i32]| -> Result<(), String> {
            if run.code.is_some_and(|c| ok.contains(&c)) {
                Ok(())
            } else {
                Err(format!(
                    "the recovery run failed (wanted exit {ok:?}): {run}"
                ))
            }
        };
        let outcome = match kind {
            Kind::Sync => {
                let (run, _) = self.run_flow(Kind::Sync, i, op);
                expect(&run, &[0])?;
                return Ok("sync run again");
            }
            Kind::Provision => match self.sm.show(op)? {
                None => {
                    if holds(self)? {
                        return Err(format!(
                            "{op}: no SM record, yet card {eid} holds the profile"
                        ));
                    }
                    let (run, _) = self.run_flow(Kind::Provision, i, op);
                    expect(&run, &[0])?;
                    "provision: no record; provisioned again"
                }
                Some(rec) => {
                    if rec["device"]["eid"] != eid.as_str() {
                        return Err(format!("{op}: record bound to another card: {rec:#}"));
                    }
                    if rec["delivery"] == "delivered" {
                        "provision: delivered"
                    } else {
                        let was_on_card = holds(self)?;
                        let (run, _) = self.run_flow(Kind::DeviceChange, i, op);
                        expect(&run, &[0, EXIT_ALREADY_ON_CARD])?;
                        if was_on_card {
                            "provision: record pending, profile on the card; bound card re-served"
                        } else {
                            "provision: record pending, card without it; bound card re-served"
                        }
                    }
                }
            },
            Kind::DeviceChange => {
                let rec = self
                    .sm
                    .show(op)?
                    .ok_or_else(|| format!("{op}: the record is gone"))?;
                if rec["device"]["eid"] == eid.as_str() {
                    if rec["delivery"] == "delivered" {
                        "device change: done"
                    } else {
                        let was_on_card = holds(self)?;
                        let (run, _) = self.run_flow(Kind::DeviceChange, i, op);
                        expect(&run, &[0, EXIT_ALREADY_ON_CARD])?;
                        if was_on_card {
                            "device change: recorded, pending, profile on the card; re-served"
                        } else {
                            "device change: recorded, pending, card without it; re-served"
                        }
                    }
                } else {
                    let (run, _) = self.run_flow(Kind::DeviceChange, i, op);
                    expect(&run, &[0])?;
                    "device change: not recorded; run again"
                }
            }
        };
        let rec = self
            .sm
            .show(op)?
            .ok_or_else(|| format!("{op}: no record after recovery"))?;
        if rec["device"]["eid"] != eid.as_str() || !holds(self)? {
            return Err(format!(
                "{op}: after recovery the card {eid} should hold it and be bound: {rec:#}"
            ));
        }
        if rec["delivery"] != "delivered" {
            return Err(format!(
                "{op}: card {eid} holds the profile but the SM record stays '{}' after the \
                 bound card's retry: the SM has no way to mark it delivered ({outcome}): {rec:#}",
                rec["delivery"]
            ));
        }
        Ok(outcome)
    }
}

#[test]
fn sigkill_during_installs_and_state_writes_leaves_before_or_after() {
    let Some(stack) =
        require_stack("sigkill_during_installs_and_state_writes_leaves_before_or_after")
    else {
        return;
    };
    let kills: usize = env_num("FAULTS_KILLS", 100);
    let started = Instant::now();
    let lease = Lease::take(&stack, 2, false).unwrap();
    let mut slots = Vec::new();
    for (k, (&slot, reader)) in lease.slots.iter().zip(&lease.readers).enumerate() {
        let card = CardSim::start_on(
            &stack,
            slot,
            reader,
            &format!("kill-{slot}-g0"),
            &CardOptions::default(),
        )
        .unwrap();
        let eid = eid_raw(reader).unwrap();
        slots.push(Slot {
            card,
            eid,
            imei: IMEIS[k],
            slot,
            reader: reader.clone(),
            generation: 0,
        });
    }
    // Not in a card's directory: a replaced card takes its directory with it.
    let sm_dir = stack.scratch_dir("kill-sm");
    let db = sm_dir.join("sm.sqlite3");
    let mut rig = Rig {
        stack: &stack,
        sm: Sm::new(&stack, &db),
        slots,
        ops: Vec::new(),
        next_op: 0,
        rng: Rng::from_env("FAULTS_SEED"),
        log: Vec::new(),
        seen: Default::default(),
    };

    // Each flow twice without faults (the first flow on a fresh card also makes its
    // identity key): the first kill windows, widened by every recovery run later.
    // Leaves two OP IDs on card 1 and nothing owed by card 0.
    for round in 0..2 {
        let op = op_id(round);
        for (kind, i) in [
            (Kind::Provision, 0),
            (Kind::DeviceChange, 1),
            (Kind::Sync, 0),
        ] {
            let (run, apdus) = rig.run_flow(kind, i, &op);
            run.expect_success();
            eprintln!("measured {kind:?}: {:?}, {apdus} APDUs", run.elapsed);
        }
        rig.ops.push(op);
    }
    rig.next_op = 2;
    rig.check_agreement().unwrap();

    let mut outcomes: std::collections::BTreeMap<(Kind, &'static str), u32> = Default::default();
    let mut exits: std::collections::BTreeMap<i32, u32> = Default::default();
    let mut fresh = 0;
    for round in 0..kills {
        // A fresh card now and then: its first flow writes its identity key.
        if round > 0 && rig.rng.chance(1, 12) {
            let i = rig.rng.below(2) as usize;
            rig.fresh_card(i).unwrap();
            fresh += 1;
            rig.log.push(format!(
                "round {round}: fresh card {i} ({})",
                rig.slots[i].eid
            ));
        }
        let (kind, i, op) =
            if rig.ops.len() < MAX_OPS && (rig.ops.len() < 2 || rig.rng.chance(2, 5)) {
                let op = op_id(rig.next_op);
                rig.next_op += 1;
                (Kind::Provision, rig.rng.below(2) as usize, op)
            } else if rig.rng.chance(1, 5) {
                (Kind::Sync, rig.rng.below(2) as usize, String::new())
            } else {
                let op = rig.ops[rig.rng.below(rig.ops.len() as u64) as usize].clone();
                let bound = rig
                    .sm
                    .show(&op)
                    .unwrap()
                    .expect("a provisioned OP ID has a record")["device"]["eid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let i = match rig.slot_of_eid(&bound) {
                    Some(b) => 1 - b,
                    None => rig.rng.below(2) as usize,
                };
                (Kind::DeviceChange, i, op)
            };
        let m = rig.window(kind);
        let (args, stdin) = flow_args(kind, &rig.slots[i].reader, rig.slots[i].imei, &op);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let window = m.elapsed;
        let mode = rig.rng.below(3);
        let traced = rig.sm.spawn_traced(&a, stdin.as_deref());
        let point = match mode {
            0 => {
                let d = Duration::from_micros(rig.rng.below(window.as_micros() as u64));
                std::thread::sleep(d);
                format!("after {d:?}")
            }
            1 => {
                let from = m.elapsed.mul_f64(0.5).as_micros() as u64;
                let d =
                    Duration::from_micros(from + rig.rng.below(window.as_micros() as u64 - from));
                std::thread::sleep(d);
                format!("after {d:?} (late)")
            }
            _ => {
                let k = 1 + rig.rng.below(m.apdus);
                let mut seen = 0;
                while seen < k && traced.wait_line(FINISH, is_command_line).is_some() {
                    seen += 1;
                }
                let us = rig.rng.below(15_000);
                std::thread::sleep(Duration::from_micros(us));
                format!("{us} us after APDU {seen}/{k}")
            }
        };
        let pid = rig.slots[i].card.pid();
        rig.slots[i].card.kill9().unwrap();
        let run = traced.finish(FINISH);
        let what = format!(
            "round {round}: {kind:?} {op} on card {i} ({}), killed pid {pid:?} {point}",
            rig.slots[i].eid
        );
        assert!(
            !run.timed_out,
            "{what}: sm-cli hung after the card went away: {run}"
        );
        let code = run.code.unwrap_or(-1);
        *exits.entry(code).or_default() += 1;
        assert!(
            [0, EXIT_READER_GONE, EXIT_NO_CARD, EXIT_CARD_MUTE].contains(&code),
            "{what}: sm-cli's answer to a card that went away is not a clear error: {run}"
        );
        if code != 0 {
            assert!(
                !run.message().trim().is_empty(),
                "{what}: exit {code} without a message: {run}"
            );
        }
        if code == 0 && kind == Kind::Provision {
            rig.ops.push(op.clone());
        }

        // The state file loads: card-sim starts on it again, with the same EID.
        rig.slots[i].card.restart().unwrap_or_else(|e| {
            panic!("{what}: card-sim does not start on its state again: {e:#}")
        });
        let eid = eid_raw(&rig.slots[i].reader).unwrap();
        assert_eq!(eid, rig.slots[i].eid, "{what}: EID after restart");
        if let Err(e) = rig.check_agreement() {
            panic!("{what}: {e}\nlog:\n{}", rig.log.join("\n"));
        }
        let outcome = match rig.recover(kind, i, &op) {
            Ok(o) => o,
            Err(e) => panic!(
                "{what}: {e}\nsm-cli of the killed flow: {run}\nlog:\n{}",
                rig.log.join("\n")
            ),
        };
        if kind == Kind::Provision && !rig.ops.contains(&op) {
            rig.ops.push(op.clone());
        }
        if let Err(e) = rig.check_agreement() {
            panic!(
                "{what}, after recovery ({outcome}): {e}\nlog:\n{}",
                rig.log.join("\n")
            );
        }
        rig.log.push(format!("{what}: exit {code}; {outcome}"));
        *outcomes.entry((kind, outcome)).or_default() += 1;
    }

    eprintln!(
        "{kills} kills in {:?}, {fresh} fresh cards (first state write: the identity key)",
        started.elapsed()
    );
    eprintln!("sm-cli exit codes of the killed flows: {exits:?}");
    for ((kind, outcome), n) in &outcomes {
        eprintln!("{n:>4}  {kind:?}: {outcome}");
    }
    for i in 0..rig.slots.len() {
        let log = std::fs::read_to_string(&rig.slots[i].card.log).unwrap_or_default();
        assert!(
            !log.contains("panicked"),
            "{}",
            rig.slots[i].card.log_tail()
        );
    }
    let _ = std::fs::remove_dir_all(&sm_dir);
}
