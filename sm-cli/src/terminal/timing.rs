//! Where the time of a flow goes: APDU traffic per device-change function, the card's
//! own work (the APDU that made it derive and sign: Argon2id, RSA key generation and
//! signatures happen while the card answers the last TERMINAL RESPONSE of BF67/BF68),
//! waiting for the person at the keyboard, and the SM's work. Reported in `--json`.
//!
//! [`TimedCard`] wraps the card link of one function and times every exchange and every
//! wait for an answer; [`Timings`] sums a flow.

use super::card::DcCard;
use crate::errors::CliError;
use crate::reader::Secrecy;
use apdu::{Command, Response};
use serde::Serialize;
use std::time::{Duration, Instant};

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// One device-change function as the terminal ran it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FunctionTiming {
    /// `BF66` ... `BF6C`.
    pub function: String,
    /// Command APDUs sent for it (STORE DATA blocks, FETCH, TERMINAL RESPONSE, BF6A,
    /// GET RESPONSE counted by the card link as one exchange each).
    pub apdus: u32,
    /// Time spent in those exchanges.
    pub apdu_ms: f64,
    /// The exchange after which the card had its answer ready (the last TERMINAL
    /// RESPONSE of a proactive session, else the STORE DATA): it includes the card's
    /// key derivation and signatures.
    pub final_apdu_ms: f64,
    /// Time waiting for answers to the card's questions (prompts, files, stdin).
    pub input_ms: f64,
    /// The card derived a key from a parameter in this function (BF67, BF68 with
    /// parameter): `final_apdu_ms` is mostly Argon2id and RSA key generation.
    pub derived_key: bool,
    #[serde(skip)]
    apdu: Duration,
    #[serde(skip)]
    last: Duration,
    #[serde(skip)]
    input: Duration,
}

impl FunctionTiming {
    pub fn new(function: String) -> FunctionTiming {
        FunctionTiming {
            function,
            ..FunctionTiming::default()
        }
    }

    /// Counts one exchange that took `d`.
    pub fn apdu(&mut self, d: Duration) {
        self.apdus += 1;
        self.apdu += d;
        self.last = d;
        self.apdu_ms = ms(self.apdu);
    }

    /// Marks the last exchange as the one that made the card finish its work.
    pub fn card_finished(&mut self) {
        self.final_apdu_ms = ms(self.last);
    }

    pub fn input(&mut self, d: Duration) {
        self.input += d;
        self.input_ms = ms(self.input);
    }

    pub fn apdu_time(&self) -> Duration {
        self.apdu
    }

    pub fn final_time(&self) -> Duration {
        Duration::from_secs_f64(self.final_apdu_ms / 1e3)
    }

    pub fn input_time(&self) -> Duration {
        self.input
    }
}

/// The card link of one device-change function, timing each exchange (one
/// [`FunctionTiming::apdu`] per call, whatever its outcome) and each wait for input.
pub struct TimedCard<'c, C: DcCard> {
    card: &'c mut C,
    pub timing: FunctionTiming,
}

impl<'c, C: DcCard> TimedCard<'c, C> {
    /// Times `card` for the function named `function` (`BF66` ...).
    pub fn new(card: &'c mut C, function: String) -> TimedCard<'c, C> {
        TimedCard {
            card,
            timing: FunctionTiming::new(function),
        }
    }

    /// Runs `answer` (prompts, files, stdin) as input time.
    pub fn input<T>(&mut self, answer: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let r = answer();
        self.timing.input(t.elapsed());
        r
    }

    /// The figures of the function.
    pub fn into_timing(self) -> FunctionTiming {
        self.timing
    }
}

impl<C: DcCard> DcCard for TimedCard<'_, C> {
    fn store_data(
        &mut self,
        what: &str,
        msg: &[u8],
        secrecy: Secrecy,
    ) -> Result<Response, CliError> {
        let t = Instant::now();
        let r = self.card.store_data(what, msg, secrecy);
        self.timing.apdu(t.elapsed());
        r
    }

    fn command(&mut self, cmd: &Command, secrecy: Secrecy) -> Result<Response, CliError> {
        let t = Instant::now();
        let r = self.card.command(cmd, secrecy);
        self.timing.apdu(t.elapsed());
        r
    }
}

/// The whole flow.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub total_ms: f64,
    /// All APDU exchanges.
    pub apdu_ms: f64,
    pub apdus: u32,
    /// The final exchanges of BF67 and BF68 with a parameter: the card's Argon2id, RSA-2048
    /// key generation from the seed and signing (plus one APDU round trip each).
    pub card_key_derivation_ms: f64,
    /// APDU time without `card_key_derivation_ms`: transport and the card's other work.
    pub traffic_ms: f64,
    /// Waiting for the person (or stdin/file) to answer the card's questions.
    pub input_ms: f64,
    /// The SM's work: database, challenges, signature checks, sealing.
    pub sm_ms: f64,
    /// Connecting, opening the ISD-R session, GetEID, closing.
    pub setup_ms: f64,
    pub functions: Vec<FunctionTiming>,
}

impl Timings {
    /// Sums the per-function figures.
    pub fn finish(&mut self, total: Duration, sm: Duration, setup: Duration) {
        let apdu: Duration = self.functions.iter().map(|f| f.apdu_time()).sum();
        let derivation: Duration = self
            .functions
            .iter()
            .filter(|f| f.derived_key)
            .map(|f| f.final_time())
            .sum();
        let input: Duration = self.functions.iter().map(|f| f.input_time()).sum();
        self.total_ms = ms(total);
        self.apdu_ms = ms(apdu);
        self.apdus = self.functions.iter().map(|f| f.apdus).sum();
        self.card_key_derivation_ms = ms(derivation);
        self.traffic_ms = ms(apdu.saturating_sub(derivation));
        self.input_ms = ms(input);
        self.sm_ms = ms(sm);
        self.setup_ms = ms(setup);
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        format!(
            "time: {:.0} ms total = card key derivation {:.0} ms + APDU traffic {:.0} ms \
             ({} APDUs) + input {:.0} ms + SM {:.0} ms + setup {:.0} ms",
            self.total_ms,
            self.card_key_derivation_ms,
            self.traffic_ms,
            self.apdus,
            self.input_ms,
            self.sm_ms,
            self.setup_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_split_derivation_from_traffic() {
        let mut t = Timings::default();
        let mut f = FunctionTiming::new("BF67".into());
        f.apdu(Duration::from_millis(2));
        f.apdu(Duration::from_millis(300));
        f.card_finished();
        f.derived_key = true;
        f.input(Duration::from_millis(5));
        let mut g = FunctionTiming::new("BF69".into());
        g.apdu(Duration::from_millis(40));
        g.card_finished();
        t.functions = vec![f, g];
        t.finish(
            Duration::from_millis(400),
            Duration::from_millis(30),
            Duration::from_millis(10),
        );
        assert_eq!(t.apdus, 3);
        assert_eq!(t.apdu_ms, 342.0);
        assert_eq!(t.card_key_derivation_ms, 300.0);
        assert_eq!(t.traffic_ms, 42.0);
        assert_eq!(t.input_ms, 5.0);
        assert!(t.summary().contains("card key derivation 300 ms"));
    }
}
