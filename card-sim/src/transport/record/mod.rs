//! `card-sim --record FILE` (issue 9, "Record any client's session"): every command the
//! card received from vpcd and every answer it gave, as they crossed the link, written as
//! a replayable script in the APDU script format (docs/script-format.md, written by the
//! `apdu-script` crate, the same syntax sm-cli's `--record` writes), so that
//! `sm-cli script run FILE` against a fresh card-sim with the same `--seed` and PKI
//! replays it and checks every answer byte for byte.
//!
//! - [`Recorder`] wraps the card at the vpcd edge (a [`Card`] around the transport), so
//!   it sees whole APDUs as vpcd delivers them: chained blocks, GET RESPONSE rounds,
//!   `61xx` and `6Cxx` answers exactly as sent. It changes nothing it passes on.
//! - [`recording`]: events and exchanges to script text (power events, expectations).
//! - [`mask`]: what is hidden (PIN data, AUTHENTICATE answers, typed text, the
//!   device-change messages the `-v` log redacts).
//! - The header ([`Header`]): card-sim version, start time (UTC), the card's EID, seed,
//!   PKI folder, ATR and state, and the card-sim command line that reproduces the card.
//! - The file is created with mode 0600 (an existing file is truncated and set to 0600);
//!   the header is written at once, then each exchange with one `write` as soon as the
//!   answer has left the card, so a crash or SIGKILL leaves a script that parses and
//!   replays up to the last answered command (a command the card was processing when it
//!   died is not in it). No fsync: the page cache survives the process. A failing write
//!   stops the recording with one message on stderr; the card goes on.

pub mod mask;
pub mod recording;

use crate::vpcd::Card;
use recording::Recording;
use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// What the header of a recording says about the card (module docs).
#[derive(Debug, Clone, Default)]
pub struct Header {
    /// The EID (32 digits).
    pub eid: String,
    pub seed: Option<u64>,
    /// `--pki DIR` as given.
    pub pki: Option<PathBuf>,
    /// The answer to reset.
    pub atr: Vec<u8>,
    /// `--state PATH` as given (`None`: `--ephemeral`).
    pub state: Option<PathBuf>,
    /// Profiles the card held when card-sim started.
    pub profiles: usize,
    /// `--test-profiles K`.
    pub test_profiles: u8,
    /// `--kdf-floor test`: the replaying card needs it too, or the test-profile
    /// device-change requests of the recording are refused.
    pub kdf_floor_test: bool,
}

impl Header {
    /// The header lines (without `#`).
    pub fn lines(&self, started: &str) -> Vec<String> {
        let mut h = vec![
            format!(
                "Recorded on the card side by card-sim {} (--record), started {started}",
                env!("CARGO_PKG_VERSION")
            ),
            "Format: docs/script-format.md. Replay and check: sm-cli -r READER script run FILE"
                .into(),
            format!("EID: {}", self.eid),
            format!("ATR: {}", hex::encode_upper(&self.atr)),
        ];
        match self.seed {
            Some(s) => h.push(format!(
                "Seed: {s} (random card values repeat only on a fresh card with --seed {s}; \
                 whoever knows the seed can recompute the card's one-time keys)"
            )),
            None => h.push(
                "Seed: none (random card values came from the OS: challenges and one-time keys \
                 will differ on replay)"
                    .into(),
            ),
        }
        match &self.pki {
            Some(p) => h.push(format!("PKI: --pki {}", p.display())),
            None => h.push("PKI: card-sim's own (test EUM in card-sim/test-pki)".into()),
        }
        let store = match &self.state {
            Some(p) => format!(
                "--state {} ({} profile(s) at start)",
                p.display(),
                self.profiles
            ),
            None => format!("--ephemeral ({} profile(s) at start)", self.profiles),
        };
        h.push(format!("State: {store}"));
        let mut again = String::from("Replay against: card-sim --ephemeral");
        if let Some(s) = self.seed {
            again.push_str(&format!(" --seed {s}"));
        }
        match &self.pki {
            Some(p) => again.push_str(&format!(" --pki {}", p.display())),
            None => again.push_str(&format!(" --eid {}", self.eid)),
        }
        if self.test_profiles > 0 {
            again.push_str(&format!(" --test-profiles {}", self.test_profiles));
        }
        if self.kdf_floor_test {
            again.push_str(" --kdf-floor test");
        }
        if self.atr != crate::card::atr::DEFAULT_ATR {
            again.push_str(&format!(" --atr {}", hex::encode_upper(&self.atr)));
        }
        h.push(format!("{again} (a fresh card)"));
        h.push(
            "Hidden: PIN data and device-change messages (${SECRET_n:len}), a TERMINAL \
             RESPONSE with typed text after its header, length included (${SECRET_n}), and \
             the answers of AUTHENTICATE and device-change messages (xx); the replay skips a \
             secret command without --var."
                .into(),
        );
        h
    }
}

/// A card whose traffic is recorded (module docs).
pub struct Recorder<C: Card> {
    inner: C,
    rec: Recording,
    path: PathBuf,
    out: Option<File>,
}

impl<C: Card> Recorder<C> {
    /// Creates `path` (mode 0600) and writes the header; fails before the card runs.
    pub fn create(path: &Path, header: &Header, inner: C) -> std::io::Result<Recorder<C>> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        // An existing file keeps its mode through open(2): set it.
        file.set_permissions(Permissions::from_mode(0o600))?;
        file.write_all(Recording::comments(&header.lines(&utc_now())).as_bytes())?;
        Ok(Recorder {
            inner,
            rec: Recording::new(),
            path: path.to_path_buf(),
            out: Some(file),
        })
    }

    /// The card inside.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// Exchanges written so far.
    pub fn exchanges(&self) -> usize {
        self.rec.exchanges()
    }

    fn write(&mut self, text: &str) {
        let Some(f) = self.out.as_mut() else {
            return;
        };
        if let Err(e) = f.write_all(text.as_bytes()).and_then(|()| f.flush()) {
            eprintln!(
                "card-sim: --record {}: {e}; recording stopped, the card goes on",
                self.path.display()
            );
            self.out = None;
        }
    }
}

impl<C: Card> Card for Recorder<C> {
    fn power_on(&mut self) {
        self.rec.power_on();
        self.inner.power_on();
    }

    fn power_off(&mut self) {
        self.rec.power_off();
        self.inner.power_off();
    }

    fn reset(&mut self) {
        self.rec.reset();
        self.inner.reset();
    }

    fn atr(&self) -> Vec<u8> {
        self.inner.atr()
    }

    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let answer = self.inner.transmit(apdu);
        let text = self.rec.exchange(apdu, &answer);
        self.write(&text);
        answer
    }
}

/// Now as ISO 8601 UTC (`2026-12-02T07:30:00Z`).
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc(secs)
}

/// Seconds since 1970 as ISO 8601 UTC (the civil-from-days algorithm of H. Hinnant's
/// "chrono-compatible low-level date algorithms").
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests;
