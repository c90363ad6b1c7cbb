//! A connected card: raw transmit with the APDU trace, and disconnect with LeaveCard.
//!
//! `pcsc::Card` resets the card when dropped; a [`Session`] instead leaves it as it is
//! (SCARD_LEAVE_CARD), so the eUICC keeps its state and other programs sharing the
//! card are not disturbed.
//!
//! Every connect, transmit, reset and power-off is also reported to the session's
//! [`Tap`], when one is installed ([`Session::tapped`]; `--record FILE` installs the
//! script recorder).

use crate::errors::{from_pcsc, CliError};
use crate::reader::tap::Tap;
use crate::reader::trace::{command_line, response_line, Secrecy, Tracer};
use crate::reader::transport::{exchange, CardLink, Handling};
use crate::reader::watchdog::Watchdog;
use apdu::{Command, Response};
use std::sync::Arc;
use std::time::Instant;
use zeroize::Zeroize;

/// A card connected through pcscd.
pub struct Session {
    card: Option<pcsc::Card>,
    reader: String,
    tracer: Tracer,
    watchdog: Watchdog,
    buf: Vec<u8>,
    tap: Option<Arc<dyn Tap>>,
}

impl Session {
    pub(crate) fn new(
        card: pcsc::Card,
        reader: String,
        tracer: Tracer,
        watchdog: Watchdog,
    ) -> Session {
        Session {
            card: Some(card),
            reader,
            tracer,
            watchdog,
            buf: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
            tap: None,
        }
    }

    /// Takes the card for this session: a PC/SC transaction (SCardBeginTransaction)
    /// held until the session disconnects, so that no other program's APDUs land in the
    /// middle of a flow (an ES10 session on a logical channel, a CAT dialogue, a
    /// download). pcsc-lite makes the other programs' SCardTransmit and
    /// SCardBeginTransaction wait until we disconnect (measured with pcsc-lite 1.9.9:
    /// another client's transmit sent 0.5 s into a 6 s transaction returned right after
    /// the disconnect); resets of our own (`reset`) keep the transaction. When another
    /// program holds a transaction, we wait up to the watchdog's limit and then report the
    /// card in use.
    ///
    /// The transaction is ended by SCardDisconnect, which releases it in pcscd, rather
    /// than by SCardEndTransaction: `pcsc::Transaction` borrows the card, and a session
    /// owns both.
    pub fn hold(&mut self) -> Result<(), CliError> {
        let card = self
            .card
            .as_mut()
            .ok_or_else(|| CliError::no_card(&self.reader))?;
        self.watchdog
            .guard_busy(&self.reader, "taking the card", || {
                // Forgetting the guard keeps the transaction open in pcscd until the
                // disconnect; it only ends the borrow.
                card.transaction().map(std::mem::forget)
            })
            .map_err(|e| from_pcsc(e, Some(&self.reader), "taking the card for this command"))
    }

    /// Installs `tap`, which from now on sees this session's traffic, and reports the
    /// connection to it (with the ATR, asked from pcscd only here).
    pub fn tapped(mut self, tap: Arc<dyn Tap>) -> Session {
        let atr = self.status().ok().map(|(atr, _)| atr);
        tap.connected(&self.reader, atr.as_deref());
        self.tap = Some(tap);
        self
    }

    fn tap(&self, f: impl FnOnce(&dyn Tap)) {
        if let Some(t) = &self.tap {
            f(t.as_ref());
        }
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The ATR and the protocol pcscd negotiated ("T=0", "T=1").
    pub fn status(&self) -> Result<(Vec<u8>, &'static str), CliError> {
        let card = self
            .card
            .as_ref()
            .ok_or_else(|| CliError::no_card(&self.reader))?;
        let st = card
            .status2_owned()
            .map_err(|e| from_pcsc(e, Some(&self.reader), "reading the card status"))?;
        let proto = match st.protocol2() {
            Some(pcsc::Protocol::T0) => "T=0",
            Some(pcsc::Protocol::T1) => "T=1",
            Some(pcsc::Protocol::RAW) => "raw",
            None => "none",
        };
        Ok((st.atr().to_vec(), proto))
    }

    /// Sends a command; with [`Handling::Auto`], `61xx`/`6Cxx` are followed.
    pub fn exchange(
        &mut self,
        cmd: &Command,
        secrecy: Secrecy,
        handling: Handling,
    ) -> Result<Response, CliError> {
        exchange(self, cmd, secrecy, handling)
    }

    /// Disconnects, leaving the card powered and its state as it is.
    pub fn close(mut self) -> Result<(), CliError> {
        self.disconnect()
    }

    /// Resets the card (`SCardReconnect`): warm keeps power (`SCARD_RESET_CARD`), cold
    /// cycles it (`SCARD_UNPOWER_CARD`). The card closes its logical channels.
    pub fn reset(&mut self, cold: bool) -> Result<(), CliError> {
        let card = self
            .card
            .as_mut()
            .ok_or_else(|| CliError::no_card(&self.reader))?;
        let how = if cold {
            pcsc::Disposition::UnpowerCard
        } else {
            pcsc::Disposition::ResetCard
        };
        self.watchdog
            .guard(&self.reader, "resetting the card", || {
                // T=0 preferred, as in `Pcsc::connect`.
                match card.reconnect(pcsc::ShareMode::Shared, pcsc::Protocols::T0, how) {
                    Err(pcsc::Error::ProtoMismatch) => card.reconnect(
                        pcsc::ShareMode::Shared,
                        pcsc::Protocols::T0 | pcsc::Protocols::T1,
                        how,
                    ),
                    other => other,
                }
            })
            .map_err(|e| from_pcsc(e, Some(&self.reader), "resetting the card"))?;
        self.tap(|t| t.reset(cold));
        Ok(())
    }

    /// Disconnects unpowering the card (`SCARD_UNPOWER_CARD`); connecting again powers
    /// it up with a fresh ATR.
    pub fn power_off(mut self) -> Result<(), CliError> {
        if self.release(pcsc::Disposition::UnpowerCard, "powering the card off")? {
            self.tap(|t| t.powered_off());
        }
        Ok(())
    }

    fn disconnect(&mut self) -> Result<(), CliError> {
        self.release(pcsc::Disposition::LeaveCard, "disconnecting")
            .map(|_| ())
    }

    /// Disconnects the card handle, if there still is one, leaving the card as `how`
    /// says. True when a handle was disconnected.
    fn release(&mut self, how: pcsc::Disposition, op: &'static str) -> Result<bool, CliError> {
        let Some(card) = self.card.take() else {
            return Ok(false);
        };
        card.disconnect(how).map_err(|(card, e)| {
            // Dropping the handle would reset the card; it is unusable anyway, so let
            // the process exit release it.
            std::mem::forget(card);
            from_pcsc(e, Some(&self.reader), op)
        })?;
        Ok(true)
    }
}

impl CardLink for Session {
    fn transmit_raw(&mut self, apdu: &[u8], secrecy: Secrecy) -> Result<Vec<u8>, CliError> {
        let card = self
            .card
            .as_ref()
            .ok_or_else(|| CliError::no_card(&self.reader))?;
        if self.tracer.enabled() {
            self.tracer.line(command_line(apdu, secrecy));
        }
        let start = Instant::now();
        let buf = &mut self.buf;
        let result = self
            .watchdog
            .guard(&self.reader, "waiting for an answer to an APDU", || {
                card.transmit(apdu, buf).map(<[u8]>::to_vec)
            });
        let elapsed = start.elapsed();
        if secrecy.hides_response() {
            self.buf.as_mut_slice().zeroize();
        }
        let answer = match result {
            Ok(a) => a,
            Err(e) => {
                let e = from_pcsc(e, Some(&self.reader), "transmitting an APDU");
                self.tap(|t| t.failed(apdu, secrecy, &e));
                return Err(e);
            }
        };
        // A card that goes away in the middle of a command (card-sim killed, card pulled)
        // leaves pcscd nothing to return: an empty answer is no answer, not a malformed one.
        if answer.is_empty() {
            let e = CliError::CardMute {
                reader: self.reader.clone(),
                detail: "it returned nothing; it was removed or reset during the command".into(),
            };
            self.tap(|t| t.failed(apdu, secrecy, &e));
            return Err(e);
        }
        self.tap(|t| t.exchanged(apdu, &answer, secrecy));
        if self.tracer.enabled() {
            self.tracer.line(response_line(
                apdu.first().copied(),
                &answer,
                elapsed,
                secrecy,
            ));
        }
        Ok(answer)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.disconnect();
    }
}
