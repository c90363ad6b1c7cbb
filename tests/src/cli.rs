//! Running programs under test (sm-cli), witnesses (opensc-tool, scriptor) and the stack's
//! own scripts with a timeout, capturing stdout, stderr and the exit code.

use crate::process;
use crate::stack::Stack;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one command may run before it is killed and the test fails.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// A finished command.
#[derive(Debug, Clone)]
pub struct Run {
    /// What ran, for messages.
    pub command: String,
    /// The exit code; `None` when killed by a signal (or by the timeout).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub timed_out: bool,
}

impl Run {
    /// Panics with the whole story unless the command exited 0.
    #[track_caller]
    pub fn expect_success(&self) -> &Run {
        if self.code != Some(0) {
            panic!("command failed: {self}");
        }
        self
    }

    /// stdout as one JSON document; panics with the output when it is not.
    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_str(self.stdout.trim()) {
            Ok(v) => v,
            Err(e) => panic!("stdout is not one JSON document ({e}): {self}"),
        }
    }

    /// The lines of stderr that are not APDU trace lines (`> ...`, `< ...`): what the
    /// user reads.
    pub fn message(&self) -> String {
        self.stderr
            .lines()
            .filter(|l| !(l.starts_with("> ") || l.starts_with("< ")))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` -> exit {:?}{} in {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.code,
            if self.timed_out { " (TIMED OUT)" } else { "" },
            self.elapsed,
            self.stdout,
            self.stderr
        )
    }
}

/// Runs `program args...` with `stdin` fed in, killing it after `timeout`.
pub fn run_with<I, S>(cmd: &mut Command, args: I, stdin: Option<&[u8]>, timeout: Duration) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    cmd.args(args);
    let command = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args()
            .map(|a| {
                let a = a.to_string_lossy();
                if a.contains(' ') {
                    format!("'{a}'")
                } else {
                    a.into_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    );
    let start = Instant::now();
    let spawned = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            return Run {
                command,
                code: None,
                stdout: String::new(),
                stderr: format!("cannot start: {e}"),
                elapsed: start.elapsed(),
                timed_out: false,
            };
        }
    };
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut s);
            }
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let (status, timed_out) = process::wait_until(&mut child, start + timeout);
    Run {
        command,
        code: status.and_then(|s| s.code()),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        elapsed: start.elapsed(),
        timed_out,
    }
}

/// Runs a program found on PATH.
pub fn run<I, S>(program: &str, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with(&mut Command::new(program), args, None, COMMAND_TIMEOUT)
}

/// The sm-cli binary `bin` as the tests run it: no reader, IMEI or remote SM taken from
/// the environment (tests name them with `-r`, `--imei` and `--sm`), no colours.
pub fn sm_cli_command(bin: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_remove("SM_CLI_READER")
        .env_remove("SM_CLI_IMEI")
        .env_remove("SM_CLI_SM")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs the sm-cli under test (see [`sm_cli_command`]).
pub fn sm_cli<I, S>(stack: &Stack, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with(
        &mut sm_cli_command(&stack.sm_cli),
        args,
        None,
        COMMAND_TIMEOUT,
    )
}

/// Restarts the pcscd that scripts/stack-up.sh owns (`stack-up.sh --restart-pcscd`).
/// The caller holds the pcscd lock exclusively and has checked [`Stack::pcscd_owned`].
pub fn restart_pcscd(stack: &Stack) -> Run {
    run_with(
        Command::new("bash")
            .arg(stack.root.join("scripts/stack-up.sh"))
            .env("STACK_DIR", &stack.dir),
        ["--restart-pcscd"],
        None,
        COMMAND_TIMEOUT,
    )
}
