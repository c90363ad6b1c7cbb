//! A hostile local PC/SC client of the device-change functions (issue 10, findings 1, 2,
//! 5, 8): it speaks the card's own protocol (docs/device-change-protocol.md) with raw
//! APDUs through pcscd, plays the terminal itself (answers the card's proactive
//! questions: IMEI, OP ID, parameter) and never holds the SM's key. The tests use it to
//! show what such a program can and cannot make the card do.

use crate::pcsc_io::Conn;
use anyhow::{bail, Context, Result};
use apdu::cat::{results, Input, ProactiveCommand, TerminalData, TerminalResponse};
use apdu::devchange::{DcRequest, DcResponse};
use apdu::sgp22::store_data::segment;
use zeroize::Zeroizing;

/// SELECT of the ISD-R (SGP.22 §2.2.3), the device-change functions' home.
pub const SELECT_ISDR: &str = "00A4040010A0000005591010FFFFFFFF8900000100";

/// A raw client on one reader with the ISD-R selected.
pub struct Attacker {
    pub conn: Conn,
}

impl Attacker {
    /// Connects to `reader` and selects the ISD-R.
    pub fn connect(reader: &str) -> Result<Attacker> {
        let conn = Conn::connect(reader)?;
        let r = conn.transmit_full(&crate::hexutil::hex(SELECT_ISDR))?;
        if crate::hexutil::sw(&r) != 0x9000 {
            bail!("SELECT ISD-R answered {}", crate::hexutil::up(&r));
        }
        Ok(Attacker { conn })
    }

    /// Sends one whole STORE DATA message; returns the data and the last SW.
    pub fn store_data(&self, message: &[u8]) -> Result<(Vec<u8>, u16)> {
        let mut last = Vec::new();
        for cmd in segment(0, message, 255, false) {
            let bytes = cmd
                .to_bytes()
                .map_err(|e| anyhow::anyhow!("STORE DATA block: {e:?}"))?;
            last = self.conn.transmit_full(&bytes)?;
            let sw = crate::hexutil::sw(&last);
            if sw != 0x9000 && (sw >> 8) != 0x91 {
                break;
            }
        }
        let sw = crate::hexutil::sw(&last);
        Ok((crate::hexutil::data(&last).to_vec(), sw))
    }

    /// Sends a request; answers every proactive question from `answer` (the question,
    /// its TerminalData) and fetches the result with BF6A; returns the card's answer.
    pub fn request(
        &self,
        req: &DcRequest,
        mut answer: impl FnMut(&ProactiveCommand) -> TerminalData,
    ) -> Result<DcResponse> {
        let (mut data, mut sw) = self.store_data(&req.encode())?;
        let mut proactive = false;
        let mut rounds = 0;
        while sw >> 8 == 0x91 {
            proactive = true;
            rounds += 1;
            if rounds > 8 {
                bail!("more than 8 proactive commands");
            }
            let fetched = self
                .conn
                .transmit_full(&[0x80, 0x12, 0x00, 0x00, (sw & 0xFF) as u8])?;
            let cmd = ProactiveCommand::decode(crate::hexutil::data(&fetched))
                .context("decoding the proactive command")?;
            let tr = TerminalResponse {
                details: cmd.details(),
                result: results::OK,
                data: answer(&cmd),
            };
            let body = tr.encode();
            let mut apdu = Zeroizing::new(vec![0x80, 0x14, 0x00, 0x00, body.len() as u8]);
            apdu.extend_from_slice(&body);
            let r = self.conn.transmit_full(&apdu)?;
            sw = crate::hexutil::sw(&r);
        }
        if sw != 0x9000 {
            bail!("{:?} answered SW {sw:04X}", req);
        }
        if proactive {
            let (d, s) = self.store_data(&DcRequest::FetchResult.encode())?;
            if s != 0x9000 {
                bail!("BF6A answered SW {s:04X}");
            }
            data = d;
        }
        DcResponse::decode(&data).map_err(|e| {
            anyhow::anyhow!(
                "decoding the card's answer: {e}: {}",
                crate::hexutil::up(&data)
            )
        })
    }
}

/// The terminal's answers of a hostile client: this IMEI, this OP ID and this
/// parameter for every question of their kind.
pub fn answers<'a>(
    imei: &'a str,
    op_id: &'a str,
    parameter: &'a str,
) -> impl FnMut(&ProactiveCommand) -> TerminalData + 'a {
    move |cmd| match cmd {
        ProactiveCommand::ProvideImei { .. } => TerminalData::Imei(imei.into()),
        ProactiveCommand::GetInput { hidden: true, .. } => {
            TerminalData::Text(Input(Zeroizing::new(parameter.into())))
        }
        ProactiveCommand::GetInput { .. } => {
            TerminalData::Text(Input(Zeroizing::new(op_id.into())))
        }
    }
}
