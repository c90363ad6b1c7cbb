//! The PC/SC context: talking to pcscd, listing readers, connecting to one card.
//!
//! pcscd may restart while we hold a context (the old handle then answers
//! `SCARD_E_NO_SERVICE`, `SCARD_E_SERVICE_STOPPED` or `SCARD_E_INVALID_HANDLE`). Every
//! context operation goes through [`with_reestablish`]: on those errors it establishes a
//! new context and retries the operation, again and again with a growing pause, until
//! [`RESTART_GRACE`] has passed: a pcscd that is restarting is back within it, and only
//! one that stays away is reported as not running. (A first context that cannot be
//! established is reported at once: nothing says pcscd is coming.)

use crate::errors::{from_pcsc, is_service_lost, CliError};
use crate::reader::select::{choose, ReaderInfo};
use crate::reader::session::Session;
use crate::reader::trace::Tracer;
use crate::reader::watchdog::{Busy, Watchdog};
use pcsc::{Context, Protocols, ReaderState, Scope, ShareMode, State};
use std::ffi::CString;
use std::time::{Duration, Instant};

/// How long a context that worked waits for pcscd to come back.
pub const RESTART_GRACE: Duration = Duration::from_secs(5);

/// Runs `op` on `ctx`; while it fails because pcscd went away, replaces `ctx` with a
/// fresh one from `make` and runs `op` again, until [`RESTART_GRACE`] has passed.
pub fn with_reestablish<C, T>(
    ctx: &mut C,
    make: impl FnMut() -> Result<C, pcsc::Error>,
    op: impl FnMut(&C) -> Result<T, pcsc::Error>,
) -> Result<T, pcsc::Error> {
    with_reestablish_for(RESTART_GRACE, ctx, make, op)
}

/// [`with_reestablish`] with a given grace period. Generic so it is tested without
/// pcscd.
pub fn with_reestablish_for<C, T>(
    grace: Duration,
    ctx: &mut C,
    mut make: impl FnMut() -> Result<C, pcsc::Error>,
    mut op: impl FnMut(&C) -> Result<T, pcsc::Error>,
) -> Result<T, pcsc::Error> {
    let deadline = Instant::now() + grace;
    let mut pause = Duration::from_millis(20);
    let mut last = match op(ctx) {
        Err(e) if is_service_lost(e) => e,
        other => return other,
    };
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(last);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(400));
        match make() {
            Ok(c) => *ctx = c,
            Err(e) if is_service_lost(e) => {
                last = e;
                continue;
            }
            Err(e) => return Err(e),
        }
        match op(ctx) {
            Err(e) if is_service_lost(e) => last = e,
            other => return other,
        }
    }
}

/// Whether another program has the reader's card connected, as pcscd tells in its
/// reader state (SCARD_STATE_INUSE, read without waiting on any lock). Asked when
/// SCardConnect overruns: pcsc-lite's connect waits while another handle holds a
/// transaction (measured), and then the card is in use, not mute.
fn in_use(reader: &str) -> bool {
    let Ok(ctx) = Context::establish(Scope::User) else {
        return false;
    };
    let Ok(name) = CString::new(reader) else {
        return false;
    };
    let mut states = [ReaderState::new(name, State::UNAWARE)];
    ctx.get_status_change(Duration::ZERO, &mut states).is_ok()
        && states[0]
            .event_state()
            .contains(State::PRESENT | State::INUSE)
        && !states[0].event_state().contains(State::MUTE)
}

fn establish() -> Result<Context, pcsc::Error> {
    Context::establish(Scope::User)
}

/// A PC/SC context that survives a pcscd restart.
pub struct Pcsc {
    ctx: Context,
}

impl Pcsc {
    /// Connects to pcscd.
    pub fn establish() -> Result<Pcsc, CliError> {
        let ctx = establish().map_err(|e| from_pcsc(e, None, "establishing a PC/SC context"))?;
        Ok(Pcsc { ctx })
    }

    /// All readers with their card state and ATR, without connecting to any card.
    pub fn readers(&mut self) -> Result<Vec<ReaderInfo>, CliError> {
        let names = match with_reestablish(&mut self.ctx, establish, |c| c.list_readers_owned()) {
            Ok(n) => n,
            Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
            Err(e) => return Err(from_pcsc(e, None, "listing readers")),
        };
        let mut states: Vec<ReaderState> = names
            .iter()
            .map(|n| ReaderState::new(n.clone(), State::UNAWARE))
            .collect();
        // With UNAWARE as the known state pcscd answers at once with the current one.
        let got = with_reestablish(&mut self.ctx, establish, |c| {
            c.get_status_change(Duration::ZERO, &mut states)
        });
        Ok(states
            .iter()
            .enumerate()
            .map(|(index, s)| {
                let ev = s.event_state();
                let known = got.is_ok();
                let present = known && ev.contains(State::PRESENT);
                ReaderInfo {
                    index,
                    name: s.name().to_string_lossy().into_owned(),
                    card_present: present,
                    atr: (present && !s.atr().is_empty()).then(|| s.atr().to_vec()),
                    exclusive: known && ev.contains(State::EXCLUSIVE),
                    mute: known && ev.contains(State::MUTE),
                }
            })
            .collect())
    }

    /// Chooses a reader (see `select`) and connects to its card: shared, T=0 or T=1.
    /// `watchdog` bounds the connect and every later transmit.
    pub fn connect(
        &mut self,
        selector: Option<&str>,
        tracer: Tracer,
        watchdog: Watchdog,
    ) -> Result<Session, CliError> {
        let readers = self.readers()?;
        let i = choose(&readers, selector)?;
        let name = readers[i].name.clone();
        let cname = CString::new(name.clone()).map_err(|_| CliError::ReaderGone(name.clone()))?;
        let card = watchdog
            .guard_as(&name, "connecting", Busy::When(in_use), || {
                with_reestablish(&mut self.ctx, establish, |c| {
                    // T=0 first: pcsc-lite keeps the protocol the first client negotiated
                    // while the card stays powered, and prefers T=1 when both are asked
                    // for. Connecting with T=0 leaves the card usable by T=0-only clients
                    // such as lpac; a T=1-only card still connects on the second try.
                    match c.connect(&cname, ShareMode::Shared, Protocols::T0) {
                        Err(pcsc::Error::ProtoMismatch) => {
                            c.connect(&cname, ShareMode::Shared, Protocols::T0 | Protocols::T1)
                        }
                        other => other,
                    }
                })
            })
            .map_err(|e| from_pcsc(e, Some(&name), "connecting to the card"))?;
        Ok(Session::new(card, name, tracer, watchdog))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_millis(300);

    #[test]
    fn reestablishes_after_a_pcscd_restart() {
        // The "context" is a generation number; generation 0 is dead.
        let mut ctx = 0u32;
        let mut calls = 0;
        let r = with_reestablish_for(
            GRACE,
            &mut ctx,
            || Ok(1),
            |c| {
                calls += 1;
                if *c == 0 {
                    Err(pcsc::Error::InvalidHandle)
                } else {
                    Ok(*c)
                }
            },
        );
        assert_eq!((r, ctx, calls), (Ok(1), 1, 2));
    }

    #[test]
    fn waits_for_a_pcscd_that_is_still_restarting() {
        // pcscd comes back on the fourth attempt to establish a context.
        let mut ctx = 0u32;
        let mut attempts = 0;
        let r = with_reestablish_for(
            Duration::from_secs(5),
            &mut ctx,
            || {
                attempts += 1;
                if attempts < 4 {
                    Err(pcsc::Error::NoService)
                } else {
                    Ok(attempts)
                }
            },
            |c| {
                if *c == 0 {
                    Err(pcsc::Error::ServiceStopped)
                } else {
                    Ok(*c)
                }
            },
        );
        assert_eq!(r, Ok(4));
    }

    #[test]
    fn gives_up_when_pcscd_stays_away() {
        let mut ctx = 0u32;
        let t = Instant::now();
        let r: Result<(), _> = with_reestablish_for(
            GRACE,
            &mut ctx,
            || Err(pcsc::Error::NoService),
            |_| Err(pcsc::Error::ServiceStopped),
        );
        assert_eq!(r, Err(pcsc::Error::NoService));
        assert!(t.elapsed() >= GRACE, "gave up before the grace period");
        let mut calls = 0;
        let r: Result<(), _> = with_reestablish_for(
            GRACE,
            &mut ctx,
            || Ok(2),
            |_| {
                calls += 1;
                Err(pcsc::Error::NoService)
            },
        );
        assert_eq!(r, Err(pcsc::Error::NoService));
        assert!(calls >= 3, "retried only {calls} times");
    }

    #[test]
    fn other_errors_are_not_retried() {
        let mut ctx = 0u32;
        let mut calls = 0;
        let r: Result<(), _> = with_reestablish_for(
            GRACE,
            &mut ctx,
            || panic!("no new context"),
            |_| {
                calls += 1;
                Err(pcsc::Error::NoSmartcard)
            },
        );
        assert_eq!((r, calls), (Err(pcsc::Error::NoSmartcard), 1));
        // An establish that fails for another reason ends the wait.
        let r: Result<(), _> = with_reestablish_for(
            Duration::from_secs(5),
            &mut ctx,
            || Err(pcsc::Error::NoMemory),
            |_| Err(pcsc::Error::NoService),
        );
        assert_eq!(r, Err(pcsc::Error::NoMemory));
    }
}
