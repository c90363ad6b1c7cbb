//! A deadline for PC/SC calls that may never return.
//!
//! pcsc-lite has no timeout on SCardConnect or SCardTransmit: a card that stops
//! answering (a frozen card-sim behind vpcd, a broken real card) blocks the call for
//! ever. The watchdog is a thread that runs a handler when a guarded call is still
//! running after the limit; sm-cli's handler reports "the card did not answer" and
//! exits with that error's code, since the blocked call cannot be interrupted.
//!
//! The same deadline bounds the wait for a card another program holds in a PC/SC
//! transaction ([`Watchdog::guard_busy`]): pcsc-lite's SCardBeginTransaction waits
//! while another handle holds one, with no timeout of its own.

use crate::errors::CliError;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

struct Armed {
    deadline: Instant,
    reader: String,
    what: String,
    /// Whether overrunning means the card is in use by another program, not mute.
    busy: Busy,
}

/// What an overrunning call says about the card.
#[derive(Clone, Copy)]
pub enum Busy {
    /// The card did not answer.
    Never,
    /// The call waits for another program's PC/SC transaction: the card is in use.
    Always,
    /// In use when the check says so for the reader (at the deadline), else mute:
    /// SCardConnect waits both for a card that does not power up and for another
    /// program's transaction.
    When(fn(&str) -> bool),
}

type Shared = Arc<(Mutex<Option<Armed>>, Condvar)>;

/// Runs guarded closures under a time limit (see the module docs).
#[derive(Clone)]
pub struct Watchdog {
    shared: Option<Shared>,
    limit: Duration,
}

impl Watchdog {
    /// No limit at all.
    pub fn none() -> Watchdog {
        Watchdog {
            shared: None,
            limit: Duration::ZERO,
        }
    }

    /// Starts the watchdog thread. `on_expire` gets the "card did not answer" error of the
    /// call that overran; it is expected not to return (it exits the process).
    pub fn start(limit: Duration, on_expire: impl Fn(CliError) + Send + 'static) -> Watchdog {
        let shared: Shared = Arc::new((Mutex::new(None), Condvar::new()));
        let theirs = Arc::clone(&shared);
        std::thread::spawn(move || watch(&theirs, limit, on_expire));
        Watchdog {
            shared: Some(shared),
            limit,
        }
    }

    /// Runs `f`; if it takes longer than the limit, the handler runs (once) with
    /// "the card did not answer".
    pub fn guard<T>(&self, reader: &str, what: &str, f: impl FnOnce() -> T) -> T {
        self.arm(reader, what, Busy::Never, f)
    }

    /// Runs `f`, a wait for a card another program holds; if it takes longer than the
    /// limit, the handler runs (once) with "the card is in use by another program".
    pub fn guard_busy<T>(&self, reader: &str, what: &str, f: impl FnOnce() -> T) -> T {
        self.arm(reader, what, Busy::Always, f)
    }

    /// Runs `f` with what an overrun means decided by `busy` (see [`Busy`]).
    pub fn guard_as<T>(&self, reader: &str, what: &str, busy: Busy, f: impl FnOnce() -> T) -> T {
        self.arm(reader, what, busy, f)
    }

    fn arm<T>(&self, reader: &str, what: &str, busy: Busy, f: impl FnOnce() -> T) -> T {
        let Some(shared) = &self.shared else {
            return f();
        };
        let (lock, cv) = &**shared;
        *lock.lock().unwrap_or_else(PoisonError::into_inner) = Some(Armed {
            deadline: Instant::now() + self.limit,
            reader: reader.to_string(),
            what: what.to_string(),
            busy,
        });
        cv.notify_all();
        let r = f();
        *lock.lock().unwrap_or_else(PoisonError::into_inner) = None;
        cv.notify_all();
        r
    }
}

fn watch(shared: &Shared, limit: Duration, on_expire: impl Fn(CliError)) {
    let (lock, cv) = &**shared;
    let mut armed = lock.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let wait = match &*armed {
            None => None,
            Some(a) => {
                let now = Instant::now();
                if now >= a.deadline {
                    let busy = match a.busy {
                        Busy::Never => false,
                        Busy::Always => true,
                        Busy::When(check) => check(&a.reader),
                    };
                    let err = if busy {
                        CliError::CardInUse {
                            reader: a.reader.clone(),
                            waited_secs: limit.as_secs(),
                        }
                    } else {
                        CliError::CardMute {
                            reader: a.reader.clone(),
                            detail: format!(
                                "no answer within {} s while {}",
                                limit.as_secs_f64(),
                                a.what
                            ),
                        }
                    };
                    *armed = None;
                    drop(armed);
                    on_expire(err);
                    return;
                }
                Some(a.deadline - now)
            }
        };
        armed = match wait {
            None => cv.wait(armed).unwrap_or_else(PoisonError::into_inner),
            Some(d) => {
                cv.wait_timeout(armed, d)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn fires_once_for_a_call_that_overruns() {
        let (tx, rx) = mpsc::channel();
        let w = Watchdog::start(Duration::from_millis(50), move |e| {
            let _ = tx.send(e.to_string());
        });
        assert_eq!(w.guard("R", "quick", || 7), 7);
        std::thread::sleep(Duration::from_millis(120));
        assert!(rx.try_recv().is_err(), "a finished call does not fire");
        w.guard("Virtual PCD 00 00", "sending an APDU", || {
            std::thread::sleep(Duration::from_millis(200))
        });
        let msg = rx.recv_timeout(Duration::from_secs(2)).unwrap();
        assert!(
            msg.contains("the card in 'Virtual PCD 00 00' did not answer"),
            "{msg}"
        );
        assert!(msg.contains("while sending an APDU"), "{msg}");
    }

    #[test]
    fn a_wait_for_a_busy_card_that_overruns_says_busy() {
        let (tx, rx) = mpsc::channel();
        let w = Watchdog::start(Duration::from_millis(50), move |e| {
            let _ = tx.send(e);
        });
        w.guard_busy("Virtual PCD 00 00", "taking the card", || {
            std::thread::sleep(Duration::from_millis(200))
        });
        let e = rx.recv_timeout(Duration::from_secs(2)).unwrap();
        assert!(matches!(e, CliError::CardInUse { .. }), "{e:?}");
        assert!(e.to_string().contains("in use by another program"), "{e}");
    }

    #[test]
    fn without_limit_it_only_runs_the_call() {
        assert_eq!(Watchdog::none().guard("R", "x", || 1), 1);
    }
}
