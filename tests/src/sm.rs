//! sm-cli against one SM store file, as the device-change, fault and load tests and the
//! flow benchmark run it: to the end ([`Sm::run`]), or with its `--trace` read line by
//! line so a test can act at an exact APDU ([`Sm::spawn_traced`]); what `sm list` and
//! `sm show` say; and the exit codes sm-cli documents (sm-cli/README.md), written here
//! from the documentation rather than taken from sm-cli's code, so the tests stay a
//! witness.

use crate::cli::{run_with, sm_cli_command, Run, COMMAND_TIMEOUT};
use crate::process;
use crate::stack::Stack;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// IMEIs with valid Luhn check digits, one per phone a test needs.
pub const IMEIS: [&str; 6] = [
    "490154203237518",
    "356938035643809",
    "353918051234561",
    "354406061234564",
    "352099001761481",
    "357805023984942",
];

/// The IMEI of phone `k` of a test with many: the 8-digit TAC `tac`, `k` as the 6-digit
/// serial, and the Luhn check digit (what sm-cli checks).
pub fn imei_of(tac: &str, k: usize) -> String {
    let body = format!("{tac}{k:06}");
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b.wrapping_sub(b'0'));
            if i % 2 == 0 {
                (d * 2) / 10 + (d * 2) % 10
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// sm-cli exit codes that say the card or the PC/SC service went away: a clear error,
/// not a crash.
pub const EXIT_NO_SERVICE: i32 = 3;
pub const EXIT_READER_GONE: i32 = 5;
pub const EXIT_NO_CARD: i32 = 7;
pub const EXIT_CARD_MUTE: i32 = 9;
/// The SM's refusals: unknown OP ID, wrong parameter, locked, OP ID already provisioned,
/// the card already holds the operator profile.
pub const EXIT_UNKNOWN_OP: i32 = 30;
pub const EXIT_WRONG_PARAMETER: i32 = 31;
pub const EXIT_LOCKED: i32 = 32;
pub const EXIT_ALREADY_PROVISIONED: i32 = 33;
pub const EXIT_ALREADY_ON_CARD: i32 = 34;

/// sm-cli with one SM store file, no reader or IMEI taken from the environment.
#[derive(Debug, Clone)]
pub struct Sm {
    pub bin: PathBuf,
    pub db: PathBuf,
}

impl Sm {
    pub fn new(stack: &Stack, db: &Path) -> Sm {
        Sm {
            bin: stack.sm_cli.clone(),
            db: db.to_path_buf(),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = sm_cli_command(&self.bin);
        cmd.env("SM_CLI_DB", &self.db);
        cmd
    }

    /// Runs sm-cli to the end, `stdin` fed in.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        run_with(
            &mut self.command(),
            args,
            stdin.map(str::as_bytes),
            COMMAND_TIMEOUT,
        )
    }

    /// Starts sm-cli with `--trace`: every APDU command line reaches [`Traced::lines`]
    /// when sm-cli prints it, i.e. just before the APDU is sent.
    pub fn spawn_traced(&self, args: &[&str], stdin: Option<&str>) -> Traced {
        let mut cmd = self.command();
        cmd.arg("--trace")
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let command = format!("{} --trace {}", self.bin.display(), args.join(" "));
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            let input = input.as_bytes().to_vec();
            std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().map(|pipe| {
            std::thread::spawn(move || {
                let mut all = String::new();
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line.clone());
                    all.push_str(&line);
                    all.push('\n');
                }
                all
            })
        });
        let out = child.stdout.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = pipe.read_to_string(&mut s);
                s
            })
        });
        Traced {
            command,
            start,
            child,
            reaped: false,
            lines: rx,
            err,
            out,
        }
    }

    /// `sm-cli --json sm list`, parsed; `Err` with the run when it fails.
    pub fn list(&self) -> Result<Vec<Record>, String> {
        if !self.db.exists() {
            // `sm list` never creates a store; none yet is no records.
            return Ok(Vec::new());
        }
        let run = self.run(&["--json", "sm", "list"], None);
        if run.code != Some(0) {
            return Err(format!("sm list failed: {run}"));
        }
        let v: serde_json::Value =
            serde_json::from_str(run.stdout.trim()).map_err(|e| format!("{e}: {run}"))?;
        let list = v
            .get("subscriptions")
            .and_then(|s| s.as_array())
            .ok_or_else(|| format!("no subscriptions array: {run}"))?;
        Ok(list.iter().map(Record::from_json).collect())
    }

    /// `sm-cli --json sm show OP`: `Ok(None)` for an unknown OP ID.
    pub fn show(&self, op_id: &str) -> Result<Option<serde_json::Value>, String> {
        let run = self.run(&["--json", "sm", "show", op_id], None);
        match run.code {
            Some(0) => serde_json::from_str(run.stdout.trim())
                .map(Some)
                .map_err(|e| format!("{e}: {run}")),
            Some(EXIT_UNKNOWN_OP) => Ok(None),
            _ => Err(format!("sm show failed: {run}")),
        }
    }
}

/// A running `sm-cli --trace`. Dropped before [`Traced::finish`] (a test that panicked
/// between [`Traced::pause`] and [`Traced::resume`], say), it continues and kills sm-cli
/// and reaps it: no stopped sm-cli is left behind.
pub struct Traced {
    command: String,
    start: Instant,
    child: Child,
    reaped: bool,
    /// stderr, line by line, as sm-cli prints it.
    pub lines: Receiver<String>,
    err: Option<JoinHandle<String>>,
    out: Option<JoinHandle<String>>,
}

/// True for a trace line of a command APDU (`> chN LEN B HEX...`).
pub fn is_command_line(line: &str) -> bool {
    line.starts_with("> ")
}

/// True for the trace line of a TERMINAL RESPONSE (`8x 14 ...`, ETSI TS 102 223 §6.8).
pub fn is_terminal_response(line: &str) -> bool {
    let Some(hex) = line.split_whitespace().nth(4) else {
        return false;
    };
    is_command_line(line) && hex.len() >= 4 && hex.starts_with('8') && &hex[2..4] == "14"
}

impl Traced {
    /// Waits for the next stderr line matching `want`, up to `timeout`; `None` when
    /// sm-cli ended (or the time ran out) first.
    pub fn wait_line(&self, timeout: Duration, want: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if want(&l) => return Some(l),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// The sm-cli PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Holds sm-cli where it is (SIGSTOP), so that a fault can strike between two of its
    /// APDUs however fast it runs; [`Traced::resume`] lets it go on.
    pub fn pause(&self) {
        process::signal(&self.child, libc::SIGSTOP);
    }

    pub fn resume(&self) {
        process::signal(&self.child, libc::SIGCONT);
    }

    /// Waits for sm-cli to end (killing it after `timeout` from its start) and returns
    /// the run.
    pub fn finish(mut self, timeout: Duration) -> Run {
        let (status, timed_out) = process::wait_until(&mut self.child, self.start + timeout);
        self.reaped = true;
        Run {
            command: std::mem::take(&mut self.command),
            code: status.and_then(|s| s.code()),
            stdout: self
                .out
                .take()
                .and_then(|h| h.join().ok())
                .unwrap_or_default(),
            stderr: self
                .err
                .take()
                .and_then(|h| h.join().ok())
                .unwrap_or_default(),
            elapsed: self.start.elapsed(),
            timed_out,
        }
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        // A stopped process does not act on SIGKILL until it runs again: continue it
        // first, then kill and reap it (kill(2) and reaping are safe: not reaped yet).
        self.resume();
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reaped = true;
    }
}

/// One subscription as `sm-cli --json sm list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub op_id: String,
    pub iccid: String,
    pub eid: String,
    pub imei: String,
    pub delivery: String,
    pub failures: u64,
    pub locked: bool,
    pub pending_removals: u64,
}

impl Record {
    pub fn delivered(&self) -> bool {
        self.delivery == "delivered"
    }

    fn from_json(r: &serde_json::Value) -> Record {
        let s = |k: &str| {
            r.get(k)
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let n = |k: &str| r.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
        Record {
            op_id: s("op_id"),
            iccid: s("iccid"),
            eid: s("eid"),
            imei: s("imei"),
            delivery: s("delivery"),
            failures: n("failures"),
            locked: r.get("locked").and_then(|x| x.as_bool()).unwrap_or(false),
            pending_removals: n("pending_removals"),
        }
    }
}

/// The words that must never reach a user of the SM store under load.
pub fn mentions_db_lock(run: &Run) -> bool {
    let all = format!("{}\n{}", run.stdout, run.stderr).to_ascii_lowercase();
    all.contains("database is locked")
        || all.contains("database is busy")
        || all.contains("sqlite_busy")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_imeis_pass_luhn_like_the_listed_ones() {
        // 356938035643809 is a listed IMEI: TAC 35693803, serial 564380, check 9.
        assert_eq!(imei_of("35693803", 564380), IMEIS[1]);
        assert_eq!(imei_of("49015420", 323751), IMEIS[0]);
    }

    #[test]
    fn trace_lines() {
        assert!(is_command_line("> ch1 15 - 81140000..."));
        assert!(!is_command_line("< 9000"));
        assert!(is_terminal_response("> ch0 15 B 8014000003810301"));
        assert!(!is_terminal_response("> ch0 15 B 80E2910003"));
        assert!(!is_terminal_response("> short"));
    }

    /// A traced sm-cli stand-in (`sleep`) paused and then dropped without `finish`: it
    /// is continued, killed and reaped, not left stopped.
    #[test]
    fn a_dropped_paused_trace_leaves_no_process() {
        let dir = std::env::temp_dir().join(format!("sm-traced-drop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("fake-sm-cli");
        std::fs::write(&bin, "#!/bin/sh\nexec sleep 30\n").unwrap();
        std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let sm = Sm {
            bin,
            db: dir.join("sm.sqlite3"),
        };
        let t = sm.spawn_traced(&["info"], None);
        let pid = t.pid();
        t.pause();
        drop(t);
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(stat.is_err(), "process {pid} still there: {stat:?}");
    }
}
