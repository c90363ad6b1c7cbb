//! Third-party programs as witnesses: pcsc-tools' `scriptor` and OpenSC's `opensc-tool`,
//! run as processes and their output parsed. They share no code with ours, so what they
//! see is what any PC/SC program sees.

use crate::cli::{run, run_with, Run, COMMAND_TIMEOUT};
use anyhow::{bail, Result};
use std::process::Command;

/// One command as scriptor reports it: `> CMD` then `< RESP : meaning`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptorExchange {
    pub command: String,
    /// Response bytes (data + SW), upper-case hex without spaces.
    pub response: String,
}

impl ScriptorExchange {
    /// The last four hex digits.
    pub fn sw(&self) -> &str {
        &self.response[self.response.len().saturating_sub(4)..]
    }
}

/// Parses scriptor's stdout. A long response is wrapped 16 bytes per line; the last line
/// of a response holds ` : ` and the meaning of the status word. `reset` gives
/// `> RESET` / `< OK: ATR` (or `< KO: error`), reported with command `RESET`.
pub fn parse_scriptor(out: &str) -> Vec<ScriptorExchange> {
    let mut res = Vec::new();
    let mut cmd: Option<String> = None;
    let mut resp: Option<String> = None;
    for line in out.lines() {
        if let Some(r) = resp.as_mut() {
            // Continuation of a wrapped response.
            let (hexpart, done) = match line.split_once(" : ") {
                Some((h, _)) => (h, true),
                None => (line, false),
            };
            r.push_str(&hexpart.replace(' ', ""));
            if done {
                res.push(ScriptorExchange {
                    command: cmd.take().unwrap_or_default(),
                    response: resp.take().unwrap_or_default(),
                });
            }
            continue;
        }
        if let Some(c) = line.strip_prefix("> ") {
            cmd = Some(c.replace(' ', "").to_uppercase());
        } else if let Some(r) = line.strip_prefix("< ") {
            if let Some(atr) = r.strip_prefix("OK: ").or_else(|| r.strip_prefix("KO: ")) {
                res.push(ScriptorExchange {
                    command: cmd.take().unwrap_or_default(),
                    response: atr.replace(' ', ""),
                });
                continue;
            }
            match r.split_once(" : ") {
                Some((h, _)) => res.push(ScriptorExchange {
                    command: cmd.take().unwrap_or_default(),
                    response: h.replace(' ', ""),
                }),
                None => resp = Some(r.replace(' ', "")),
            }
        }
    }
    res
}

/// Runs scriptor on `reader` with `script` on stdin; returns the run and its exchanges.
pub fn scriptor(reader: &str, script: &str) -> (Run, Vec<ScriptorExchange>) {
    let run = run_with(
        &mut Command::new("scriptor"),
        ["-r", reader],
        Some(script.as_bytes()),
        COMMAND_TIMEOUT,
    );
    let ex = parse_scriptor(&run.stdout);
    (run, ex)
}

/// opensc-tool's reader number for `reader` (its list order is pcscd's, not ours), and
/// whether it shows a card.
pub fn opensc_reader(reader: &str) -> Result<(u32, bool)> {
    let r = run("opensc-tool", ["-l"]);
    for line in r.stdout.lines() {
        let mut f = line.split_whitespace();
        let (Some(n), Some(card)) = (f.next(), f.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u32>() else { continue };
        if line.trim_end().ends_with(reader) && (card == "Yes" || card == "No") {
            return Ok((n, card == "Yes"));
        }
    }
    bail!("opensc-tool -l does not list '{reader}': {r}")
}

/// `opensc-tool -s` replies: each `Received (SW1=0xAA, SW2=0xBB)` followed by a hex dump;
/// returns (data hex, SW) per APDU.
pub fn parse_opensc_sends(out: &str) -> Vec<(String, String)> {
    let mut res: Vec<(String, String)> = Vec::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("Received (SW1=0x") {
            let sw1 = rest.get(..2).unwrap_or("");
            let sw2 = rest
                .split_once("SW2=0x")
                .and_then(|(_, s)| s.get(..2))
                .unwrap_or("");
            res.push((String::new(), format!("{sw1}{sw2}").to_uppercase()));
        } else if line.starts_with("Sending:") {
            continue;
        } else if let Some(last) = res.last_mut() {
            // Hex dump lines: "BF 3E 12 ... ..ASCII.." (up to 16 bytes, then text).
            for tok in line.split_whitespace().take(16) {
                if tok.len() == 2 && tok.chars().all(|c| c.is_ascii_hexdigit()) {
                    last.0.push_str(&tok.to_uppercase());
                } else {
                    break;
                }
            }
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scriptor_output() {
        let out = "Using T=0 protocol\n> 00 70 00 00 01\n< 01 90 00 : Normal processing.\n\
                   > RESET\n< OK: 3B 80 80 01 01 \n\
                   > 81 E2 91 00 06 BF 3E 03 5C 01 5A\n\
                   < BF 3E 12 5A 10 89 04 90 32 00 00 00 00 00 00 00 \n\
                   00 00 00 00 12 90 00 : Normal processing.\n";
        let ex = parse_scriptor(out);
        assert_eq!(ex.len(), 3);
        assert_eq!(ex[0].command, "0070000001");
        assert_eq!(ex[0].response, "019000");
        assert_eq!(ex[1].command, "RESET");
        assert_eq!(ex[1].response, "3B80800101");
        assert_eq!(ex[2].sw(), "9000");
        assert!(ex[2].response.starts_with("BF3E125A1089049032"));
        assert_eq!(ex[2].response.len(), 23 * 2);
    }

    #[test]
    fn parses_opensc_tool_sends() {
        let out = "Sending: 00 A4 04 00 02 3F 00 \nReceived (SW1=0x6A, SW2=0x82)\n\
                   Sending: 80 E2 91 00 06 BF 3E 03 5C 01 5A \nReceived (SW1=0x90, SW2=0x00)\n\
                   BF 3E 12 5A 10 89 04 90 32 00 00 00 00 00 00 00 .>.Z....2.......\n\
                   00 00 00 00 12 .....\n";
        let r = parse_opensc_sends(out);
        assert_eq!(r[0], (String::new(), "6A82".to_string()));
        assert_eq!(r[1].1, "9000");
        assert!(r[1].0.starts_with("BF3E125A10"));
        assert_eq!(r[1].0.len(), 21 * 2);
    }
}
