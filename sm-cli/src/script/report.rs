//! The report of `sm-cli script run`: one [`Step`] per script line that does something
//! (commands and directives; comments are left out), grouped per file, with counts.
//! Serialised as the `--json` document, rendered for people by [`RunReport::human`],
//! and turned into JUnit XML by `junit`.
//!
//! Secret commands (`#! secret`) never show rendered bytes or answer data: `sent` holds
//! the template as written and `got` only the data length and the status word.

use crate::output::Report;
use serde::Serialize;

/// What became of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A command whose answer matched its expectation.
    Pass,
    /// A command without `#<` lines: sent, answer reported, nothing checked.
    Unchecked,
    /// A directive that did what it says.
    Done,
    /// The answer did not match the expectation.
    Fail,
    /// The line could not be carried out (unset variable, transmit error, unknown reader...).
    Error,
    /// A secret command whose variables are not set (docs/script-format.md, "Secret").
    Skipped,
    /// Not reached: the replay stopped at an earlier failure.
    NotRun,
}

impl Status {
    /// True for the outcomes that make the run fail.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Fail | Status::Error)
    }

    fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Unchecked => "sent",
            Status::Done => "ok",
            Status::Fail => "FAIL",
            Status::Error => "ERROR",
            Status::Skipped => "skipped",
            Status::NotRun => "not run",
        }
    }
}

/// One executed (or not reached) script line.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// 1-based line of the item in its file.
    pub line: usize,
    /// `command`, or the directive as written (`reset warm`, `channel 1`, `pause 10ms`...).
    pub action: String,
    pub status: Status,
    /// The command as sent, in hex; the template as written for secret commands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<String>,
    /// The answer: `DATA SW` in hex (`<N bytes hidden> SW` for secret commands).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub got: Option<String>,
    /// The `#<` alternatives as written (empty: nothing expected).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expected: Vec<String>,
    /// Why the line failed, errored or was skipped (the `Mismatch` text for mismatches).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Wall time of the line in milliseconds (the whole exchange, GET RESPONSE included).
    pub ms: f64,
    /// Marked with `#! secret`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

impl Step {
    /// A step for the line, with nothing sent yet.
    pub fn new(line: usize, action: impl Into<String>, status: Status) -> Step {
        Step {
            line,
            action: action.into(),
            status,
            sent: None,
            got: None,
            expected: Vec::new(),
            reason: None,
            ms: 0.0,
            secret: false,
        }
    }

    /// True for command lines (JUnit test cases).
    pub fn is_command(&self) -> bool {
        self.action == "command"
    }
}

/// How many lines ended how, for one file or the whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub commands: usize,
    pub passed: usize,
    pub unchecked: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
    pub not_run: usize,
}

impl Counts {
    /// Counts the command steps and every failure (directive errors included).
    pub fn of(steps: &[Step]) -> Counts {
        let mut c = Counts::default();
        for s in steps {
            if s.is_command() {
                c.commands += 1;
            }
            match s.status {
                Status::Pass => c.passed += 1,
                Status::Unchecked => c.unchecked += 1,
                Status::Fail => c.failed += 1,
                Status::Error => c.errors += 1,
                Status::Skipped => c.skipped += 1,
                Status::NotRun if s.is_command() => c.not_run += 1,
                Status::Done | Status::NotRun => {}
            }
        }
        c
    }

    pub fn add(&mut self, o: &Counts) {
        self.commands += o.commands;
        self.passed += o.passed;
        self.unchecked += o.unchecked;
        self.failed += o.failed;
        self.errors += o.errors;
        self.skipped += o.skipped;
        self.not_run += o.not_run;
    }

    fn summary(&self) -> String {
        format!(
            "{} commands: {} passed, {} failed, {} errors, {} skipped, {} unchecked, {} not run",
            self.commands,
            self.passed,
            self.failed,
            self.errors,
            self.skipped,
            self.unchecked,
            self.not_run
        )
    }
}

/// The outcome of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileResult {
    Passed,
    Failed,
    /// The run stopped in an earlier file.
    NotRun,
}

/// One replayed file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub file: String,
    pub result: FileResult,
    pub counts: Counts,
    /// The line the replay stopped at (first failure, without `--keep-going`).
    pub stopped_at: Option<usize>,
    /// Parser warnings (`file:line: text`).
    pub warnings: Vec<String>,
    /// When the file started (UTC, ISO 8601).
    pub started: String,
    pub ms: f64,
    pub steps: Vec<Step>,
}

impl FileReport {
    /// Sets `counts` and `result` from the steps.
    pub fn finish(&mut self) {
        self.counts = Counts::of(&self.steps);
        let ran = self.steps.iter().any(|s| s.status != Status::NotRun);
        self.result = if self.steps.iter().any(|s| s.status.is_failure()) {
            FileResult::Failed
        } else if !ran && !self.steps.is_empty() {
            FileResult::NotRun
        } else {
            FileResult::Passed
        };
    }

    /// The summary line of the file.
    pub fn summary(&self) -> String {
        let result = match self.result {
            FileResult::Passed => "passed",
            FileResult::Failed => "FAILED",
            FileResult::NotRun => "not run",
        };
        let stop = self
            .stopped_at
            .map(|l| format!(", stopped at line {l}"))
            .unwrap_or_default();
        format!(
            "{}: {result} ({}){stop} in {:.1} ms",
            self.file,
            self.counts.summary(),
            self.ms
        )
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub passed: bool,
    pub totals: Counts,
    pub files: Vec<FileReport>,
}

impl RunReport {
    pub fn new(files: Vec<FileReport>) -> RunReport {
        let mut totals = Counts::default();
        for f in &files {
            totals.add(&f.counts);
        }
        RunReport {
            passed: files.iter().all(|f| f.result == FileResult::Passed),
            totals,
            files,
        }
    }

    /// The closing lines: one summary per file and the verdict.
    pub fn summary(&self) -> String {
        let mut out: Vec<String> = self.files.iter().map(FileReport::summary).collect();
        let verdict = if self.passed { "PASSED" } else { "FAILED" };
        out.push(format!(
            "{verdict}: {} file(s), {}",
            self.files.len(),
            self.totals.summary()
        ));
        out.join("\n")
    }
}

impl Report for RunReport {
    /// Every step, then the summary (what `script run` prints without `--json`).
    fn human(&self) -> String {
        let mut out = Vec::new();
        for f in &self.files {
            out.extend(
                f.steps
                    .iter()
                    .filter(|s| s.status != Status::NotRun)
                    .map(|s| step_text(&f.file, s)),
            );
        }
        out.push(self.summary());
        out.join("\n")
    }
}

/// Longest answer or command shown in the human report, in hex characters.
const HUMAN_HEX_CHARS: usize = 192;

fn clip(s: &str) -> String {
    if s.len() <= HUMAN_HEX_CHARS {
        return s.to_string();
    }
    let cut = s
        .char_indices()
        .map(|(i, _)| i)
        .take_while(|&i| i <= HUMAN_HEX_CHARS)
        .last()
        .unwrap_or(0);
    format!("{}... ({} characters, see --json)", &s[..cut], s.len())
}

/// The human form of one step: a heading `file:line  action  status  time`, then the
/// sent / got / expected lines and the reason.
pub fn step_text(file: &str, s: &Step) -> String {
    let action = if s.is_command() {
        String::new()
    } else {
        format!("  {}", s.action)
    };
    let secret = if s.secret { "  (secret)" } else { "" };
    let mut out = format!(
        "{file}:{}{action}  {}  {:.2} ms{secret}",
        s.line,
        s.status.label(),
        s.ms
    );
    let mut row = |k: &str, v: &str| {
        out.push_str(&format!("\n    {k:<9} {v}"));
    };
    if let Some(v) = &s.sent {
        row("sent", &clip(v));
    }
    if let Some(v) = &s.got {
        row("got", &clip(v));
    }
    for (i, e) in s.expected.iter().enumerate() {
        row(if i == 0 { "expected" } else { "or" }, &clip(e));
    }
    if let Some(r) = &s.reason {
        let k = match s.status {
            Status::Fail => "mismatch",
            Status::Skipped => "skipped",
            _ => "error",
        };
        row(k, r);
    }
    out
}
