//! Issue 11 through the real stack: `sm-cli smdp serve` (ES9+ over HTTPS with the test
//! PKI's DPtls) as its own process, card-sim cards behind pcscd + vpcd as their own
//! processes, and sm-cli's LPA (`profiles download`) between them, as a phone downloads
//! a profile (SGP.22 §3.1.3).
//!
//! The order is made from a subscription record of the SM (`smdp order --op-id`), whose
//! record a provision on another card created; the downloaded profile then enables and
//! answers USIM AUTHENTICATE with the record's Ki/OPc (Milenage, read from the SM store
//! with python3's sqlite3 so this test needs no SQLite of its own). Refusals: a second
//! download of one order (8.2 / 1.2), a wrong confirmation code (8.2.7 / 3.8), both after
//! the card's session was cancelled (no profile, no notification left). Then one server
//! serves parallel downloads into every free slot.

use apdu::aka::{generate_vector, Key128, Milenage, Sqn};
use apdu::saip::build::USIM_AID;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use system_tests::cli::{run_with, sm_cli_command};
use system_tests::flows::profiles;
use system_tests::pcsc_io::Conn;
use system_tests::{require_stack, CardOptions, CardSim, Lease, Run, Sm, Stack};

const IMEI: &str = "490154203237518";
const PARAM: &str = "123456";
/// The PIN1 of profiles built from records (sm-cli/src/smdp/order.rs).
const PIN1: &str = "0000";
/// sm-cli's exit code for an SGP.22 refusal of the SM-DP+ (sm-cli/src/exit.rs).
const EXIT_SMDP_REFUSED: i32 = 15;

/// `sm-cli smdp serve` on a free loopback port, stopped with SIGTERM.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(stack: &Stack, db: &Path) -> Server {
        let mut child = sm_cli_command(&stack.sm_cli)
            .env("SM_CLI_DB", db)
            .args([
                "smdp",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--hostname",
                "localhost",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start sm-cli smdp serve");
        let out = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(out)
            .read_line(&mut line)
            .expect("smdp serve printed nothing");
        let port = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("127.0.0.1:"))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no listening address in {line:?}"));
        Server { child, port }
    }

    fn address(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// SIGTERM, then the exit status (0 expected: a clean shutdown).
    fn stop(mut self) -> Option<i32> {
        system_tests::process::signal(&self.child, libc::SIGTERM);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let (status, _) = system_tests::process::wait_until(&mut self.child, deadline);
        status.and_then(|s| s.code())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sm_run(db: &Path, stack: &Stack, args: &[&str]) -> Run {
    let mut cmd = sm_cli_command(&stack.sm_cli);
    cmd.env("SM_CLI_DB", db);
    run_with(&mut cmd, args, None, Duration::from_secs(120))
}

/// An order for `op` (only for `eid` when given; with a confirmation code when given):
/// its activation code.
fn order(
    db: &Path,
    stack: &Stack,
    server: &Server,
    op: &str,
    eid: Option<&str>,
    cc: Option<&str>,
) -> String {
    let address = server.address();
    let mut args = vec![
        "--json",
        "smdp",
        "order",
        "--op-id",
        op,
        "--address",
        &address,
    ];
    if let Some(e) = eid {
        args.extend(["--eid", e]);
    }
    if let Some(c) = cc {
        args.extend(["--confirmation-code", c]);
    }
    let run = sm_run(db, stack, &args);
    let v = run.expect_success().json();
    let code = v["activation_code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        code.starts_with(&format!("LPA:1${address}$")),
        "not an activation code for this server: {run}"
    );
    code
}

fn download(stack: &Stack, reader: &str, code: &str, cc: Option<&str>) -> Run {
    let mut args = vec![
        "-r",
        reader,
        "--json",
        "profiles",
        "download",
        "--activation-code",
        code,
    ];
    if let Some(c) = cc {
        args.extend(["--confirmation-code", c]);
    }
    run_with(
        &mut sm_cli_command(&stack.sm_cli),
        &args,
        None,
        Duration::from_secs(120),
    )
}

/// The record's Ki and OPc (hex) from the SM store.
fn ki_opc(db: &Path, op: &str) -> (String, String) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3, sys\n\
             db = sqlite3.connect(sys.argv[1])\n\
             ki, opc = db.execute('SELECT ki, opc FROM subscriptions WHERE op_id = ?', (sys.argv[2],)).fetchone()\n\
             print(ki.hex(), opc.hex())\n",
        )
        .arg(db)
        .arg(op)
        .output()
        .expect("python3 (scripts/install-deps.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    let mut w = s.split_whitespace();
    (
        w.next().unwrap_or_default().to_string(),
        w.next().unwrap_or_default().to_string(),
    )
}

/// SELECT the USIM, VERIFY PIN1, AUTHENTICATE with a Milenage vector of `ki`/`opc`:
/// the card must answer RES, CK, IK as the network computes them.
fn authenticates(reader: &str, ki: &str, opc: &str) {
    let c = Conn::connect(reader).unwrap();
    let tx = |h: &str| {
        let r = c.transmit_full(&hex::decode(h).unwrap()).unwrap();
        let n = r.len() - 2;
        (hex::encode_upper(&r[..n]), hex::encode_upper(&r[n..]))
    };
    let (_, sw) = tx(&format!("00A4040C10{}", hex::encode_upper(USIM_AID)));
    assert_eq!(sw, "9000", "SELECT USIM");
    let mut pin = PIN1.as_bytes().to_vec();
    pin.resize(8, 0xFF);
    assert_eq!(
        tx(&format!("0020000108{}", hex::encode_upper(pin))).1,
        "9000",
        "VERIFY PIN1"
    );
    let k = Key128::from_slice(&hex::decode(ki).unwrap()).unwrap();
    let o = Key128::from_slice(&hex::decode(opc).unwrap()).unwrap();
    let v = generate_vector(
        &Milenage::new(&k, &o),
        &[0x5A; 16],
        Sqn::from_parts(1, 0, 5).unwrap(),
        &[0x80, 0x00],
    );
    let (res, sw) = tx(&format!(
        "008800812210{}10{}00",
        hex::encode_upper(v.rand),
        hex::encode_upper(v.autn)
    ));
    assert_eq!(sw, "9000", "AUTHENTICATE");
    let want = format!(
        "DB08{}10{}10{}",
        hex::encode_upper(v.xres.as_bytes()),
        hex::encode_upper(v.ck.expose()),
        hex::encode_upper(v.ik.expose())
    );
    assert_eq!(res, want, "RES, CK, IK of the record's Ki/OPc");
    c.close().unwrap();
}

fn eid_of(stack: &Stack, reader: &str) -> String {
    system_tests::flows::eid_cli(stack, reader)
}

/// Provisions `op` on the card of `reader` (flow A), which creates its SM record.
fn provision(sm: &Sm, reader: &str, op: &str) {
    let args = [
        "-r",
        reader,
        "provision",
        "--op-id",
        op,
        "--imei",
        IMEI,
        "--param-stdin",
        "--kdf",
        "test",
    ];
    sm.run(&args, Some(&format!("{PARAM}\n"))).expect_success();
}

fn scratch_db(stack: &Stack, test: &str) -> PathBuf {
    let dir = stack.scratch_dir(test);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("sm.sqlite3");
    let _ = std::fs::remove_file(&db);
    db
}

#[test]
fn the_lpa_downloads_a_record_profile_that_then_authenticates() {
    let test = "the_lpa_downloads_a_record_profile_that_then_authenticates";
    let Some(stack) = require_stack(test) else {
        return;
    };
    let lease = Lease::take(&stack, 2, false).unwrap();
    let opts = CardOptions::default();
    let a = CardSim::start_on(&stack, lease.slots[0], &lease.readers[0], test, &opts).unwrap();
    let b = CardSim::start_on(&stack, lease.slots[1], &lease.readers[1], test, &opts).unwrap();
    let db = scratch_db(&stack, test);
    let sm = Sm::new(&stack, &db);
    let op = "+8613800000091";
    provision(&sm, &a.reader, op);
    let server = Server::start(&stack, &db);

    let eid_b = eid_of(&stack, &b.reader);
    let code = order(&db, &stack, &server, op, Some(&eid_b), None);
    let run = download(&stack, &b.reader, &code, None);
    let v = run.expect_success().json();
    let iccid = v["iccid"].as_str().unwrap_or_default().to_string();
    assert!(iccid.len() >= 19, "no ICCID in the result: {run}");
    assert_eq!(
        v["notification"]["delivered"], true,
        "the PIR reached the SM-DP+: {run}"
    );
    let on_b = profiles(&stack, &b.reader);
    assert!(
        on_b.iter()
            .any(|p| p.iccid == iccid && p.state == "disabled"),
        "the downloaded profile is on the card, disabled: {on_b:?}"
    );
    let list = sm_run(
        &db,
        &stack,
        &["-r", &b.reader, "--json", "notifications", "list"],
    );
    assert!(
        !list.expect_success().stdout.contains(&iccid),
        "the install notification was removed after delivery: {list}"
    );

    // The profile works as the record's SIM.
    let enable = sm_run(
        &db,
        &stack,
        &["-r", &b.reader, "profiles", "enable", &iccid],
    );
    enable.expect_success();
    let (ki, opc) = ki_opc(&db, op);
    authenticates(&b.reader, &ki, &opc);

    // One download per order: the same code again is refused, and the card keeps no
    // session or second profile.
    let again = download(&stack, &b.reader, &code, None);
    assert_eq!(again.code, Some(EXIT_SMDP_REFUSED), "{again}");
    assert!(
        again.stdout.contains("8.2 / 1.2"),
        "SGP.22 status code shown: {again}"
    );
    assert_eq!(profiles(&stack, &b.reader).len(), on_b.len());

    // An order with a confirmation code: a wrong code and no code are refused before
    // any package is bound (card A, which holds the provisioned copy).
    let cc_code = order(&db, &stack, &server, op, None, Some("4711"));
    let wrong = download(&stack, &a.reader, &cc_code, Some("1111"));
    assert_eq!(wrong.code, Some(EXIT_SMDP_REFUSED), "{wrong}");
    assert!(wrong.stdout.contains("8.2.7 / 3.8"), "{wrong}");
    let missing = download(&stack, &a.reader, &cc_code, None);
    assert_ne!(missing.code, Some(0), "no code given: {missing}");

    assert_eq!(server.stop(), Some(0), "smdp serve exits 0 on SIGTERM");
}

#[test]
fn one_server_serves_parallel_downloads_into_every_free_slot() {
    let test = "one_server_serves_parallel_downloads_into_every_free_slot";
    let Some(stack) = require_stack(test) else {
        return;
    };
    let n = stack.test_slots().len().clamp(2, 16);
    let lease = Lease::take(&stack, n, false).unwrap();
    let opts = CardOptions::default();
    let cards: Vec<CardSim> = (0..n)
        .map(|i| CardSim::start_on(&stack, lease.slots[i], &lease.readers[i], test, &opts).unwrap())
        .collect();
    let db = scratch_db(&stack, test);
    let sm = Sm::new(&stack, &db);
    // One record per card, provisioned on that card (flow A creates the record); the
    // card then deletes that copy (an eUICC refuses a second profile with the same
    // ICCID) and downloads the record's profile again from the one server, all cards
    // at once.
    let ops: Vec<String> = (0..n).map(|i| format!("+86138000002{i:02}")).collect();
    for (card, op) in cards.iter().zip(&ops) {
        provision(&sm, &card.reader, op);
    }
    let server = Server::start(&stack, &db);
    let mut codes = Vec::new();
    for (card, op) in cards.iter().zip(&ops) {
        let iccid = profiles(&stack, &card.reader)
            .into_iter()
            .find(|p| p.state == "enabled" && p.class == "operational")
            .map(|p| p.iccid)
            .unwrap_or_else(|| panic!("no operator profile on {}", card.reader));
        sm_run(
            &db,
            &stack,
            &["-r", &card.reader, "profiles", "disable", &iccid],
        )
        .expect_success();
        sm_run(
            &db,
            &stack,
            &["-r", &card.reader, "profiles", "delete", &iccid],
        )
        .expect_success();
        codes.push(order(
            &db,
            &stack,
            &server,
            op,
            Some(&eid_of(&stack, &card.reader)),
            None,
        ));
    }
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = cards
            .iter()
            .zip(&codes)
            .map(|(card, code)| {
                let stack = &stack;
                s.spawn(move || download(stack, &card.reader, code, None))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for run in &runs {
        run.expect_success();
    }
    assert_eq!(server.stop(), Some(0));
}
