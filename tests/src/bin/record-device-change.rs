//! record-device-change: writes `scripts/device-change.apdu`, the device-change story in
//! clear (issue 10: `sm-cli --record` masks the salt, the KDF parameters, the sealed
//! profile and the BF6A answers, finding 4, so its recordings of a device change do not
//! replay). The values are test values on test cards, which is why this one file may hold
//! them: the parameter (written `${PARAM:6}`), the SM's challenges and salt, the sealed
//! profile and the SM's authorisations over the seeded cards' BF6D challenges.
//!
//! sm-cli's own SM (in process, a store in a temporary folder, the shipped test
//! credential) talks to the cards as a terminal with raw APDUs through pcscd
//! ([`Attacker`], which forwards everything here), and every APDU with its whole
//! response is logged at the PC/SC level ([`Conn::start_log`]):
//!
//! 1. flow A on the old card: `provision` of `+8613800000001`, `--kdf test`, parameter
//!    123456 (docs/device-change-protocol.md, "Flows");
//! 2. flow B on the new card: `device-change` with the same parameter;
//! 3. the old card's sync: BF6C, then BF6D and the SM's authorised BF6B remove the profile.
//!
//! ```text
//! record-device-change [--old READER] [--new READER] [--out FILE] [--parameter DIGITS]
//! ```
//!
//! Defaults: readers "Virtual PCD 00 00" and "Virtual PCD 00 01", `scripts/device-change.apdu`
//! of this repository, 123456. The cards must be fresh
//! `card-sim --slot 0 --ephemeral --seed 1 --test-profiles 2 --kdf-floor test` and
//! `card-sim --slot 1 --ephemeral --seed 2 --test-profiles 2 --kdf-floor test` (what
//! `scripts/test.sh` starts before it replays the file): seeded cards draw the same
//! challenges again, so the recorded SM values fit them byte for byte.

use anyhow::{anyhow, bail, Context as _, Result};
use apdu::cat::ProactiveCommand;
use apdu::crypto::KdfParams;
use apdu::Eid;
use apdu_script::mask::terminal_response_text;
use sm_cli::sm::service::{FlowReport, Order, ProfileSpec};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use system_tests::attacker::{Attacker, SELECT_ISDR};
use system_tests::hexutil::{eid_from_get_eid, hex, up};
use system_tests::pcsc_io::{Conn, Logged};
use system_tests::relay::{drive, Act, TestSm, User};

const OP_ID: &str = "+8613800000001";
/// The IMEIs of the two devices (sm-cli's `--imei` in the recordings before).
const IMEI_OLD: &str = "490154203237518";
const IMEI_NEW: &str = "356938035643809";
/// ES10c GetEID (SGP.22 §5.7.20) in STORE DATA on the basic channel.
const GET_EID: &str = "80E2910006BF3E035C015A";

struct Args {
    old: String,
    new: String,
    out: PathBuf,
    parameter: String,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        old: "Virtual PCD 00 00".into(),
        new: "Virtual PCD 00 01".into(),
        out: Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/device-change.apdu"),
        parameter: "123456".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow!("{flag} needs a value"));
        match flag.as_str() {
            "--old" => a.old = value()?,
            "--new" => a.new = value()?,
            "--out" => a.out = PathBuf::from(value()?),
            "--parameter" => a.parameter = value()?,
            "-h" | "--help" => {
                println!(
                    "record-device-change [--old READER] [--new READER] [--out FILE] \
                     [--parameter DIGITS]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    if a.parameter.is_empty() || !a.parameter.bytes().all(|b| b.is_ascii_digit()) {
        bail!("--parameter: digits only");
    }
    Ok(a)
}

/// One reader's part of the story: the reader and what was exchanged there.
struct Part {
    title: &'static str,
    reader: String,
    log: Vec<Logged>,
}

/// Connects to `reader` with the log on, selects the ISD-R and reads the EID, as sm-cli
/// does before every flow.
fn open(reader: &str) -> Result<(Attacker, Eid)> {
    let conn = Conn::connect(reader)?;
    conn.start_log();
    let r = conn.transmit_full(&hex(SELECT_ISDR))?;
    if system_tests::hexutil::sw(&r) != 0x9000 {
        bail!("{reader}: SELECT ISD-R answered {}", up(&r));
    }
    let r = conn.transmit_full(&hex(GET_EID))?;
    let eid = eid_from_get_eid(&r)
        .ok_or_else(|| anyhow!("{reader}: GetEID answered {}", up(&r)))?
        .parse::<Eid>()
        .map_err(|e| anyhow!("{reader}: EID: {e:?}"))?;
    Ok((Attacker { conn }, eid))
}

/// Runs `order` on the card in `reader` with sm-cli's SM, forwarding everything.
fn run(
    sm: &TestSm,
    title: &'static str,
    reader: &str,
    order: Order,
    user: &User<'_>,
) -> Result<(FlowReport, Part)> {
    let (card, eid) = open(reader)?;
    let (verdict, _) = drive(
        &sm.service(),
        &card,
        eid,
        order,
        user,
        |_| Act::Forward,
        |_, answer| answer,
    )?;
    let log = card.conn.take_log();
    let report = verdict.map_err(|e| anyhow!("{title} on {reader}: the SM says: {e}"))?;
    let part = Part {
        title,
        reader: reader.to_string(),
        log,
    };
    card.conn.close()?;
    Ok((report, part))
}

/// The script line of a command: hex, except the typed parameter of a TERMINAL RESPONSE
/// to a hidden GET INPUT (ETSI TS 102 223 §6.8.3), which becomes `${PARAM:n}` after
/// `#! secret` (so a replay without `--var PARAM=...` skips it).
fn command_lines(
    cmd: &[u8],
    previous_answer: Option<&[u8]>,
    parameter: &str,
    out: &mut String,
) -> Result<()> {
    let fetched_hidden_input = previous_answer
        .filter(|r| r.len() > 2)
        .and_then(|r| ProactiveCommand::decode(&r[..r.len() - 2]).ok())
        .is_some_and(|c| matches!(c, ProactiveCommand::GetInput { hidden: true, .. }));
    match terminal_response_text(cmd) {
        Some((start, len)) if fetched_hidden_input => {
            if &cmd[start..start + len] != parameter.as_bytes() {
                bail!("a hidden GET INPUT was answered with something else than the parameter");
            }
            let _ = writeln!(
                out,
                "#! secret\n{}${{PARAM:{len}}}{}",
                up(&cmd[..start]),
                up(&cmd[start + len..])
            );
        }
        _ if fetched_hidden_input => bail!("a hidden GET INPUT was not answered with a text"),
        _ => {
            let _ = writeln!(out, "{}", up(cmd));
        }
    }
    Ok(())
}

/// `#< data SW` (docs/script-format.md, "Expectations"): the whole answer, exact.
fn answer_line(resp: &[u8], out: &mut String) -> Result<()> {
    if resp.len() < 2 {
        bail!("an answer without a status word: {}", up(resp));
    }
    let (data, sw) = resp.split_at(resp.len() - 2);
    if data.is_empty() {
        let _ = writeln!(out, "#< {}", up(sw));
    } else {
        let _ = writeln!(out, "#< {} {}", up(data), up(sw));
    }
    Ok(())
}

fn header(a: &Args) -> String {
    let param_hex = hex::encode_upper(a.parameter.as_bytes());
    format!(
        "\
# Device change (issue 10 protocol), written by tests/src/bin/record-device-change.rs from
# real runs of sm-cli's SM against two card-sim processes behind pcscd + vpcd: flow A
# (provision {OP_ID} on the old card, slot 0, --kdf test), flow B (device change to
# the new card, slot 1) and the old card's sync (BF6C, then BF6D and the SM's authorised
# BF6B remove the profile). Before BF69 and BF6B the SM asks the card for a one-time
# challenge (BF6D) and signs its authorisation with the CERT.DPpb test key.
# IN CLEAR ON PURPOSE: unlike `sm-cli --record` (which masks BF67/BF68/BF69 data and the
# BF6A answers, issue 10 finding 4), this file holds the salt, the KDF parameters, the
# sealed profile, the SM's challenges and signatures. They are test values for test
# cards (shipped test credential, seeded cards, test KDF), nothing of a real subscriber.
# Cards, both fresh (what scripts/test.sh starts):
#   card-sim --slot 0 --ephemeral --seed 1 --test-profiles 2 --kdf-floor test
#   card-sim --slot 1 --ephemeral --seed 2 --test-profiles 2 --kdf-floor test
# The typed parameter is {p}: sm-cli script run --var PARAM={param_hex} FILE
# Everything else is replayed as recorded; the seeded cards draw the same challenges
# again, so every card answer, signatures included, must match byte for byte.
# Regenerate: see scripts/README.md, \"Recording new scripts\".
",
        p = a.parameter
    )
}

fn render(a: &Args, parts: &[Part]) -> Result<String> {
    let mut out = header(a);
    for part in parts {
        let _ = writeln!(out, "# --- {}", part.title);
        if part.reader.contains('"') || part.reader.contains('\\') {
            bail!("reader name {:?}: quote it by hand", part.reader);
        }
        let _ = writeln!(out, "#! reader \"{}\"", part.reader);
        let mut previous: Option<&[u8]> = None;
        for (cmd, resp) in &part.log {
            command_lines(cmd, previous, &a.parameter, &mut out)?;
            answer_line(resp, &mut out)?;
            previous = Some(resp);
        }
    }
    // The file must read back as a script with no warnings.
    let script = apdu_script::parser::parse("device-change.apdu", &out)
        .map_err(|e| anyhow!("the written script does not parse: {e}"))?;
    if !script.warnings.is_empty() {
        bail!("the written script has warnings: {:?}", script.warnings);
    }
    Ok(out)
}

fn main_() -> Result<()> {
    let a = parse_args()?;
    let dir = std::env::temp_dir().join(format!("record-device-change-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = (|| -> Result<String> {
        let sm = TestSm::with_test_credential(&dir.join("sm.sqlite3"))?;
        let user = |imei| User {
            imei,
            op_id: OP_ID,
            parameter: &a.parameter,
        };
        let provision = Order::Provision {
            op_id: OP_ID.into(),
            kdf: KdfParams::TEST,
            profile: ProfileSpec::default(),
        };
        let mut parts = Vec::new();
        for (title, reader, order, imei) in [
            ("flow A: provision", &a.old, provision, IMEI_OLD),
            (
                "flow B: device change",
                &a.new,
                Order::DeviceChange,
                IMEI_NEW,
            ),
            ("sync of the old card", &a.old, Order::Sync, IMEI_OLD),
        ] {
            let (report, part) = run(&sm, title, reader, order, &user(imei))?;
            eprintln!(
                "{title} on {reader}: {} exchanges, {}",
                part.log.len(),
                serde_json::to_string(&report)?
            );
            parts.push(part);
        }
        render(&a, &parts)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let text = result?;
    let tmp = a.out.with_extension("apdu.tmp");
    std::fs::write(&tmp, &text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &a.out).with_context(|| format!("renaming to {}", a.out.display()))?;
    eprintln!("wrote {} ({} lines)", a.out.display(), text.lines().count());
    Ok(())
}

fn main() -> ExitCode {
    match main_() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("record-device-change: {e:#}");
            ExitCode::FAILURE
        }
    }
}
