//! Byte strings and small flows the system tests share, copied from interop.md ("ES10
//! transport", "Observed: what lpac 2.3 sent to a virtual card") rather than built with
//! our `apdu` crate, so the tests stay a witness independent of the code they check.

use crate::cli::sm_cli;
use crate::hexutil::{hex, sw, up};
use crate::pcsc_io::Conn;
use crate::stack::Stack;
use anyhow::{ensure, Result};

pub const ISDR_AID: &str = "A0000005591010FFFFFFFF8900000100";
pub const TERMINAL_CAPABILITY: &str = "80AA00000AA9088100820101830107";
pub const OPEN_CHANNEL: &str = "0070000001";
pub const SELECT_ISDR_CH1: &str = "01A4040010A0000005591010FFFFFFFF8900000100";
pub const SELECT_ISDR_CH0: &str = "00A4040010A0000005591010FFFFFFFF8900000100";
pub const GET_EID_CH1: &str = "81E2910006BF3E035C015A";
pub const GET_EID_CH0: &str = "80E2910006BF3E035C015A";
pub const CONFIGURED_ADDRESSES_CH1: &str = "81E2910003BF3C00";
pub const GET_RAT_CH1: &str = "81E2910003BF4300";
pub const EUICC_INFO2_CH1: &str = "81E2910003BF2200";
pub const PROFILES_INFO_CH1: &str = "81E2910003BF2D00";
pub const CLOSE_CHANNEL_1: &str = "0070800100";
pub const SELECT_MF: &str = "00A4000C023F00";

/// Sends `apdu` and follows `61xx` with GET RESPONSE as lpac does (CLA of the command),
/// checking interop.md's rule that no single response APDU carries more than 256 data
/// bytes. Returns the concatenated data and the final SW.
pub fn exchange_lpac(conn: &Conn, apdu: &str) -> Result<(Vec<u8>, u16)> {
    let cmd = hex(apdu);
    let mut r = conn.transmit(&cmd)?;
    let mut data = Vec::new();
    for _ in 0..64 {
        ensure!(r.len() >= 2, "{apdu}: answer shorter than a status word");
        ensure!(
            r.len() <= 258,
            "{apdu}: a response APDU of {} data bytes (lpac's buffer takes 256)",
            r.len() - 2
        );
        data.extend_from_slice(&r[..r.len() - 2]);
        let s = sw(&r);
        if s >> 8 != 0x61 {
            return Ok((data, s));
        }
        r = conn.transmit(&[cmd[0], 0xC0, 0x00, 0x00, (s & 0xFF) as u8])?;
    }
    anyhow::bail!("{apdu}: more than 64 GET RESPONSE rounds")
}

/// The EID read with raw PC/SC: channel 1, SELECT ISD-R, GetEID, close.
pub fn eid_raw(reader: &str) -> Result<String> {
    let conn = Conn::connect(reader)?;
    let ch = conn.transmit(&hex(OPEN_CHANNEL))?;
    ensure!(
        ch == [0x01, 0x90, 0x00],
        "MANAGE CHANNEL open answered {}",
        up(&ch)
    );
    let (_, s) = exchange_lpac(&conn, SELECT_ISDR_CH1)?;
    ensure!(s == 0x9000, "SELECT ISD-R answered {s:04X}");
    let r = conn.transmit(&hex(GET_EID_CH1))?;
    let eid = crate::hexutil::eid_from_get_eid(&r);
    let close = conn.transmit(&hex(CLOSE_CHANNEL_1))?;
    ensure!(
        sw(&close) == 0x9000,
        "MANAGE CHANNEL close answered {}",
        up(&close)
    );
    conn.close()?;
    eid.ok_or_else(|| anyhow::anyhow!("GetEID answered {}", up(&r)))
}

/// One profile as `sm-cli profiles list --json` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub iccid: String,
    pub state: String,
    pub class: String,
    pub name: String,
}

/// `sm-cli -r READER profiles list --json`, parsed; panics with the output if it fails.
pub fn profiles(stack: &Stack, reader: &str) -> Vec<Profile> {
    let run = sm_cli(stack, ["-r", reader, "profiles", "list", "--json"]);
    let v = run.expect_success().json();
    let Some(list) = v.get("profiles").and_then(|p| p.as_array()) else {
        panic!("no \"profiles\" array: {run}");
    };
    let s = |p: &serde_json::Value, k: &str| {
        p.get(k)
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_string()
    };
    list.iter()
        .map(|p| Profile {
            iccid: s(p, "iccid"),
            state: s(p, "state"),
            class: s(p, "class"),
            name: s(p, "name"),
        })
        .collect()
}

/// `sm-cli -r READER info --json` → the EID string; panics with the output if absent.
pub fn eid_cli(stack: &Stack, reader: &str) -> String {
    let run = sm_cli(stack, ["-r", reader, "info", "--json"]);
    let v = run.expect_success().json();
    match v.get("eid").and_then(|e| e.as_str()) {
        Some(e) => e.to_string(),
        None => panic!("no \"eid\" in the info document: {run}"),
    }
}
