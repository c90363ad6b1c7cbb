//! rtt-bench: the APDU round trip through pcscd + vpcd (issue 2 "Done when", issue 5
//! "Benchmarks"). A benchmark, not a timed test: it prints figures and fails only when the
//! card answers wrongly.
//!
//!     cargo run --release -p system-tests --bin rtt-bench -- [--iterations N] [--json]
//!
//! Needs the stack (scripts/stack-up.sh). Starts its own card-sim (`--ephemeral`) on a
//! free test slot and, when a second slot is free, the floor-card (answers 90 00 to
//! everything) on it. Then, interleaved round by round so drift hits all equally, it times
//! one `SCardTransmit` of each:
//! - GetEID on logical channel 1 with the ISD-R selected: `81 E2 91 00 06 BF3E035C015A`;
//! - a no-op on the same card: TERMINAL CAPABILITY (accepted and ignored, interop.md);
//! - SELECT MF without FCP: `00 A4 00 0C 02 3F00`;
//! - the same GetEID bytes against the floor-card;
//! - a 1 KiB ES10 message as chained STORE DATA, split with lpac's default block size of
//!   120 bytes (interop.md, "ES10 transport"): GetProfilesInfo `BF2D { 5C <tag list> }`
//!   with a 1015-byte tag list, 9 blocks, timed from the first block to the last answer,
//!   on card-sim and (the same bytes) on the floor-card;
//!
//! and reports median, p90, p99, min and the ratios GetEID / no-op, GetEID / floor and
//! chained STORE DATA / floor.

use anyhow::{bail, ensure, Context as _, Result};
use std::time::{Duration, Instant};
use system_tests::hexutil::{hex, sw, up};
use system_tests::pcsc_io::Conn;
use system_tests::{CardOptions, CardSim, Lease, Stack};

const GET_EID: &str = "81E2910006BF3E035C015A";
const NOOP: &str = "80AA00000AA9088100820101830107";
const SELECT_MF: &str = "00A4000C023F00";
const OPEN_CHANNEL: &str = "0070000001";
const SELECT_ISDR_CH1: &str = "01A4040010A0000005591010FFFFFFFF8900000100";
/// lpac's default STORE DATA block size (interop.md).
const LPAC_BLOCK: usize = 120;
/// Size of the chained ES10 message.
const CHAINED_MESSAGE: usize = 1024;

struct Series {
    name: &'static str,
    times: Vec<Duration>,
}

impl Series {
    fn new(name: &'static str) -> Series {
        Series {
            name,
            times: Vec::new(),
        }
    }

    fn pct(&self, p: f64) -> Duration {
        let mut v = self.times.clone();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        let i = ((v.len() - 1) as f64 * p).round() as usize;
        v[i.min(v.len() - 1)]
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn timed(conn: &Conn, apdu: &[u8], want_sw: u16, series: &mut Series) -> Result<Vec<u8>> {
    let t = Instant::now();
    let r = conn.transmit(apdu)?;
    series.times.push(t.elapsed());
    ensure!(
        sw(&r) == want_sw,
        "{}: {} answered {} (wanted SW {want_sw:04X})",
        series.name,
        up(apdu),
        up(&r)
    );
    Ok(r)
}

/// GetProfilesInfo asking only for ICCIDs (`5A`), its tag list padded so that the whole
/// message is `CHAINED_MESSAGE` bytes, as STORE DATA blocks on channel 1 (SGP.22
/// §5.7.2: CLA 81, INS E2, P1 11 more / 91 last, P2 block number, no Le).
fn chained_store_data() -> Vec<Vec<u8>> {
    let list = CHAINED_MESSAGE - 9;
    let inner = list + 4;
    let mut msg = vec![0xBF, 0x2D, 0x82, (inner >> 8) as u8, inner as u8];
    msg.extend_from_slice(&[0x5C, 0x82, (list >> 8) as u8, list as u8]);
    msg.resize(CHAINED_MESSAGE, 0x5A);
    let n = msg.len().div_ceil(LPAC_BLOCK);
    msg.chunks(LPAC_BLOCK)
        .enumerate()
        .map(|(i, c)| {
            let p1 = if i + 1 == n { 0x91 } else { 0x11 };
            let mut apdu = vec![0x81, 0xE2, p1, i as u8, c.len() as u8];
            apdu.extend_from_slice(c);
            apdu
        })
        .collect()
}

/// Sends the blocks; every answer must be 90 00, the last one of card-sim with the
/// GetProfilesInfo answer (`BF2D ...`) in front. One sample: first block to last answer.
fn timed_chain(
    conn: &Conn,
    blocks: &[Vec<u8>],
    want_answer: bool,
    series: &mut Series,
) -> Result<()> {
    let t = Instant::now();
    let mut last = Vec::new();
    for b in blocks {
        last = conn.transmit(b)?;
        ensure!(
            sw(&last) == 0x9000,
            "{}: block {} answered {}",
            series.name,
            up(&b[..5]),
            up(&last)
        );
    }
    series.times.push(t.elapsed());
    ensure!(
        !want_answer || last.starts_with(&[0xBF, 0x2D]),
        "{}: the last block answered {} (wanted a GetProfilesInfo answer)",
        series.name,
        up(&last)
    );
    Ok(())
}

fn pcscd_logs_apdus(stack: &Stack) -> Option<bool> {
    let pid = std::fs::read_to_string(stack.dir.join("pcscd.pid")).ok()?;
    let pid = pid.split_whitespace().next()?;
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(cmd.split(|&b| b == 0).any(|a| a == b"-a" || a == b"--apdu"))
}

fn main() -> Result<()> {
    let mut iterations = 2000usize;
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iterations" | "-n" => {
                iterations = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .context("--iterations wants a positive number")?;
            }
            "--quick" => iterations = 200,
            "--json" => json = true,
            "-h" | "--help" => {
                println!("usage: rtt-bench [--iterations N | --quick] [--json]");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let stack = Stack::discover().map_err(anyhow::Error::msg)?;
    let two = stack.test_slots().len() >= 2;
    let lease = Lease::take(&stack, if two { 2 } else { 1 }, false)?;
    let card = CardSim::start(
        &stack,
        &lease,
        "rtt-bench",
        &CardOptions {
            ephemeral: true,
            ..CardOptions::default()
        },
    )?;
    let floor = if two {
        CardSim::start_floor(&stack, lease.slots[1], &lease.readers[1], "rtt-bench-floor")?
    } else {
        None
    };
    if floor.is_none() {
        eprintln!("rtt-bench: no floor-card (needs a second free slot and the floor-card binary)");
    }

    let conn = Conn::connect(&card.reader)?;
    let ch = conn.transmit(&hex(OPEN_CHANNEL))?;
    ensure!(
        ch == [0x01, 0x90, 0x00],
        "MANAGE CHANNEL open answered {}",
        up(&ch)
    );
    let sel = conn.transmit_full(&hex(SELECT_ISDR_CH1))?;
    ensure!(
        sel.ends_with(&[0x90, 0x00]),
        "SELECT ISD-R answered {}",
        up(&sel)
    );
    let first = conn.transmit(&hex(GET_EID))?;
    let eid = system_tests::hexutil::eid_from_get_eid(&first)
        .with_context(|| format!("GetEID answered {}", up(&first)))?;
    let floor_conn = floor
        .as_ref()
        .map(|f| Conn::connect(&f.reader))
        .transpose()?;

    let (get_eid, noop, mf) = (hex(GET_EID), hex(NOOP), hex(SELECT_MF));
    let mut s_eid = Series::new("GetEID (card-sim)");
    let mut s_noop = Series::new("TERMINAL CAPABILITY no-op (card-sim)");
    let mut s_mf = Series::new("SELECT MF (card-sim)");
    let mut s_floor = Series::new("GetEID bytes (floor-card)");
    let mut s_chain = Series::new("1 KiB STORE DATA, 9 blocks (card-sim)");
    let mut s_chain_floor = Series::new("1 KiB STORE DATA, 9 blocks (floor-card)");
    let chain = chained_store_data();
    let warmup = (iterations / 10).max(10);
    for i in 0..warmup + iterations {
        timed(&conn, &get_eid, 0x9000, &mut s_eid)?;
        timed(&conn, &noop, 0x9000, &mut s_noop)?;
        timed(&conn, &mf, 0x9000, &mut s_mf)?;
        timed_chain(&conn, &chain, true, &mut s_chain)?;
        if let Some(fc) = &floor_conn {
            timed(fc, &get_eid, 0x9000, &mut s_floor)?;
            timed_chain(fc, &chain, false, &mut s_chain_floor)?;
        }
        if i + 1 == warmup {
            for s in [
                &mut s_eid,
                &mut s_noop,
                &mut s_mf,
                &mut s_floor,
                &mut s_chain,
                &mut s_chain_floor,
            ] {
                s.times.clear();
            }
        }
    }
    let apdu_log = pcscd_logs_apdus(&stack);
    let ratio_noop = us(s_eid.pct(0.5)) / us(s_noop.pct(0.5));
    let ratio_floor = floor_conn
        .as_ref()
        .map(|_| us(s_eid.pct(0.5)) / us(s_floor.pct(0.5)));
    let ratio_chain = floor_conn
        .as_ref()
        .map(|_| us(s_chain.pct(0.5)) / us(s_chain_floor.pct(0.5)));
    let all = [&s_eid, &s_noop, &s_mf, &s_floor, &s_chain, &s_chain_floor];
    if json {
        let series: Vec<_> = all
            .iter()
            .filter(|s| !s.times.is_empty())
            .map(|s| {
                serde_json::json!({
                    "name": s.name, "n": s.times.len(),
                    "median_us": us(s.pct(0.5)), "p90_us": us(s.pct(0.9)),
                    "p99_us": us(s.pct(0.99)), "min_us": us(s.pct(0.0)),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "iterations": iterations, "eid": eid, "card_sim": stack.card_sim,
            "pcscd_apdu_logging": apdu_log, "series": series,
            "ratio_get_eid_to_noop": ratio_noop, "ratio_get_eid_to_floor": ratio_floor,
            "ratio_store_data_1k_to_floor": ratio_chain,
        });
        println!("{doc:#}");
    } else {
        println!(
            "APDU round trip through pcscd + vpcd, {iterations} iterations after {warmup} warm-up, \
             card-sim {} (EID {eid}), pcscd APDU logging: {}",
            stack.card_sim.display(),
            match apdu_log {
                Some(true) => "on (-a)",
                Some(false) => "off",
                None => "unknown (pcscd not ours)",
            }
        );
        println!(
            "{:<40} {:>10} {:>10} {:>10} {:>10}",
            "exchange", "median us", "p90 us", "p99 us", "min us"
        );
        for s in all.iter().filter(|s| !s.times.is_empty()) {
            println!(
                "{:<40} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
                s.name,
                us(s.pct(0.5)),
                us(s.pct(0.9)),
                us(s.pct(0.99)),
                us(s.pct(0.0))
            );
        }
        println!("ratio GetEID / no-op on the same card (median): {ratio_noop:.2}");
        if let Some(r) = ratio_floor {
            println!("ratio GetEID card-sim / floor-card (median):  {r:.2}");
        }
        if let Some(r) = ratio_chain {
            println!("ratio 1 KiB STORE DATA card-sim / floor-card (median): {r:.2}");
        }
    }
    conn.close()?;
    if let Some(fc) = floor_conn {
        fc.close()?;
    }
    drop(floor);
    drop(card);
    Ok(())
}
