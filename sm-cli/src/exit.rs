//! The exit codes of sm-cli, defined once (stable; scripts may rely on them).
//!
//! [`ROWS`] is the table: every code (or range of codes), what it means, and the short
//! phrase `sm-cli --help` prints. [`Exit`] names each row; `CliError::exit_code`
//! (`errors.rs`), `SmError::exit_code` (`sm/service/error.rs`) and `script run`
//! (`commands/script_cmd.rs`) return these, the help text is [`help_text`], and a test
//! checks that the table in `sm-cli/README.md` ("Exit codes") says the same.

use std::fmt::Write as _;
use std::mem::discriminant;

/// Why sm-cli exits (one per row of [`ROWS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok,
    Unexpected,
    Usage,
    NoService,
    NoReaders,
    NoSuchReader,
    AmbiguousReader,
    NoCard,
    CardBusy,
    CardMute,
    ErrorStatus,
    Undecodable,
    NotConfirmed,
    NotEuicc,
    /// The LPA could not reach the SM-DP+ (ES9+ over HTTPS: DNS, TCP, TLS, timeout).
    SmdpUnreachable,
    /// The SM-DP+ refused an ES9+ function (an SGP.22 status code).
    SmdpRefused,
    /// The SM-DP+ answered out of protocol (HTTP error, not the function's JSON, ...).
    SmdpProtocol,
    /// The remote SM of `--sm` refused the operator token of `--operator-token-file`
    /// (its admin endpoints answered 401).
    OperatorToken,
    /// An ES10 function answered result code N (SGP.22 §5.7); N outside the row's range
    /// exits as [`Exit::Es10Other`].
    Es10Result(u8),
    Es10Other,
    UnknownOpId,
    WrongParameter,
    Locked,
    AlreadyProvisioned,
    AlreadyOnCard,
    BadProof,
    InvalidImei,
    Challenge,
    Protocol,
    SmFailure,
    /// A device-change function answered result code N (docs/device-change-protocol.md);
    /// N outside the row's range exits as [`Exit::CardOther`].
    CardResult(u8),
    CardOther,
    ScriptFailed,
    ScriptParse,
}

/// Which part of sm-cli a code belongs to (a paragraph of the help text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    General,
    DeviceChange,
    Scripts,
}

impl Group {
    fn heading(self) -> &'static str {
        match self {
            Group::General => "Exit codes:",
            Group::DeviceChange => "Device-change method:",
            Group::Scripts => "Scripts:",
        }
    }
}

/// One row of the table: `first..=last` (one code when equal).
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub exit: Exit,
    pub first: u8,
    pub last: u8,
    pub group: Group,
    /// The phrase in `--help` (after the code).
    pub help: &'static str,
    /// The meaning, as the README's table says it.
    pub meaning: &'static str,
}

const fn row(
    exit: Exit,
    first: u8,
    last: u8,
    group: Group,
    help: &'static str,
    meaning: &'static str,
) -> Row {
    Row {
        exit,
        first,
        last,
        group,
        help,
        meaning,
    }
}

use Group::{DeviceChange, General, Scripts};

/// The exit codes (module docs).
pub const ROWS: [Row; 34] = [
    row(Exit::Ok, 0, 0, General, "ok", "success"),
    row(Exit::Unexpected, 1, 1, General, "unexpected PC/SC or I/O error", "unexpected PC/SC or I/O error"),
    row(Exit::Usage, 2, 2, General, "bad usage or input", "invalid command line or input (clap uses 2 as well; also an SM request that is invalid in itself)"),
    row(Exit::NoService, 3, 3, General, "pcscd not running", "pcscd is not running"),
    row(Exit::NoReaders, 4, 4, General, "no reader", "no smart card reader"),
    row(Exit::NoSuchReader, 5, 5, General, "no such reader", "no reader matches `-r`, or the reader went away"),
    row(Exit::AmbiguousReader, 6, 6, General, "ambiguous reader", "the reader choice is ambiguous"),
    row(Exit::NoCard, 7, 7, General, "no card", "no card in the reader (or it was removed)"),
    row(Exit::CardBusy, 8, 8, General, "card held by another program", "the card is held by another program: exclusively, or in a PC/SC transaction longer than --timeout"),
    row(Exit::CardMute, 9, 9, General, "card did not answer", "the card did not answer (mute, reset by someone else, protocol mismatch, `--timeout`)"),
    row(Exit::ErrorStatus, 10, 10, General, "error status word", "the card answered an error status word"),
    row(Exit::Undecodable, 11, 11, General, "undecodable answer", "the card's answer could not be decoded"),
    row(Exit::NotConfirmed, 12, 12, General, "not confirmed", "the operation was not confirmed"),
    row(Exit::NotEuicc, 13, 13, General, "not an eUICC", "the card is not an eUICC (no ISD-R)"),
    row(Exit::SmdpUnreachable, 14, 14, General, "SM-DP+ or SM unreachable", "the SM-DP+, or the remote SM of `--sm`, could not be reached (DNS, connection, TLS or certificate, timeout)"),
    row(Exit::SmdpRefused, 15, 15, General, "SM-DP+ refused (SGP.22 status code)", "the SM-DP+ refused the download or notification (an SGP.22 status code, explained in the message)"),
    row(Exit::SmdpProtocol, 16, 16, General, "SM-DP+ or SM answer unusable", "the SM-DP+ (or the remote SM of `--sm`) answered out of protocol (HTTP error, not the function's JSON, mismatched transactionId)"),
    row(Exit::OperatorToken, 17, 17, General, "the SM refused the operator token", "the remote SM of `--sm` refused the operator token of `--operator-token-file` (the `sm` operator commands: a missing, wrong or other server's token)"),
    row(Exit::Es10Result(1), 21, 26, General, "ES10 result code N (1-6)", "an ES10 function answered result code 1-6 (exit = 20 + code)"),
    row(Exit::Es10Other, 29, 29, General, "other ES10 result codes.", "an ES10 function answered another result code (127 = undefined error)"),
    row(Exit::UnknownOpId, 30, 30, DeviceChange, "unknown OP ID", "no subscription has this OP ID"),
    row(Exit::WrongParameter, 31, 31, DeviceChange, "wrong parameter (attempts left)", "wrong key-generation parameter (attempts are left)"),
    row(Exit::Locked, 32, 32, DeviceChange, "locked", "the subscription is locked (3 failed authentications)"),
    row(Exit::AlreadyProvisioned, 33, 33, DeviceChange, "OP ID already provisioned", "the OP ID is already provisioned"),
    row(Exit::AlreadyOnCard, 34, 34, DeviceChange, "card already holds the profile", "the card already holds the operator profile"),
    row(Exit::BadProof, 35, 35, DeviceChange, "card signature or key does not verify", "a signature or key of the card does not verify"),
    row(Exit::InvalidImei, 36, 36, DeviceChange, "invalid IMEI from the terminal", "the card reported an invalid IMEI"),
    row(Exit::Challenge, 37, 37, DeviceChange, "challenge replayed or expired", "the SM challenge was already used or has expired (a replay), or the remote SM does not know the flow's session"),
    row(Exit::Protocol, 38, 38, DeviceChange, "card out of protocol", "the card answered out of protocol"),
    row(Exit::SmFailure, 39, 39, DeviceChange, "SM database or cryptography failure", "the SM itself failed (database, cryptography)"),
    row(Exit::CardResult(1), 41, 50, DeviceChange, "card result code N (1-10)", "the card answered device-change result code 1-10 (exit = 40 + code)"),
    row(Exit::CardOther, 59, 59, DeviceChange, "other card result codes.", "the card answered another device-change result code (127 = undefined)"),
    row(Exit::ScriptFailed, 60, 60, Scripts, "a script line failed (mismatch or error)", "`script run`: a script line failed (mismatch, or a line that could not be carried out)"),
    row(Exit::ScriptParse, 61, 61, Scripts, "a script does not parse.", "`script run`: a script does not parse"),
];

impl Exit {
    /// The ES10 result code `n` as an exit (SGP.22 §5.7): its own code for 1-6, else 29.
    pub fn es10(n: u8) -> Exit {
        Exit::Es10Result(n)
    }

    /// The device-change result code `n` as an exit: its own code for 1-10, else 59.
    pub fn card(n: u8) -> Exit {
        Exit::CardResult(n)
    }

    /// The exit whose code is `code` (a remote SM's refusal carries only the code).
    pub fn from_code(code: u8) -> Option<Exit> {
        let row = ROWS.iter().find(|r| (r.first..=r.last).contains(&code))?;
        Some(match row.exit {
            Exit::Es10Result(_) => Exit::Es10Result(code - row.first + 1),
            Exit::CardResult(_) => Exit::CardResult(code - row.first + 1),
            e => e,
        })
    }

    /// This exit's row of [`ROWS`].
    pub fn row(self) -> &'static Row {
        ROWS.iter()
            .find(|r| discriminant(&r.exit) == discriminant(&self))
            .unwrap_or(&ROWS[1])
    }

    /// The process exit code.
    pub fn code(self) -> u8 {
        let row = self.row();
        match self {
            Exit::Es10Result(n) | Exit::CardResult(n) => {
                if (1..=row.last - row.first + 1).contains(&n) {
                    row.first - 1 + n
                } else if matches!(self, Exit::Es10Result(_)) {
                    Exit::Es10Other.code()
                } else {
                    Exit::CardOther.code()
                }
            }
            _ => row.first,
        }
    }
}

impl Row {
    /// The code as the README writes it: `7`, `21-26`.
    pub fn codes(&self) -> String {
        if self.first == self.last {
            self.first.to_string()
        } else {
            format!("{}-{}", self.first, self.last)
        }
    }

    /// The code as `--help` writes it: `7`, `20+N`.
    fn help_code(&self) -> String {
        if self.first == self.last {
            self.first.to_string()
        } else {
            format!("{}+N", self.first - 1)
        }
    }
}

/// Width of the help paragraphs.
const HELP_WIDTH: usize = 93;

/// The exit-code paragraphs of `sm-cli --help` (one per [`Group`], wrapped).
pub fn help_text() -> String {
    let mut paras = Vec::new();
    for group in [General, DeviceChange, Scripts] {
        let rows: Vec<&Row> = ROWS.iter().filter(|r| r.group == group).collect();
        // An item (`7 no card,`) is not split across lines.
        let mut words = vec![group.heading().to_string()];
        for (i, r) in rows.iter().enumerate() {
            let comma = if i + 1 < rows.len() { "," } else { "" };
            words.push(format!("{} {}{comma}", r.help_code(), r.help));
        }
        paras.push(wrap(&words));
    }
    paras.join("\n")
}

/// Greedy wrap of `words` (joined by spaces) at [`HELP_WIDTH`].
fn wrap(words: &[String]) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in words {
        if !line.is_empty() && line.len() + 1 + word.len() > HELP_WIDTH {
            let _ = writeln!(out, "{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_in_order() {
        let mut last = None;
        for r in &ROWS {
            assert!(r.first <= r.last, "{r:?}");
            if let Some(l) = last {
                assert!(r.first > l, "{r:?} overlaps the row before");
            }
            last = Some(r.last);
            assert_eq!(r.exit.row().first, r.first, "{r:?}");
        }
    }

    #[test]
    fn ranges_map_result_codes() {
        assert_eq!(Exit::es10(1).code(), 21);
        assert_eq!(Exit::es10(6).code(), 26);
        assert_eq!(Exit::es10(7).code(), 29);
        assert_eq!(Exit::es10(127).code(), 29);
        assert_eq!(Exit::es10(0).code(), 29);
        assert_eq!(Exit::card(3).code(), 43);
        assert_eq!(Exit::card(10).code(), 50);
        assert_eq!(Exit::card(11).code(), 59);
        assert_eq!(Exit::ScriptParse.code(), 61);
        assert_eq!(Exit::Ok.code(), 0);
    }

    #[test]
    fn every_code_maps_back_to_its_exit() {
        for code in 0..=u8::MAX {
            if let Some(e) = Exit::from_code(code) {
                assert_eq!(e.code(), code, "{e:?}");
            }
        }
        assert_eq!(Exit::from_code(31), Some(Exit::WrongParameter));
        assert_eq!(Exit::from_code(43), Some(Exit::CardResult(3)));
        assert_eq!(Exit::from_code(17), Some(Exit::OperatorToken));
        assert_eq!(Exit::from_code(18), None);
    }

    /// The README's "Exit codes" table (`| code | meaning |`) is this table, row by row.
    #[test]
    fn readme_table_matches_the_code() {
        let readme = include_str!("../README.md");
        let section = readme
            .split("\n## Exit codes")
            .nth(1)
            .expect("README has an '## Exit codes' section");
        let rows: Vec<(String, String)> = section
            .lines()
            .take_while(|l| !l.starts_with("## "))
            .filter_map(|l| {
                let cells: Vec<&str> = l
                    .trim()
                    .strip_prefix('|')?
                    .strip_suffix('|')?
                    .split('|')
                    .collect();
                let [code, meaning] = cells.as_slice() else {
                    return None;
                };
                let (code, meaning) = (code.trim(), meaning.trim());
                (code != "code" && !code.starts_with("---"))
                    .then(|| (code.to_string(), meaning.to_string()))
            })
            .collect();
        let ours: Vec<(String, String)> = ROWS
            .iter()
            .map(|r| (r.codes(), r.meaning.to_string()))
            .collect();
        assert_eq!(
            rows, ours,
            "sm-cli/README.md 'Exit codes' differs from exit::ROWS"
        );
    }

    #[test]
    fn help_lists_every_code() {
        let h = help_text();
        assert!(
            h.starts_with("Exit codes: 0 ok, 1 unexpected PC/SC or I/O error,"),
            "{h}"
        );
        assert!(
            h.contains("\nDevice-change method: 30 unknown OP ID,"),
            "{h}"
        );
        assert!(h.contains("40+N card result code N (1-10)"), "{h}");
        assert!(h.ends_with("\nScripts: 60 a script line failed (mismatch or error), 61 a script does not parse."), "{h}");
        assert!(h.lines().all(|l| l.len() <= HELP_WIDTH), "{h}");
    }
}
