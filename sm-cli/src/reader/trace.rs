//! The APDU trace (`--trace`): one line per APDU on stderr, `>` for a command and `<`
//! for its answer, with the logical channel, the length, the elapsed time, the status
//! word with its meaning, and the data in hex.
//!
//! Commands that carry secrets are marked with [`Secrecy`] by their sender; their data
//! (and, for [`Secrecy::Both`], the answer's data) is replaced by `<N bytes redacted>`.
//! This is the hook later commands (device change, key material) use: pass a
//! `Secrecy` to `transport::exchange` or `Es10Session::call_with`.

use apdu::{Cla, StatusWord};
use std::time::Duration;

/// What of an exchange must not be shown (or kept longer than needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Secrecy {
    /// Nothing secret.
    #[default]
    Public,
    /// The command data field is secret; the header and the answer are shown.
    Command,
    /// The command data and the answer data are secret; headers and SW are shown.
    Both,
}

impl Secrecy {
    /// True when the command's data must be hidden.
    pub fn hides_command(self) -> bool {
        self != Secrecy::Public
    }

    /// True when the answer's data must be hidden.
    pub fn hides_response(self) -> bool {
        self == Secrecy::Both
    }
}

fn channel_label(cla: Option<u8>) -> String {
    match cla {
        // GSM 11.11 class: the basic channel only.
        Some(0xA0) => "ch0".into(),
        Some(c) => Cla(c)
            .channel()
            .map_or_else(|| "ch?".into(), |ch| format!("ch{ch}")),
        None => "ch?".into(),
    }
}

/// The trace line of a command APDU.
pub fn command_line(apdu: &[u8], secrecy: Secrecy) -> String {
    let ch = channel_label(apdu.first().copied());
    let shown = if secrecy.hides_command() && apdu.len() > 5 {
        // Keep CLA INS P1 P2 Lc: they say what was sent without saying what it carried.
        format!(
            "{} <{} bytes redacted>",
            hex::encode_upper(&apdu[..5]),
            apdu.len() - 5
        )
    } else {
        hex::encode_upper(apdu)
    };
    format!("> {ch} {:>4} B            {shown}", apdu.len())
}

/// The trace line of a response APDU to a command sent with class byte `cla`.
pub fn response_line(cla: Option<u8>, resp: &[u8], elapsed: Duration, secrecy: Secrecy) -> String {
    let ch = channel_label(cla);
    let ms = elapsed.as_secs_f64() * 1000.0;
    let Some(n) = resp.len().checked_sub(2) else {
        return format!(
            "< {ch} {:>4} B {ms:>8.2} ms  (no status word) {}",
            resp.len(),
            hex::encode_upper(resp)
        );
    };
    let sw = StatusWord::from_bytes(resp[n], resp[n + 1]);
    let data = if n == 0 {
        String::new()
    } else if secrecy.hides_response() {
        format!("  <{n} bytes redacted>")
    } else {
        format!("  {}", hex::encode_upper(&resp[..n]))
    };
    format!("< {ch} {:>4} B {ms:>8.2} ms  {sw}{data}", resp.len())
}

/// Where trace lines go: nowhere, stderr, or (in tests) a buffer.
#[derive(Debug, Default)]
pub struct Tracer {
    enabled: bool,
    captured: Option<Vec<String>>,
}

impl Tracer {
    /// A tracer writing to stderr when `enabled`.
    pub fn stderr(enabled: bool) -> Tracer {
        Tracer {
            enabled,
            captured: None,
        }
    }

    /// A tracer keeping its lines (for tests).
    #[cfg(test)]
    pub fn capture() -> Tracer {
        Tracer {
            enabled: true,
            captured: Some(Vec::new()),
        }
    }

    /// The captured lines (tests).
    #[cfg(test)]
    pub fn lines(&self) -> &[String] {
        self.captured.as_deref().unwrap_or(&[])
    }

    /// True when lines are wanted (saves formatting otherwise).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Emits one line.
    pub fn line(&mut self, s: String) {
        if !self.enabled {
            return;
        }
        match &mut self.captured {
            Some(v) => v.push(s),
            None => eprintln!("{s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_show_channel_length_and_data() {
        let apdu = hex::decode("81E2910006BF3E035C015A").unwrap();
        let l = command_line(&apdu, Secrecy::Public);
        assert!(l.starts_with("> ch1   11 B"), "{l}");
        assert!(l.ends_with("81E2910006BF3E035C015A"), "{l}");
        assert!(command_line(&[0x41, 0xA4], Secrecy::Public).starts_with("> ch5"));
        assert!(command_line(&[0xA0, 0xA4], Secrecy::Public).starts_with("> ch0"));
        assert!(command_line(&[0x20, 0xA4], Secrecy::Public).starts_with("> ch?"));
    }

    #[test]
    fn secrets_are_redacted() {
        let apdu = hex::decode("80E2910005A003800142").unwrap();
        let l = command_line(&apdu, Secrecy::Command);
        assert!(l.ends_with("80E2910005 <5 bytes redacted>"), "{l}");
        assert!(!l.contains("800142"));
        let resp = hex::decode("1234569000").unwrap();
        let d = Duration::from_micros(1500);
        let l = response_line(Some(0x80), &resp, d, Secrecy::Command);
        assert!(l.contains("123456"), "{l}");
        let l = response_line(Some(0x80), &resp, d, Secrecy::Both);
        assert!(
            l.contains("<3 bytes redacted>") && !l.contains("123456"),
            "{l}"
        );
    }

    #[test]
    fn response_lines_show_time_and_sw_meaning() {
        let l = response_line(
            Some(0x01),
            &[0x6A, 0x82],
            Duration::from_micros(420),
            Secrecy::Public,
        );
        assert_eq!(
            l,
            "< ch1    2 B     0.42 ms  6A82: file or application not found"
        );
        let l = response_line(
            Some(0x00),
            &[0x01, 0x90, 0x00],
            Duration::ZERO,
            Secrecy::Public,
        );
        assert!(l.ends_with("9000: normal ending  01"), "{l}");
        let l = response_line(None, &[0x90], Duration::ZERO, Secrecy::Public);
        assert!(l.contains("no status word"), "{l}");
    }

    #[test]
    fn disabled_tracer_keeps_nothing() {
        let mut t = Tracer::stderr(false);
        t.line("x".into());
        assert!(!t.enabled());
        let mut t = Tracer::capture();
        t.line("y".into());
        assert_eq!(t.lines(), ["y".to_string()]);
    }
}
