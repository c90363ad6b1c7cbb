//! What the fault and load tests of issue 5 share (tests/tests/faults_kill.rs,
//! faults_pcscd.rs, load.rs): sm-cli runs against one SM store file (blocking, in a
//! thread, or with its `--trace` read line by line so a test can act at an exact APDU),
//! the card's state file read as JSON (written here from card-sim's documented format,
//! README "card-sim": schema-versioned JSON; not through card-sim's code), a seeded
//! generator, and the exit codes sm-cli documents for a card that went away.
//!
//! Each test binary uses a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use system_tests::cli::{run_with, Run, COMMAND_TIMEOUT};
use system_tests::Stack;

/// Two IMEIs with valid Luhn check digits (the ones of tests/tests/device_change.rs) and
/// more for the load test.
pub const IMEIS: [&str; 6] = [
    "490154203237518",
    "356938035643809",
    "353918051234561",
    "354406061234564",
    "352099001761481",
    "357805023984942",
];

/// sm-cli exit codes (sm-cli/src/errors.rs) that say the card or the PC/SC service went
/// away: a clear error, not a crash.
pub const EXIT_NO_SERVICE: i32 = 3;
pub const EXIT_READER_GONE: i32 = 5;
pub const EXIT_NO_CARD: i32 = 7;
pub const EXIT_CARD_MUTE: i32 = 9;
/// The SM refused: "the card already holds the operator profile" (sm/service/error.rs).
pub const EXIT_ALREADY_ON_CARD: i32 = 34;
pub const EXIT_ALREADY_PROVISIONED: i32 = 33;

/// An environment variable as a number, or `default`.
pub fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: dependency-free, seeded, so a failing run can be repeated.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from `var` when set, else from the clock; the seed is printed.
    pub fn from_env(var: &str) -> Rng {
        let seed = std::env::var(var)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("random seed {seed} (repeat with {var}={seed})");
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// True with probability `num/den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}

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
        let mut cmd = Command::new(&self.bin);
        cmd.env_remove("SM_CLI_READER")
            .env_remove("SM_CLI_IMEI")
            .env("SM_CLI_DB", &self.db)
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs sm-cli to the end.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        run_with(
            &mut self.command(),
            args,
            stdin.map(str::as_bytes),
            COMMAND_TIMEOUT,
        )
    }

    /// Runs sm-cli in a thread; join the handle for its [`Run`].
    pub fn spawn(&self, args: &[&str], stdin: Option<&str>) -> JoinHandle<Run> {
        let me = self.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let stdin = stdin.map(str::to_string);
        std::thread::spawn(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            me.run(&a, stdin.as_deref())
        })
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
            lines: rx,
            err,
            out,
        }
    }
}

/// A running `sm-cli --trace`.
pub struct Traced {
    command: String,
    start: Instant,
    child: Child,
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

    /// Holds sm-cli where it is (SIGSTOP), so that a fault can strike between two of its
    /// APDUs however fast it runs; [`Traced::resume`] lets it go on.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on the PID of our own child, not reaped yet (so not reused).
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, sig);
        }
    }

    /// Waits for sm-cli to end (killing it after `timeout`) and returns the run.
    pub fn finish(mut self, timeout: Duration) -> Run {
        let mut timed_out = false;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if self.start.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Ok(None) => {
                    timed_out = true;
                    let _ = self.child.kill();
                    break self.child.wait().ok();
                }
                Err(_) => break None,
            }
        };
        Run {
            command: self.command,
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

/// The lines of a run's stderr that are not APDU trace lines: what the user reads.
pub fn message(run: &Run) -> String {
    run.stderr
        .lines()
        .filter(|l| !(l.starts_with("> ") || l.starts_with("< ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One profile of a card's state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProfile {
    pub iccid: String,
    pub class: String,
    pub state: String,
    pub msisdn: Option<String>,
    pub imsi: Option<String>,
    pub ki: Option<String>,
    pub opc: Option<String>,
    pub name: Option<String>,
}

impl StoredProfile {
    /// The parts an operational profile must carry (device-change-protocol.md, the
    /// operator profile: ICCID, IMSI, MSISDN, Ki, OPc, name); empty when complete.
    pub fn missing_parts(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        let hex16 = |v: &Option<String>| {
            v.as_ref()
                .is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        };
        if !(self.iccid.len() >= 18 && self.iccid.bytes().all(|b| b.is_ascii_digit())) {
            m.push("ICCID");
        }
        if self.msisdn.as_deref().is_none_or(str::is_empty) {
            m.push("MSISDN");
        }
        if self.imsi.as_deref().is_none_or(str::is_empty) {
            m.push("IMSI");
        }
        if !hex16(&self.ki) {
            m.push("Ki");
        }
        if !hex16(&self.opc) {
            m.push("OPc");
        }
        if self.name.as_deref().is_none_or(str::is_empty) {
            m.push("name");
        }
        m
    }
}

/// A card's state file, as far as these tests look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardFile {
    pub eid: String,
    pub profiles: Vec<StoredProfile>,
    pub has_identity_key: bool,
    /// The whole JSON, for "unchanged" comparisons.
    pub raw: serde_json::Value,
}

impl CardFile {
    /// Reads and checks the state file: JSON with a schema number, an EID, profiles with
    /// unique ICCIDs and at most one enabled, every operational profile complete.
    /// `Ok(None)` when the file does not exist (a card that never saved anything).
    pub fn read(path: &Path) -> Result<Option<CardFile>, String> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let raw: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not JSON ({e})", path.display()))?;
        let text =
            |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
        if raw.get("schema").and_then(|s| s.as_u64()).is_none() {
            return Err(format!("{}: no schema number", path.display()));
        }
        let eid = text(&raw, "eid").ok_or_else(|| format!("{}: no EID", path.display()))?;
        let list = raw
            .get("profiles")
            .and_then(|p| p.as_array())
            .ok_or_else(|| format!("{}: no profiles array", path.display()))?;
        let profiles: Vec<StoredProfile> = list
            .iter()
            .map(|p| StoredProfile {
                iccid: text(p, "iccid").unwrap_or_default(),
                class: text(p, "class").unwrap_or_default(),
                state: text(p, "state").unwrap_or_default(),
                msisdn: text(p, "msisdn"),
                imsi: text(p, "imsi"),
                ki: text(p, "ki"),
                opc: text(p, "opc"),
                name: text(p, "name"),
            })
            .collect();
        let mut iccids: Vec<&str> = profiles.iter().map(|p| p.iccid.as_str()).collect();
        iccids.sort_unstable();
        if iccids.windows(2).any(|w| w[0] == w[1]) {
            return Err(format!("{}: an ICCID appears twice", path.display()));
        }
        let enabled = profiles.iter().filter(|p| p.state == "enabled").count();
        if enabled > 1 {
            return Err(format!("{}: {enabled} profiles enabled", path.display()));
        }
        for p in profiles.iter().filter(|p| p.class == "operational") {
            let missing = p.missing_parts();
            if !missing.is_empty() {
                return Err(format!(
                    "{}: operational profile {} is half there: no {}",
                    path.display(),
                    p.iccid,
                    missing.join(", ")
                ));
            }
        }
        Ok(Some(CardFile {
            eid,
            has_identity_key: raw.get("identity_key").is_some(),
            profiles,
            raw,
        }))
    }

    /// The operational profile of `op_id` (its MSISDN), if the card holds one.
    pub fn op(&self, op_id: &str) -> Option<&StoredProfile> {
        self.profiles
            .iter()
            .find(|p| p.class == "operational" && p.msisdn.as_deref() == Some(op_id))
    }

    /// The OP IDs of the operational profiles on the card.
    pub fn ops(&self) -> Vec<String> {
        self.profiles
            .iter()
            .filter(|p| p.class == "operational")
            .filter_map(|p| p.msisdn.clone())
            .collect()
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
}

/// `sm-cli --json sm list`, parsed; `Err` with the run when it fails.
pub fn sm_list(sm: &Sm) -> Result<Vec<Record>, String> {
    let run = sm.run(&["--json", "sm", "list"], None);
    if run.code != Some(0) {
        return Err(format!("sm list failed: {run}"));
    }
    let v: serde_json::Value =
        serde_json::from_str(run.stdout.trim()).map_err(|e| format!("{e}: {run}"))?;
    let list = v
        .get("subscriptions")
        .and_then(|s| s.as_array())
        .ok_or_else(|| format!("no subscriptions array: {run}"))?;
    let s = |r: &serde_json::Value, k: &str| {
        r.get(k)
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_string()
    };
    Ok(list
        .iter()
        .map(|r| Record {
            op_id: s(r, "op_id"),
            iccid: s(r, "iccid"),
            eid: s(r, "eid"),
            imei: s(r, "imei"),
            delivery: s(r, "delivery"),
            failures: r.get("failures").and_then(|x| x.as_u64()).unwrap_or(0),
            locked: r.get("locked").and_then(|x| x.as_bool()).unwrap_or(false),
            pending_removals: r
                .get("pending_removals")
                .and_then(|x| x.as_u64())
                .unwrap_or(0),
        })
        .collect())
}

/// `sm-cli --json sm show OP`: `Ok(None)` for an unknown OP ID (exit 30).
pub fn sm_show(sm: &Sm, op_id: &str) -> Result<Option<serde_json::Value>, String> {
    let run = sm.run(&["--json", "sm", "show", op_id], None);
    match run.code {
        Some(0) => serde_json::from_str(run.stdout.trim())
            .map(Some)
            .map_err(|e| format!("{e}: {run}")),
        Some(30) => Ok(None),
        _ => Err(format!("sm show failed: {run}")),
    }
}

/// The words that must never reach a user of the SM store under load.
pub fn mentions_db_lock(run: &Run) -> bool {
    let all = format!("{}\n{}", run.stdout, run.stderr).to_ascii_lowercase();
    all.contains("database is locked")
        || all.contains("database is busy")
        || all.contains("sqlite_busy")
}
