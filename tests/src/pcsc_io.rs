//! Raw PC/SC access for the tests, through the `pcsc` crate and nothing of ours: waiting
//! for a reader to show or lose a card, and sending bytes exactly as given (the malformed
//! battery, the lpac-style reference sequence, the round-trip benchmark), with an optional
//! log of every APDU and its whole response as pcscd passed them (`Conn::start_log`; the
//! generator of `scripts/device-change.apdu` writes it as a script).

use anyhow::{anyhow, bail, Context as _, Result};
use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};
use std::cell::RefCell;
use std::ffi::CString;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Ok when a PC/SC service answers.
pub fn service_up() -> Result<()> {
    Context::establish(Scope::User)
        .map(|_| ())
        .map_err(|e| anyhow!("SCardEstablishContext: {e}"))
}

/// What a reader shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// pcscd does not list the reader.
    NoReader,
    Empty,
    Card,
}

/// The reader's state now (a fresh context each time, so it survives pcscd restarts).
pub fn presence(reader: &str) -> Result<Presence> {
    let ctx = Context::establish(Scope::User)?;
    let names = ctx.list_readers_owned().unwrap_or_default();
    let name = CString::new(reader)?;
    if !names.contains(&name) {
        return Ok(Presence::NoReader);
    }
    let mut rs = [ReaderState::new(name, State::UNAWARE)];
    ctx.get_status_change(Duration::ZERO, &mut rs)?;
    let ev = rs[0].event_state();
    Ok(if ev.contains(State::PRESENT) {
        Presence::Card
    } else {
        Presence::Empty
    })
}

/// The ATR pcscd reports for the card in `reader` (empty without a card).
pub fn atr(reader: &str) -> Result<Vec<u8>> {
    let ctx = Context::establish(Scope::User)?;
    let mut rs = [ReaderState::new(CString::new(reader)?, State::UNAWARE)];
    ctx.get_status_change(Duration::ZERO, &mut rs)?;
    Ok(rs[0].atr().to_vec())
}

/// Polls until the reader shows `want`, or fails after `timeout`.
pub fn wait_presence(reader: &str, want: Presence, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match presence(reader) {
            Ok(p) if p == want => return Ok(()),
            Ok(p) => format!("{p:?}"),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            bail!("reader '{reader}': wanted {want:?} within {timeout:?}, last seen {last}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls until the reader shows no card (empty, or not listed at all).
pub fn wait_no_card(reader: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        match presence(reader) {
            Ok(Presence::Card) => {}
            Ok(_) => return Ok(()),
            // No service: no card either.
            Err(_) => return Ok(()),
        }
        if Instant::now() >= deadline {
            bail!("reader '{reader}' still shows a card after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One command as sent and its whole response (data + SW1 SW2) as received. The command
/// may carry a typed parameter, so it is wiped when dropped.
pub type Logged = (Zeroizing<Vec<u8>>, Vec<u8>);

/// A shared connection to the card in one reader.
pub struct Conn {
    _ctx: Context,
    card: Option<pcsc::Card>,
    pub reader: String,
    /// Every exchange of [`Conn::transmit`] while a log is on ([`Conn::start_log`]).
    log: RefCell<Option<Vec<Logged>>>,
}

impl Conn {
    /// Connects shared, T=0 or T=1, as most clients do.
    pub fn connect(reader: &str) -> Result<Conn> {
        Conn::connect_with(reader, Protocols::T0 | Protocols::T1)
    }

    pub fn connect_with(reader: &str, protocols: Protocols) -> Result<Conn> {
        let ctx = Context::establish(Scope::User)?;
        let name = CString::new(reader)?;
        let card = ctx
            .connect(&name, ShareMode::Shared, protocols)
            .with_context(|| format!("SCardConnect to '{reader}'"))?;
        Ok(Conn {
            _ctx: ctx,
            card: Some(card),
            reader: reader.to_string(),
            log: RefCell::new(None),
        })
    }

    /// From now on, [`Conn::transmit`] logs every command and its response (also the
    /// GET RESPONSE rounds of [`Conn::transmit_full`]); a log already on is emptied.
    pub fn start_log(&self) {
        *self.log.borrow_mut() = Some(Vec::new());
    }

    /// The exchanges logged since [`Conn::start_log`] (empty when no log is on); the log
    /// stays on, empty.
    pub fn take_log(&self) -> Vec<Logged> {
        self.log
            .borrow_mut()
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The negotiated protocol.
    pub fn protocol(&self) -> Result<Option<pcsc::Protocol>> {
        let card = self.card.as_ref().ok_or_else(|| anyhow!("disconnected"))?;
        Ok(card.status2_owned()?.protocol2())
    }

    /// Begins a PC/SC transaction (SCardBeginTransaction) held until [`Conn::close`]:
    /// pcscd then makes every other handle's transmit and transaction wait.
    pub fn hold(&mut self) -> Result<()> {
        let card = self.card.as_mut().ok_or_else(|| anyhow!("disconnected"))?;
        // Forgetting the guard ends only its borrow; SCardDisconnect ends the transaction.
        card.transaction()
            .map(std::mem::forget)
            .context("SCardBeginTransaction")
    }

    /// Sends `apdu` as is; returns the response APDU (data + SW1 SW2).
    pub fn transmit(&self, apdu: &[u8]) -> Result<Vec<u8>> {
        let card = self.card.as_ref().ok_or_else(|| anyhow!("disconnected"))?;
        let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        let r = card
            .transmit(apdu, &mut buf)
            .with_context(|| format!("SCardTransmit {}", hex::encode_upper(apdu)))?;
        if let Some(log) = self.log.borrow_mut().as_mut() {
            log.push((Zeroizing::new(apdu.to_vec()), r.to_vec()));
        }
        Ok(r.to_vec())
    }

    /// Sends `apdu` and follows `61xx` (GET RESPONSE with the command's CLA) and `6Cxx`
    /// (the same command with Le = xx), as a T=0 client does; returns data + final SW.
    pub fn transmit_full(&self, apdu: &[u8]) -> Result<Vec<u8>> {
        let mut r = self.transmit(apdu)?;
        if r.len() == 2 && r[0] == 0x6C && apdu.len() >= 4 {
            let mut again = apdu[..4].to_vec();
            if apdu.len() > 5 {
                // Case 4: keep the data, replace Le.
                again = apdu[..apdu.len() - 1].to_vec();
            }
            again.push(r[1]);
            r = self.transmit(&again)?;
        }
        let mut data = Vec::new();
        let mut rounds = 0;
        while r.len() >= 2 && r[r.len() - 2] == 0x61 {
            rounds += 1;
            if rounds > 64 {
                bail!("more than 64 GET RESPONSE rounds");
            }
            data.extend_from_slice(&r[..r.len() - 2]);
            let le = r[r.len() - 1];
            let cla = apdu.first().copied().unwrap_or(0);
            r = self.transmit(&[cla, 0xC0, 0x00, 0x00, le])?;
        }
        data.extend_from_slice(&r);
        Ok(data)
    }

    /// Disconnects, leaving the card powered (as sm-cli does).
    pub fn close(self) -> Result<()> {
        self.close_with(Disposition::LeaveCard)
    }

    /// Disconnects with the given disposition (lpac: `UnpowerCard`).
    pub fn close_with(mut self, how: Disposition) -> Result<()> {
        if let Some(c) = self.card.take() {
            c.disconnect(how)
                .map_err(|(_, e)| anyhow!("SCardDisconnect: {e}"))?;
        }
        Ok(())
    }
}

/// Polls until the card in `reader` answers SELECT MF with 90 00 (reader shown, card
/// powered, card-sim connected to vpcd), or fails after `timeout`.
pub fn wait_answering(reader: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let attempt = (|| -> Result<()> {
            let c = Conn::connect(reader)?;
            let r = c.transmit(&crate::hexutil::hex("00A4000C023F00"))?;
            let sw = crate::hexutil::sw(&r);
            // Unpower, so this probe does not fix the protocol for the next client (pcsc-lite
            // keeps the one negotiated while the card stays powered; T=0-only clients such
            // as lpac then get SCARD_E_PROTO_MISMATCH).
            c.close_with(Disposition::UnpowerCard)?;
            if sw == 0x9000 {
                Ok(())
            } else {
                bail!("SELECT MF answered {sw:04X}")
            }
        })();
        match attempt {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(e.context(format!(
                    "card in '{reader}' not answering after {timeout:?}"
                )));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}
