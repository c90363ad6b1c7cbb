//! The APDU trace (`--trace`): one line per APDU on stderr, `>` for a command and `<`
//! for its answer, with the logical channel, the length, the elapsed time, the status
//! word with its meaning, and the data in hex.
//!
//! Exchanges that carry secrets are marked with [`Secrecy`] by their sender; the secret
//! part of a command (the shared rule of `apdu_script::mask::hidden`, the one the
//! recorders follow) and, for [`Secrecy::Both`] and [`Secrecy::Answer`], the answer's
//! data are replaced by `<N bytes redacted>`. A TERMINAL RESPONSE with typed text (the
//! hidden key-generation parameter) is shown in the fixed form `80140000 <redacted>`
//! with no length at all, since the length tells how long the parameter is (issue 10,
//! finding 4). This is the hook every command uses: pass a `Secrecy` to
//! `transport::exchange` or `Es10Session::call_with`.

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
    /// The answer data are secret (e.g. a key derived from the parameter); the command
    /// and the SW are shown.
    Answer,
}

impl Secrecy {
    /// True when the command's data must be hidden.
    pub fn hides_command(self) -> bool {
        matches!(self, Secrecy::Command | Secrecy::Both)
    }

    /// True when the answer's data must be hidden.
    pub fn hides_response(self) -> bool {
        matches!(self, Secrecy::Both | Secrecy::Answer)
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
    let hidden = secrecy
        .hides_command()
        .then(|| apdu_script::mask::hidden(apdu))
        .flatten();
    let (length, shown) = match hidden {
        None => (apdu.len().to_string(), hex::encode_upper(apdu)),
        // The fixed form: no length anywhere (module docs).
        Some(h) if !h.length_shown => (
            "-".into(),
            format!("{} <redacted>", hex::encode_upper(&apdu[..h.start])),
        ),
        // Keep CLA INS P1 P2 Lc: they say what was sent without saying what it carried.
        Some(h) => (
            apdu.len().to_string(),
            format!(
                "{} <{} bytes redacted>{}",
                hex::encode_upper(&apdu[..h.start]),
                h.len,
                hex::encode_upper(&apdu[h.start + h.len..])
            ),
        ),
    };
    format!("> {ch} {length:>4} B            {shown}")
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
        for s in [Secrecy::Both, Secrecy::Answer] {
            let l = response_line(Some(0x80), &resp, d, s);
            assert!(
                l.contains("<3 bytes redacted>") && !l.contains("123456"),
                "{l}"
            );
        }
        // An answer-only secret shows its command.
        assert!(command_line(&apdu, Secrecy::Answer).ends_with("80E2910005A003800142"));
    }

    #[test]
    fn a_typed_text_shows_no_length() {
        // TERMINAL RESPONSE: 81 03 details, 82 02 identities, 83 01 00, 8D 05 04 "1234".
        let apdu = hex::decode("80140000138103012304820282818301008D050431323334").unwrap();
        let l = command_line(&apdu, Secrecy::Command);
        assert_eq!(l, "> ch0    - B            80140000 <redacted>");
        let l = command_line(&apdu, Secrecy::Public);
        assert!(l.contains("31323334"), "{l}");
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
