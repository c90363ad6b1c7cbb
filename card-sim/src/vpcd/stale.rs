//! The stale-link rule: when to drop a freshly connected vpcd link that pcscd ignores, so
//! that pcscd sees the card leave and come back (issue 10: a card restarted quickly after
//! a crash stayed invisible). Pure: the caller says what arrived and when.
//!
//! Why (pcsc-lite 1.9.9 `src/ifdwrapper.c` `IFDPowerICC`, `src/winscard.c`
//! `SCardDisconnect`, `src/eventhandler.c` `EHStatusHandlerThread`; vsmartcard
//! `vpcd.c` `vicc_present`): when a card-sim dies while a client holds the card, the
//! client's `SCardDisconnect` asks the driver whether a card is present before it resets
//! or unpowers it; vpcd has not accepted the new card-sim's connection yet, says "absent",
//! and pcscd sets the reader's public state to ABSENT itself. pcscd's event thread, which
//! polls presence every 400 ms (each poll is a get-ATR on the link), still believes the
//! card present: once the new card-sim is connected its polls find a card, the thread
//! sees no change and never powers the card, and the reader shows no card for good.
//! card-sim said "connected" all along.
//!
//! The sign: on a fresh link, pcscd powers a card at the first poll that finds it (an
//! insertion), so an ATR poll that comes [`SPAN`] or more after the first, the
//! [`POLLS`]th or later, with no power-on, reset or APDU in between, means at least one
//! full event-thread poll saw the card and did nothing. Dropping the link then makes
//! vpcd's next poll fail (absent) and the one after accept the new connection (present):
//! an insertion, which pcscd powers. The rule fires at most once until a link is confirmed
//! (a power-on, reset or APDU), so a pcscd that never powers cards costs one reconnect per
//! card-sim start, not a loop. Power-off does not confirm: pcscd sends it to cards it
//! believes present, stale or not.

use std::time::{Duration, Instant};

/// The ATR poll that may drop the link: the third (or later) one.
pub const POLLS: u32 = 3;
/// ... and at least this long after the first (pcscd polls every 400 ms, so the span
/// holds a whole poll interval even if some polls come from clients).
pub const SPAN: Duration = Duration::from_millis(500);

/// What the link saw, as far as the rule cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A get-ATR control message: a presence poll.
    Presence,
    /// A power-on, a reset or an APDU: pcscd (or a client through it) uses the card.
    Used,
    /// Anything else (power-off, unknown control codes, oversized frames).
    Other,
}

/// What the link should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// Drop the link and reconnect at once; `polls` ATR polls came in `span`.
    Drop {
        polls: u32,
        span: Duration,
    },
}

/// The rule's state across links.
#[derive(Debug, Clone)]
pub struct StaleRule {
    /// False after a drop, until a link is confirmed.
    armed: bool,
    /// The current link has been used.
    confirmed: bool,
    /// ATR polls on the current link so far.
    polls: u32,
    /// When the first of them came.
    first: Option<Instant>,
}

impl Default for StaleRule {
    fn default() -> Self {
        StaleRule::new()
    }
}

impl StaleRule {
    /// Armed, no link yet.
    pub fn new() -> Self {
        StaleRule {
            armed: true,
            confirmed: false,
            polls: 0,
            first: None,
        }
    }

    /// A new link is up: nothing seen on it yet.
    pub fn link_up(&mut self) {
        self.confirmed = false;
        self.polls = 0;
        self.first = None;
    }

    /// True while the rule may still fire (no drop since the last confirmed link).
    pub fn armed(&self) -> bool {
        self.armed
    }

    /// Records `event`, seen at `at`, on the current link.
    pub fn observe(&mut self, event: Event, at: Instant) -> Verdict {
        match event {
            Event::Used => {
                self.confirmed = true;
                self.armed = true;
                Verdict::Keep
            }
            Event::Other => Verdict::Keep,
            Event::Presence if self.confirmed || !self.armed => Verdict::Keep,
            Event::Presence => {
                self.polls = self.polls.saturating_add(1);
                let first = *self.first.get_or_insert(at);
                let span = at.saturating_duration_since(first);
                if self.polls >= POLLS && span >= SPAN {
                    self.armed = false;
                    Verdict::Drop {
                        polls: self.polls,
                        span,
                    }
                } else {
                    Verdict::Keep
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    /// Feeds ATR polls at the given times (ms after t0); returns the index of the one
    /// that dropped the link.
    fn polls(rule: &mut StaleRule, t0: Instant, at: &[u64]) -> Option<usize> {
        at.iter()
            .position(|&t| rule.observe(Event::Presence, ms(t0, t)) != Verdict::Keep)
    }

    #[test]
    fn a_link_pcscd_only_polls_is_dropped_at_the_third_poll_500ms_on() {
        let t0 = Instant::now();
        let mut r = StaleRule::new();
        r.link_up();
        assert_eq!(r.observe(Event::Presence, ms(t0, 100)), Verdict::Keep);
        assert_eq!(r.observe(Event::Presence, ms(t0, 500)), Verdict::Keep);
        assert_eq!(
            r.observe(Event::Presence, ms(t0, 900)),
            Verdict::Drop {
                polls: 3,
                span: Duration::from_millis(800)
            }
        );
        assert!(!r.armed());
    }

    #[test]
    fn a_burst_of_polls_is_not_enough_nor_two_slow_ones() {
        let t0 = Instant::now();
        let mut r = StaleRule::new();
        r.link_up();
        // Ten polls within 499 ms: too short a span.
        let burst: Vec<u64> = (0..10).map(|i| i * 499 / 9).collect();
        assert_eq!(polls(&mut r, t0, &burst), None);
        // The next one, 500 ms after the first, drops.
        assert_eq!(polls(&mut r, t0, &[500]), Some(0));

        let mut r = StaleRule::new();
        r.link_up();
        // Two polls far apart: not enough polls.
        assert_eq!(polls(&mut r, t0, &[0, 5000]), None);
        assert_eq!(polls(&mut r, t0, &[5001]), Some(0));
    }

    #[test]
    fn a_power_on_reset_or_apdu_confirms_the_link_for_good() {
        let t0 = Instant::now();
        for used_at in [0usize, 1, 2] {
            let mut r = StaleRule::new();
            r.link_up();
            let times = [0u64, 400, 800, 1200, 1600, 10_000];
            for (i, &t) in times.iter().enumerate() {
                if i == used_at {
                    assert_eq!(r.observe(Event::Used, ms(t0, t)), Verdict::Keep);
                }
                assert_eq!(
                    r.observe(Event::Presence, ms(t0, t)),
                    Verdict::Keep,
                    "used before poll {used_at}, poll {i}"
                );
            }
        }
    }

    #[test]
    fn power_off_and_other_messages_do_not_confirm() {
        let t0 = Instant::now();
        let mut r = StaleRule::new();
        r.link_up();
        assert_eq!(polls(&mut r, t0, &[0, 400]), None);
        assert_eq!(r.observe(Event::Other, ms(t0, 500)), Verdict::Keep);
        assert_eq!(polls(&mut r, t0, &[800]), Some(0));
    }

    #[test]
    fn fires_once_until_a_link_is_confirmed_then_rearms() {
        let t0 = Instant::now();
        let mut r = StaleRule::new();
        r.link_up();
        assert_eq!(polls(&mut r, t0, &[0, 400, 800]), Some(2));
        // The reconnected link is ignored too: no second drop.
        r.link_up();
        assert_eq!(polls(&mut r, t0, &[900, 1300, 1700, 2100, 9000]), None);
        // Nor on the one after.
        r.link_up();
        assert_eq!(polls(&mut r, t0, &[9100, 9500, 9900, 20_000]), None);
        // A confirmed link re-arms the rule for the next fresh link.
        r.link_up();
        assert_eq!(r.observe(Event::Used, ms(t0, 20_100)), Verdict::Keep);
        assert!(r.armed());
        r.link_up();
        assert_eq!(polls(&mut r, t0, &[30_000, 30_400, 30_800]), Some(2));
    }

    #[test]
    fn a_new_link_starts_counting_afresh() {
        let t0 = Instant::now();
        let mut r = StaleRule::new();
        r.link_up();
        assert_eq!(polls(&mut r, t0, &[0, 400]), None);
        // The link dropped for another reason (vpcd closed it); the new one counts anew.
        r.link_up();
        assert_eq!(polls(&mut r, t0, &[800, 1200]), None);
        assert_eq!(polls(&mut r, t0, &[1300]), Some(0));
    }
}
