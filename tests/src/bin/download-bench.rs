//! download-bench: where the card's time of a whole SGP.22 profile download goes, through
//! pcscd + vpcd (issue 9, "Benchmark: a whole download's card-side time through pcscd
//! split into transport, ECDSA/ECDH, SCP03t and state writes"). A benchmark, not a timed
//! test: it prints figures and fails only when a download fails.
//!
//!     cargo run --release -p system-tests --bin download-bench -- [--quick | --downloads N]
//!         [--package UPP.der] [--json]
//!
//! Needs the stack (scripts/stack-up.sh) with two free slots: card-sim (`--pki` of a
//! folder `card-sim pki init` writes, `--state` a file, as a user runs it) and the
//! floor-card (answers 90 00 to everything). Each download runs on a fresh card (card-sim
//! stopped, its state file removed, started again) with the driver of
//! `system_tests::download` (lpac's APDUs, 120-byte STORE DATA blocks, T=0) of the
//! package `apdu::saip::build` makes of a test subscription (about 1.5 KB: one `86`), or
//! with `--package FILE` any SAIP package (a TS.48 test profile is about 12 KB, thirteen
//! `86` segments as lpac cuts it). The card's
//! time is the sum of the `SCardTransmit` calls (the test SM-DP+'s own work falls between
//! them). Each command APDU, right after card-sim answered it, goes byte for byte to the
//! floor-card too (so both see the machine in the same moment): that sum is the transport
//! (pcscd + vpcd + client) of this download, and card-sim / floor is the result. The
//! floor answers `90 00` only, so the answers' bytes (about 2 KB per download, in GET
//! RESPONSE rounds the same commands fetch) travel on card-sim's side alone. The rest of the card's time is split by redoing, in this process, the
//! work the card does for one download (counted from card-sim/src/card/es10b/):
//!
//! - ECDSA and ECDH on the card's curve (P-256) with the folder's keys: 5 verifications
//!   (CERT.DPauth and CERT.DPpb against the CI, serverSignature1, smdpSignature2, smdpSign
//!   of InitialiseSecureChannel), 3 signatures (euiccSignature1, euiccSignature2,
//!   euiccSignPIR), 1 key generation (otPK.EUICC.ECKA) and 1 ECDH (the session keys);
//! - SCP03t: the download's own LoadBoundProfilePackage messages fed to a fresh
//!   `apdu::sgp22::bpp::BppLoader` with the download's session keys (C-MAC checks, C-ENC
//!   decryption, the BPP's TLV walk);
//! - the profile package: `apdu::saip::Package::decode` and `apdu::saip::fs::install` of
//!   the same package (the card's checks before it installs);
//! - state writes: `FileStorage::save` (temp file, fsync, rename, fsync of the directory)
//!   of the state the download leaves, in the scratch folder next to card-sim's state
//!   file, times the number of saves one download causes, counted on the in-process card
//!   (`MemoryStorage::saves`: the install, and RemoveNotificationFromList);
//!
//! and "the rest" is what none of these explains, itself split in two with a whole
//! download against an in-process card on memory storage (no pcscd, no durable save, one
//! after each download through pcscd): the card's other work (certificate parsing, DER,
//! dispatch) and what no in-process figure explains (the card-sim process and its vpcd
//! link being woken and scheduled, noise). The saves are timed in the same moments too,
//! one per save after each download.

use anyhow::{bail, ensure, Context as _, Result};
use apdu::sgp22::bpp::{BppEvent, BppLoader};
use apdu::sgp22::pki::{Cert, Curve, PrivateKey};
use card_sim::card::{atr, Euicc};
use card_sim::state::new_card::new_card;
use card_sim::state::{FileStorage, MemoryStorage, PersistentState, Storage};
use card_sim::transport::Transport;
use card_sim::vpcd::Card;
use pcsc::Protocols;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use system_tests::download::{download, pki_init, Download, Order, Smdp, Step, Transmit};
use system_tests::hexutil::{sw, up};
use system_tests::pcsc_io::Conn;
use system_tests::{CardOptions, CardSim, Lease, Stack};

/// An SGP.26 test EID (valid check digits).
const EID: &str = "89049032123451234512345678901235";
const HOST: &str = "smdp.bench.example";
const ICCID: &str = "8949449999999990049";
const CURVE: Curve = Curve::NistP256;
/// ECDSA verifications, signatures, key generations and ECDHs the card makes in one
/// download (card-sim/src/card/es10b/{mod,verify,load,install}.rs; the install
/// notification is served as signed at install time, RemoveNotificationFromList signs
/// nothing).
const VERIFIES: u32 = 5;
const SIGNS: u32 = 3;
const KEYGENS: u32 = 1;
const ECDHS: u32 = 1;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Median milliseconds of `reps` runs of `f`, after one unmeasured run.
fn time_ms(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    let mut v = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        f()?;
        v.push(ms(t.elapsed()));
    }
    Ok(median(v))
}

/// One download through pcscd and its replay on the floor-card.
struct Run {
    card_ms: f64,
    floor_ms: f64,
    /// Per step: (APDUs, card-sim ms, floor ms).
    steps: BTreeMap<Step, (usize, f64, f64)>,
    /// The same sums without the APDUs during which the card saves its state.
    card_no_save_ms: f64,
    floor_no_save_ms: f64,
    apdus: usize,
    command_bytes: usize,
    answer_bytes: usize,
}

/// The card through pcscd, each APDU followed at once by the same bytes to the
/// floor-card (so both see the machine in the same state), each timed on its own.
struct Paired<'a> {
    card: &'a Conn,
    floor: &'a Conn,
    card_times: Vec<Duration>,
    floor_times: Vec<Duration>,
}

impl Transmit for Paired<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        let t = Instant::now();
        let r = self.card.transmit(apdu)?;
        self.card_times.push(t.elapsed());
        let t = Instant::now();
        let f = self.floor.transmit(apdu)?;
        self.floor_times.push(t.elapsed());
        ensure!(
            sw(&f) == 0x9000,
            "the floor-card answered {} to {}",
            up(&f),
            up(apdu)
        );
        Ok(r)
    }
}

/// The indexes of the APDUs during which the card saves its state (the card saves before
/// it answers the last block of a message that changes it): the last STORE DATA block of
/// the last `86`, and of RemoveNotificationFromList.
fn saving_apdus(d: &Download) -> Vec<usize> {
    let last_block = |step: Step| {
        d.exchanges
            .iter()
            .rposition(|e| e.step == step && e.command.get(1..3) == Some(&[0xE2, 0x91]))
    };
    [Step::ProfileElements, Step::RemoveNotification]
        .into_iter()
        .filter_map(last_block)
        .collect()
}

fn run_of(d: &Download, card: &[Duration], floor: &[Duration]) -> Run {
    let saving = saving_apdus(d);
    let without = |times: &mut dyn Iterator<Item = Duration>| -> f64 {
        times
            .enumerate()
            .filter(|(i, _)| !saving.contains(i))
            .map(|(_, t)| ms(t))
            .sum()
    };
    let mut steps: BTreeMap<Step, (usize, f64, f64)> = BTreeMap::new();
    for ((e, c), f) in d.exchanges.iter().zip(card).zip(floor) {
        let s = steps.entry(e.step).or_default();
        s.0 += 1;
        s.1 += ms(*c);
        s.2 += ms(*f);
    }
    Run {
        card_ms: card.iter().copied().map(ms).sum(),
        floor_ms: floor.iter().copied().map(ms).sum(),
        card_no_save_ms: without(&mut card.iter().copied()),
        floor_no_save_ms: without(&mut floor.iter().copied()),
        steps,
        apdus: d.exchanges.len(),
        command_bytes: d.exchanges.iter().map(|e| e.command.len()).sum(),
        answer_bytes: d.exchanges.iter().map(|e| e.answer.len()).sum(),
    }
}

/// A powered in-process card under the folder's PKI on `storage`.
fn in_process_card(dir: &Path, storage: Box<dyn Storage + Send>) -> Result<Transport<Euicc>> {
    let (pki, eid) = card_sim::pki::load_dir(dir)?;
    let mut state = new_card(eid, 0);
    state.pki = pki;
    storage.save(&state)?;
    let euicc = Euicc::new(
        state,
        storage,
        ChaCha20Rng::seed_from_u64(1),
        atr::DEFAULT_ATR.to_vec(),
    );
    let mut t = Transport::new(euicc);
    t.power_on();
    Ok(t)
}

/// One download against an in-process card on memory storage (no pcscd, no durable
/// save): the card's own work. Returns it with the saves it made and the state it left.
struct InProcess {
    ms: f64,
    steps: BTreeMap<Step, f64>,
    saves: usize,
    state: PersistentState,
}

fn in_process(dir: &Path, order: &Order, seed: u64) -> Result<InProcess> {
    let storage = Arc::new(MemoryStorage::new());
    let mut card = in_process_card(dir, Box::new(storage.clone()))?;
    let before = storage.saves();
    let mut smdp = Smdp::from_pki_dir(dir, CURVE, seed)?;
    let d = download(&mut |a: &[u8]| card.transmit(a), &mut smdp, order)?;
    let mut steps: BTreeMap<Step, f64> = BTreeMap::new();
    for e in &d.exchanges {
        *steps.entry(e.step).or_default() += ms(e.time);
    }
    Ok(InProcess {
        ms: ms(d.card_time()),
        steps,
        saves: storage.saves() - before,
        state: storage
            .stored()
            .context("the in-process card saved nothing")?,
    })
}

/// Medians of one operation each: (verify, sign, keygen, ecdh) in milliseconds.
fn crypto(dir: &Path, reps: usize) -> Result<(f64, f64, f64, f64)> {
    let s = CURVE.file_suffix();
    let cert = |p: String| -> Result<Cert> {
        Cert::from_der(&std::fs::read(dir.join(&p)).with_context(|| p.clone())?)
            .map_err(|e| anyhow::anyhow!("{p}: {e}"))
    };
    let key = |p: String| -> Result<PrivateKey> {
        let pem = zeroize::Zeroizing::new(
            std::fs::read_to_string(dir.join(&p)).with_context(|| p.clone())?,
        );
        PrivateKey::from_pem(&pem).map_err(|e| anyhow::anyhow!("{p}: {e}"))
    };
    let ci = cert(format!("CertificateIssuer/CERT_CI_ECDSA_{s}.der"))?;
    let dp_auth = cert(format!("DPauth/CERT_S_SM_DPauth_ECDSA_{s}.der"))?;
    let dp_pb_key = key(format!("DPpb/SK_S_SM_DPpb_ECDSA_{s}.pem"))?;
    let euicc_key = key(format!("eUICC/SK_EUICC_ECDSA_{s}.pem"))?;
    let ci_pk = ci.public_key().map_err(|e| anyhow::anyhow!("{e}"))?;
    let dp_pb = dp_pb_key.public_key();
    // Messages of the download's sizes (euiccSigned1 with EUICCInfo2 is the largest).
    let msg = vec![0x5A; 400];
    let sig = dp_pb_key.sign(&msg);
    // Verifications: 2 of certificates (the TBS re-encoded, as the card does), 3 of
    // signatures: timed as that mix.
    let cert_verify = time_ms(reps, || {
        dp_auth
            .verify_signed_by(&ci_pk)
            .map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    let sig_verify = time_ms(reps, || {
        dp_pb.verify(&msg, &sig).map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    let verify = (2.0 * cert_verify + 3.0 * sig_verify) / 5.0;
    let sign = time_ms(reps, || {
        std::hint::black_box(euicc_key.sign(&msg));
        Ok(())
    })?;
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let keygen = time_ms(reps, || {
        std::hint::black_box(PrivateKey::generate(CURVE, &mut rng));
        Ok(())
    })?;
    let otsk = PrivateKey::generate(CURVE, &mut rng);
    let peer = PrivateKey::generate(CURVE, &mut rng).public_key();
    let ecdh = time_ms(reps, || {
        otsk.ecdh(&peer)
            .map(|_| ())
            .context("ECDH on different curves")
    })?;
    Ok((verify, sign, keygen, ecdh))
}

/// The download's LoadBoundProfilePackage messages through a fresh BppLoader (SCP03t).
fn scp03t(d: &Download, reps: usize) -> Result<f64> {
    time_ms(reps, || {
        let mut l = BppLoader::new();
        for (i, m) in d.bpp_messages.iter().enumerate() {
            let ev = l
                .feed(m)
                .map_err(|e| anyhow::anyhow!("BPP message {i}: {e}"))?;
            if let BppEvent::InitialiseSecureChannel(_) = ev {
                l.establish(&d.session_keys)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
        ensure!(l.is_complete(), "the BPP did not complete");
        Ok(())
    })
}

/// Package::decode + the file system build of the ordered package.
fn package_checks(order: &Order, reps: usize) -> Result<f64> {
    time_ms(reps, || {
        let pkg =
            apdu::saip::Package::decode(&order.package).map_err(|e| anyhow::anyhow!("{e}"))?;
        pkg.check_iccid(&order.iccid)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        apdu::saip::fs::install(&pkg).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    })
}

fn main() -> Result<()> {
    let mut downloads = 15usize;
    let mut quick = false;
    let mut json_out = false;
    let mut package = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => {
                quick = true;
                downloads = 3;
            }
            "--downloads" | "-n" => {
                downloads = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .context("--downloads wants a positive number")?
            }
            "--json" => json_out = true,
            "--package" => package = Some(args.next().context("--package wants a file")?),
            "-h" | "--help" => {
                println!(
                    "usage: download-bench [--quick | --downloads N] [--package UPP.der] [--json]"
                );
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let reps = if quick { 10 } else { 100 };
    let order = match &package {
        Some(f) => Order::from_package(std::fs::read(f).with_context(|| format!("reading {f}"))?)?,
        None => Order::test(ICCID)?,
    };
    let started = Instant::now();
    let stack = Stack::discover().map_err(anyhow::Error::msg)?;
    let free = stack.test_slots().len();
    ensure!(
        free >= 2,
        "download-bench needs 2 free vpcd slots (card-sim and the floor-card), the stack offers {free}"
    );
    let lease = Lease::take(&stack, 2, false)?;
    let scratch = stack.scratch_dir("download-bench");
    std::fs::create_dir_all(&scratch)?;
    let pki = scratch.join("pki");
    pki_init(&stack.card_sim, &pki, EID, HOST, 1)?;
    let floor = CardSim::start_floor(
        &stack,
        lease.slots[1],
        &lease.readers[1],
        "download-bench-floor",
    )?
    .context("no floor-card binary next to this one (cargo build -p system-tests --bins)")?;
    let opts = CardOptions {
        seed: Some(1),
        extra: vec!["--pki".into(), pki.display().to_string()],
        ..CardOptions::default()
    };
    let mut card = CardSim::start_on(
        &stack,
        lease.slots[0],
        &lease.readers[0],
        "download-bench-card",
        &opts,
    )?;
    let floor_conn = Conn::connect(&floor.reader)?;

    // The durable saves are timed next to card-sim's state file, in the same moments as
    // the downloads (the disk's fsync latency drifts).
    let save_path = scratch.join("save.state.json");
    let save_storage = FileStorage::open(&save_path)?;
    let mut runs = Vec::new();
    let mut inproc: Vec<InProcess> = Vec::new();
    let mut saves_ms = Vec::new();
    let mut last = None;
    for i in 0..downloads {
        if i > 0 {
            // A fresh card: no profile, no notification, a new state file.
            card.stop()?;
            let _ = std::fs::remove_file(&card.state);
            card.restart()?;
        }
        let conn = Conn::connect_with(&card.reader, Protocols::T0)?;
        let mut smdp = Smdp::from_pki_dir(&pki, CURVE, i as u64)?;
        let mut paired = Paired {
            card: &conn,
            floor: &floor_conn,
            card_times: Vec::new(),
            floor_times: Vec::new(),
        };
        let d = download(&mut paired, &mut smdp, &order)
            .with_context(|| format!("download {i} failed\n{}", card.log_tail()))?;
        ensure!(paired.card_times.len() == d.exchanges.len());
        runs.push(run_of(&d, &paired.card_times, &paired.floor_times));
        conn.close()?;
        last = Some(d);

        let ip = in_process(&pki, &order, 1000 + i as u64)?;
        for _ in 0..ip.saves.max(1) {
            let t = Instant::now();
            save_storage
                .save(&ip.state)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            saves_ms.push(ms(t.elapsed()));
        }
        inproc.push(ip);
    }
    floor_conn.close()?;
    drop(floor);
    drop(card);
    let d = last.context("no download ran")?;
    let state_size = std::fs::metadata(&save_path).map(|m| m.len())?;
    drop(save_storage);

    // The card's work for one download, redone in process.
    let (verify, sign, keygen, ecdh) = crypto(&pki, reps)?;
    let scp = scp03t(&d, reps)?;
    let pkg = package_checks(&order, reps)?;
    let _ = std::fs::remove_dir_all(&scratch);
    let saves = inproc.last().map_or(0, |p| p.saves);
    let save = median(saves_ms);
    let memory_ms = median(inproc.iter().map(|p| p.ms).collect());
    let memory_step = |s: &Step| {
        median(
            inproc
                .iter()
                .map(|p| p.steps.get(s).copied().unwrap_or(0.0))
                .collect(),
        )
    };

    let card_ms: Vec<f64> = runs.iter().map(|r| r.card_ms).collect();
    let floor_ms: Vec<f64> = runs.iter().map(|r| r.floor_ms).collect();
    let ratios: Vec<f64> = runs.iter().map(|r| r.card_ms / r.floor_ms).collect();
    let ratios_no_save: Vec<f64> = runs
        .iter()
        .map(|r| r.card_no_save_ms / r.floor_no_save_ms)
        .collect();
    let total = median(card_ms.clone());
    let transport = median(floor_ms.clone());
    let ecc = f64::from(VERIFIES) * verify
        + f64::from(SIGNS) * sign
        + f64::from(KEYGENS) * keygen
        + f64::from(ECDHS) * ecdh;
    let writes = saves as f64 * save;
    let rest = total - transport - ecc - scp - pkg - writes;
    // Of the rest: the card's other work (its whole download in process on memory
    // storage, minus the parts named above: certificate parsing, DER, dispatch), and what
    // no in-process measurement explains (the card-sim process and its vpcd link being
    // woken and scheduled, caches, noise).
    let rest_card = memory_ms - ecc - scp - pkg;
    let rest_link = rest - rest_card;
    let share = |x: f64| 100.0 * x / total;
    let steps: Vec<Value> = Step::ALL
        .iter()
        .map(|s| {
            let of = |k: usize| {
                median(
                    runs.iter()
                        .map(|r| {
                            r.steps.get(s).map_or(0.0, |v| match k {
                                0 => v.0 as f64,
                                1 => v.1,
                                _ => v.2,
                            })
                        })
                        .collect(),
                )
            };
            json!({
                "step": s.name(), "apdus": of(0), "card_sim_ms": of(1), "floor_ms": of(2),
                "ratio": of(1) / of(2),
                "in_process_ms": memory_step(s),
            })
        })
        .collect();
    let r0 = &runs[0];
    let package_name = package
        .as_deref()
        .unwrap_or("apdu::saip::build of a test subscription");
    let doc = json!({
        "downloads": downloads,
        "package": package_name,
        "package_bytes": order.package.len(),
        "apdus": r0.apdus,
        "command_bytes": r0.command_bytes,
        "answer_bytes": r0.answer_bytes,
        "bpp_messages": d.bpp_messages.len(),
        "card_sim_ms": total,
        "card_sim_ms_min": min(&card_ms),
        "card_sim_ms_max": max(&card_ms),
        "floor_ms": transport,
        "ratio_to_floor": median(ratios.clone()),
        "ratio_to_floor_min": min(&ratios),
        "ratio_to_floor_max": max(&ratios),
        "without_saving_apdus": {
            "card_sim_ms": median(runs.iter().map(|r| r.card_no_save_ms).collect()),
            "floor_ms": median(runs.iter().map(|r| r.floor_no_save_ms).collect()),
            "ratio_to_floor": median(ratios_no_save.clone()),
            "ratio_to_floor_min": min(&ratios_no_save),
            "ratio_to_floor_max": max(&ratios_no_save),
        },
        "split_ms": {
            "transport": transport,
            "ecdsa_ecdh": ecc,
            "scp03t": scp,
            "package_checks": pkg,
            "state_writes": writes,
            "rest": rest,
            "rest_card_other_work": rest_card,
            "rest_not_explained": rest_link,
        },
        "ops": {
            "verifies": VERIFIES, "verify_ms": verify,
            "signs": SIGNS, "sign_ms": sign,
            "keygens": KEYGENS, "keygen_ms": keygen,
            "ecdhs": ECDHS, "ecdh_ms": ecdh,
            "saves": saves, "save_ms": save, "state_bytes": state_size,
        },
        "in_process_ms": memory_ms,
        "steps": steps,
        "elapsed_s": started.elapsed().as_secs_f64(),
    });
    if json_out {
        println!("{doc:#}");
        return Ok(());
    }
    println!(
        "A whole SGP.22 download (lpac's APDUs, T=0, 120-byte STORE DATA blocks) into a fresh \
         card-sim through pcscd + vpcd, {downloads} download(s), medians ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    println!(
        "package: {package_name}, {} bytes; {} APDUs ({} BPP messages), {} command bytes, \
         {} answer bytes",
        order.package.len(),
        r0.apdus,
        d.bpp_messages.len(),
        r0.command_bytes,
        r0.answer_bytes
    );
    println!(
        "card-sim {total:.2} ms (min {:.2}, max {:.2}); the same APDUs on the floor-card \
         {transport:.2} ms; ratio card-sim / floor {:.2} (min {:.2}, max {:.2})",
        min(&card_ms),
        max(&card_ms),
        median(ratios.clone()),
        min(&ratios),
        max(&ratios)
    );
    println!(
        "without the {} APDUs during which the card saves its state: card-sim {:.2} ms, floor \
         {:.2} ms, ratio {:.2} (min {:.2}, max {:.2})",
        saving_apdus(&d).len(),
        median(runs.iter().map(|r| r.card_no_save_ms).collect()),
        median(runs.iter().map(|r| r.floor_no_save_ms).collect()),
        median(ratios_no_save.clone()),
        min(&ratios_no_save),
        max(&ratios_no_save)
    );
    println!();
    println!(
        "{:<40} {:>9} {:>7}",
        "the card's time, split", "ms", "share"
    );
    let row = |name: &str, v: f64| println!("{name:<40} {v:>9.2} {:>6.1}%", share(v));
    row("transport (= the floor-card)", transport);
    row(
        &format!("ECDSA {VERIFIES} verify + {SIGNS} sign, {KEYGENS} keygen, {ECDHS} ECDH"),
        ecc,
    );
    row("SCP03t (BPP MAC + decrypt)", scp);
    row("profile package decode + file system", pkg);
    row(
        &format!("state writes ({saves} x {save:.2} ms save)"),
        writes,
    );
    row("the rest", rest);
    row("  of it: other card work (in process)", rest_card);
    row("  of it: not explained in process", rest_link);
    println!();
    println!(
        "{:<42} {:>6} {:>10} {:>9} {:>7} {:>11}",
        "step", "APDUs", "card-sim", "floor", "ratio", "in process"
    );
    for s in &steps {
        println!(
            "{:<42} {:>6.0} {:>10.2} {:>9.2} {:>7.2} {:>11.2}",
            s["step"].as_str().unwrap_or_default(),
            s["apdus"].as_f64().unwrap_or(f64::NAN),
            s["card_sim_ms"].as_f64().unwrap_or(f64::NAN),
            s["floor_ms"].as_f64().unwrap_or(f64::NAN),
            s["ratio"].as_f64().unwrap_or(f64::NAN),
            s["in_process_ms"].as_f64().unwrap_or(f64::NAN),
        );
    }
    println!();
    println!(
        "one operation (ms): ECDSA verify {verify:.3}, sign {sign:.3}, keygen {keygen:.3}, \
         ECDH {ecdh:.3}; FileStorage save of the {state_size}-byte state {save:.2}"
    );
    println!("in process (no pcscd, memory storage), the whole download: {memory_ms:.2} ms");
    Ok(())
}
