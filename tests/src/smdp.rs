//! `sm-cli smdp serve` as its own process for system tests and the SM-DP+ benchmark
//! (issue 11), and the sm-cli commands around it: `smdp order`, `profiles download`,
//! a provision that creates the record an order is made from.

use crate::cli::{run_with, sm_cli_command, Run};
use crate::process::{signal, wait_until};
use crate::stack::Stack;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// How long one sm-cli command may take.
const COMMAND: Duration = Duration::from_secs(120);

/// `sm-cli smdp serve --listen 127.0.0.1:0 --hostname localhost` with its SM store at
/// `db` and its request log (stderr) in `log`; SIGTERM on [`Server::stop`], SIGKILL
/// when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Server {
    pub fn start(stack: &Stack, db: &Path, log: &Path) -> Server {
        Server::start_with(stack, db, log, &[])
    }

    /// [`Server::start`] with more `smdp serve` options (`--operator-token-file F`).
    pub fn start_with(stack: &Stack, db: &Path, log: &Path, extra: &[&str]) -> Server {
        let err = std::fs::File::create(log).expect("server log file");
        let mut child = sm_cli_command(&stack.sm_cli)
            .env("SM_CLI_DB", db)
            .args([
                "smdp",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--hostname",
                "localhost",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .expect("cannot start sm-cli smdp serve");
        let out = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(out)
            .read_line(&mut line)
            .expect("smdp serve printed nothing");
        let port = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("127.0.0.1:"))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no listening address in {line:?}"));
        Server {
            child,
            port,
            log: log.to_path_buf(),
        }
    }

    /// The SM-DP+ address of its activation codes.
    pub fn address(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// SIGTERM, then the exit code (0: a clean shutdown).
    pub fn stop(mut self) -> Option<i32> {
        signal(&self.child, libc::SIGTERM);
        let (status, _) = wait_until(&mut self.child, Instant::now() + Duration::from_secs(30));
        status.and_then(|s| s.code())
    }

    /// The request log so far: (function, HTTP status, milliseconds) per line
    /// (`<time> es9p <peer> <function> <status> <ms>ms`).
    pub fn requests(&self) -> Vec<(String, u16, f64)> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                if w.len() != 6 || w[1] != "es9p" {
                    return None;
                }
                let ms = w[5].strip_suffix("ms")?.parse().ok()?;
                Some((w[3].to_string(), w[4].parse().ok()?, ms))
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// sm-cli with the SM store `db`.
pub fn sm_run(stack: &Stack, db: &Path, args: &[&str]) -> Run {
    let mut cmd = sm_cli_command(&stack.sm_cli);
    cmd.env("SM_CLI_DB", db);
    run_with(&mut cmd, args, None, COMMAND)
}

/// Flow A on the card of `reader` (test KDF): creates `op`'s record in `db`.
pub fn provision(stack: &Stack, db: &Path, reader: &str, op: &str, imei: &str, param: &str) -> Run {
    let mut cmd = sm_cli_command(&stack.sm_cli);
    cmd.env("SM_CLI_DB", db);
    let args = [
        "-r",
        reader,
        "provision",
        "--op-id",
        op,
        "--imei",
        imei,
        "--param-stdin",
        "--kdf",
        "test",
    ];
    run_with(
        &mut cmd,
        args,
        Some(format!("{param}\n").as_bytes()),
        COMMAND,
    )
}

/// `smdp order --json` for `op` at `server` (only for `eid`, with confirmation code `cc`,
/// when given); the activation code, or the failed run.
pub fn order(
    stack: &Stack,
    db: &Path,
    server: &Server,
    op: &str,
    eid: Option<&str>,
    cc: Option<&str>,
) -> Result<String, Box<Run>> {
    let address = server.address();
    let mut args = vec![
        "--json",
        "smdp",
        "order",
        "--op-id",
        op,
        "--address",
        &address,
    ];
    if let Some(e) = eid {
        args.extend(["--eid", e]);
    }
    if let Some(c) = cc {
        args.extend(["--confirmation-code", c]);
    }
    let run = sm_run(stack, db, &args);
    if run.code != Some(0) {
        return Err(Box::new(run));
    }
    match run.json()["activation_code"].as_str() {
        Some(code) if code.starts_with(&format!("LPA:1${address}$")) => Ok(code.to_string()),
        _ => Err(Box::new(run)),
    }
}

/// `sm-cli -r READER --json profiles download --activation-code CODE [--confirmation-code]`.
pub fn download(stack: &Stack, reader: &str, code: &str, cc: Option<&str>) -> Run {
    let mut args = vec![
        "-r",
        reader,
        "--json",
        "profiles",
        "download",
        "--activation-code",
        code,
    ];
    // The code on stdin, as a user keeps it out of `ps`.
    let stdin = cc.map(|c| format!("{c}\n").into_bytes());
    if stdin.is_some() {
        args.push("--confirmation-code-stdin");
    }
    run_with(
        &mut sm_cli_command(&stack.sm_cli),
        &args,
        stdin.as_deref(),
        COMMAND,
    )
}
