//! The replay report as JUnit XML (`script run --junit PATH`), the format CI
//! dashboards read (Jenkins, GitLab, GitHub test reporters):
//!
//! - one `<testsuite>` per script file, named by its path;
//! - one `<testcase>` per command line (`line N: <command>`), with `<failure>` for a
//!   mismatch, `<error>` for a line that could not be carried out, `<skipped>` for a
//!   skipped secret command or a line the run did not reach; a directive that failed
//!   (reset, reader switch...) also gets a test case with its `<error>`, so no failure
//!   is invisible on a dashboard;
//! - sent / got / expected in the body of each failure and in `<system-out>`.
//!
//! Every text and attribute is escaped; characters XML 1.0 cannot hold (control
//! characters other than tab, LF, CR) are replaced by U+FFFD.
//!
//! Written here rather than with `quick-junit` (checked for issue 8): it writes
//! `timestamp` as RFC 3339 with an offset through `chrono` (the JUnit schema CI tools
//! validate against has no zone, as here), times with 3 decimals, and drops the
//! characters XML cannot hold instead of marking them with U+FFFD as the JUnit tests
//! assert; it would also add `chrono`, `uuid` and `quick-xml` beside `time` for a
//! writer of 150 lines.

use crate::script::report::{FileReport, RunReport, Status, Step};
use std::fmt::Write;

/// Escapes text for an XML attribute value or character data.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Escapes element content; unlike attributes, line breaks stay line breaks.
fn escape_text(s: &str) -> String {
    escape(s).replace("&#10;", "\n")
}

fn secs(ms: f64) -> String {
    format!("{:.6}", ms / 1000.0)
}

/// The longest command shown in a test case name, in characters.
const NAME_CHARS: usize = 64;

fn case_name(s: &Step) -> String {
    let what = if s.is_command() {
        s.sent.clone().unwrap_or_default()
    } else {
        s.action.clone()
    };
    let what = if what.chars().count() > NAME_CHARS {
        let cut: String = what.chars().take(NAME_CHARS).collect();
        format!("{cut}...")
    } else {
        what
    };
    format!("line {}: {what}", s.line)
}

fn details(s: &Step) -> String {
    let mut d = String::new();
    if let Some(v) = &s.sent {
        let _ = writeln!(d, "sent:     {v}");
    }
    if let Some(v) = &s.got {
        let _ = writeln!(d, "got:      {v}");
    }
    for e in &s.expected {
        let _ = writeln!(d, "expected: {e}");
    }
    if let Some(r) = &s.reason {
        let _ = writeln!(d, "reason:   {r}");
    }
    d
}

fn is_case(s: &Step) -> bool {
    s.is_command() || s.status.is_failure()
}

/// The `tests`, `failures`, `errors`, `skipped` and `time` attributes of a suite (or
/// of all suites) with these test cases.
fn totals(cases: &[&Step], ms: f64) -> String {
    let count = |st: &[Status]| cases.iter().filter(|s| st.contains(&s.status)).count();
    format!(
        "tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\"",
        cases.len(),
        count(&[Status::Fail]),
        count(&[Status::Error]),
        count(&[Status::Skipped, Status::NotRun]),
        secs(ms),
    )
}

fn suite(out: &mut String, f: &FileReport) {
    let cases: Vec<&Step> = f.steps.iter().filter(|s| is_case(s)).collect();
    let file = escape(&f.file);
    let _ = write!(out, "  <testsuite name=\"{file}\" {}", totals(&cases, f.ms));
    if !f.started.is_empty() {
        let _ = write!(
            out,
            " timestamp=\"{}\"",
            escape(f.started.trim_end_matches('Z'))
        );
    }
    out.push_str(">\n");
    for s in cases {
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"{file}\" time=\"{}\"",
            escape(&case_name(s)),
            secs(s.ms)
        );
        let reason = escape(s.reason.as_deref().unwrap_or(""));
        let body = escape_text(&details(s));
        let inner = match s.status {
            Status::Pass | Status::Unchecked | Status::Done => {
                format!("<system-out>{body}</system-out>")
            }
            Status::Fail => {
                format!("<failure message=\"{reason}\" type=\"mismatch\">{body}</failure>")
            }
            Status::Error => format!("<error message=\"{reason}\" type=\"error\">{body}</error>"),
            Status::Skipped => format!("<skipped message=\"{reason}\"/>"),
            Status::NotRun => {
                let why = match f.stopped_at {
                    Some(l) => format!("not run: the replay stopped at line {l}"),
                    None => "not run: the replay stopped in an earlier file".into(),
                };
                format!("<skipped message=\"{}\"/>", escape(&why))
            }
        };
        let _ = write!(out, ">\n      {inner}\n    </testcase>\n");
    }
    if !f.warnings.is_empty() {
        let _ = writeln!(
            out,
            "    <system-err>{}</system-err>",
            escape_text(&f.warnings.join("\n"))
        );
    }
    out.push_str("  </testsuite>\n");
}

/// The whole report as a JUnit XML document.
pub fn render(r: &RunReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let all: Vec<&Step> = r
        .files
        .iter()
        .flat_map(|f| f.steps.iter())
        .filter(|s| is_case(s))
        .collect();
    let ms: f64 = r.files.iter().map(|f| f.ms).sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"sm-cli script run\" {}>",
        totals(&all, ms)
    );
    for f in &r.files {
        suite(&mut out, f);
    }
    out.push_str("</testsuites>\n");
    out
}
