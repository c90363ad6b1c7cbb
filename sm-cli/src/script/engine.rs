//! The replay engine: carries out a parsed script's items in order against a
//! [`ScriptCard`] and checks each answer (docs/script-format.md, "Directives",
//! "Expectations", "Secret").
//!
//! - Commands are rendered from their template with the run's variables, moved to the
//!   current logical channel (`apdu_script::apply_channel`), sent, and checked against
//!   their `#<` alternatives; captures update the variables.
//! - `#! auto-get-response on`: a `6Cxx` answer resends the command once with Le = xx,
//!   `61xx` is followed by GET RESPONSE (`CLA C0 00 00 xx`, the CLA of the command as
//!   sent without the chaining bit): `reader::transport::exchange_bytes`, the rules
//!   every sm-cli command follows. The expectation sees the concatenated data. `off`
//!   (default): answers as they come.
//! - The first failure stops the file and the run unless `keep_going`; the lines not
//!   reached are reported as `not run`.
//! - Secret commands are traced with `Secrecy::Both`, reported by template, and skipped
//!   when a variable they use is unset. Mismatch texts that would show answer bytes are
//!   reduced to the offset.

use crate::clock;
use crate::errors::CliError;
use crate::reader::transport::exchange_bytes;
use crate::reader::{CardLink, Handling, Secrecy};
use crate::script::report::{FileReport, FileResult, Status, Step};
use apdu::Response;
use apdu_script::{
    apply_channel, Expectation, ItemKind, Mismatch, ReaderRef, RenderError, ResetKind, Script,
    Template, Vars,
};
use std::time::Instant;
use zeroize::Zeroizing;

/// What a replay needs besides raw transmit: the card-level directives.
pub trait ScriptCard: CardLink {
    /// `reset` / `#! reset warm` (keep power) or `#! reset cold` (cycle power).
    fn reset(&mut self, kind: ResetKind) -> Result<(), CliError>;
    /// `#! power off`: disconnect, unpowering the card.
    fn power_off(&mut self) -> Result<(), CliError>;
    /// `#! power on`: connect again to the current reader.
    fn power_on(&mut self) -> Result<(), CliError>;
    /// `#! reader`: continue on another reader (connected and powered); returns its name.
    fn use_reader(&mut self, reader: &ReaderRef) -> Result<String, CliError>;
}

/// How to replay.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Go on after a failed line instead of stopping the run.
    pub keep_going: bool,
}

/// One file's replay state: the directive state and the variables belong to the file.
struct Replay<'c, C: ScriptCard> {
    card: &'c mut C,
    vars: Vars,
    channel: u8,
    auto_get_response: bool,
}

/// Replays `script` (named `file` in the report) against `card`, starting with
/// `vars` (from `--var`). `on_step` sees each step as soon as it is done (the human
/// report prints it live). Returns the file's report; `stopped_at` is set when a
/// failure stopped the replay (without `keep_going`).
pub fn replay_file<C: ScriptCard>(
    card: &mut C,
    file: &str,
    script: &Script,
    vars: Vars,
    opts: Options,
    on_step: &mut dyn FnMut(&str, &Step),
) -> FileReport {
    let started = clock::now_iso8601();
    let t0 = Instant::now();
    let mut run = Replay {
        card,
        vars,
        channel: 0,
        auto_get_response: false,
    };
    let mut steps = Vec::new();
    let mut stopped_at = None;
    for item in &script.items {
        if let ItemKind::Comment(_) = item.kind {
            continue;
        }
        if stopped_at.is_some() {
            steps.push(not_run(item.line, &item.kind));
            continue;
        }
        let step = run.item(item.line, &item.kind);
        on_step(file, &step);
        let failed = step.status.is_failure();
        let exit = matches!(item.kind, ItemKind::Exit);
        steps.push(step);
        if failed && !opts.keep_going {
            stopped_at = Some(item.line);
        }
        if exit {
            break;
        }
    }
    let mut report = FileReport {
        file: file.to_string(),
        result: FileResult::Passed,
        counts: Default::default(),
        stopped_at,
        warnings: script
            .warnings
            .iter()
            .map(|w| format!("{file}:{}: {}", w.line, w.message))
            .collect(),
        started,
        ms: t0.elapsed().as_secs_f64() * 1000.0,
        steps,
    };
    report.finish();
    report
}

/// The report of a file the run never reached: every command and directive `not run`.
pub fn not_run_file(file: &str, script: &Script) -> FileReport {
    let steps = script
        .items
        .iter()
        .filter(|i| !matches!(i.kind, ItemKind::Comment(_)))
        .map(|i| not_run(i.line, &i.kind))
        .collect();
    let mut report = FileReport {
        file: file.to_string(),
        result: FileResult::NotRun,
        counts: Default::default(),
        stopped_at: None,
        warnings: Vec::new(),
        started: String::new(),
        ms: 0.0,
        steps,
    };
    report.finish();
    report
}

fn not_run(line: usize, kind: &ItemKind) -> Step {
    let mut s = Step::new(line, action_name(kind), Status::NotRun);
    if let ItemKind::Command {
        template,
        expect,
        secret,
    } = kind
    {
        s.sent = Some(template.to_string());
        s.expected = expected_texts(expect.as_ref());
        s.secret = *secret;
    }
    s
}

/// The `action` of a step: `command`, or the directive in its written form.
fn action_name(kind: &ItemKind) -> String {
    match kind {
        ItemKind::Command { .. } => "command".into(),
        ItemKind::Comment(_) => "comment".into(),
        ItemKind::Reset(ResetKind::Warm) => "reset warm".into(),
        ItemKind::Reset(ResetKind::Cold) => "reset cold".into(),
        ItemKind::PowerOff => "power off".into(),
        ItemKind::PowerOn => "power on".into(),
        ItemKind::Channel(n) => format!("channel {n}"),
        ItemKind::Reader(r) => format!("reader {r}"),
        ItemKind::Pause(d) => format!("pause {}ms", d.as_millis()),
        ItemKind::AutoGetResponse(on) => {
            format!("auto-get-response {}", if *on { "on" } else { "off" })
        }
        ItemKind::Exit => "exit".into(),
    }
}

fn expected_texts(e: Option<&Expectation>) -> Vec<String> {
    e.map(|e| e.alternatives.iter().map(|a| a.to_string()).collect())
        .unwrap_or_default()
}

/// `DATA SW` in hex, or `SW` alone.
pub fn answer_text(r: &Response) -> String {
    let sw = format!("{:04X}", r.sw.to_u16());
    if r.data.is_empty() {
        sw
    } else {
        format!("{} {sw}", hex::encode_upper(&r.data))
    }
}

/// The answer of a secret command: length and SW only.
fn hidden_answer_text(r: &Response) -> String {
    let sw = format!("{:04X}", r.sw.to_u16());
    if r.data.is_empty() {
        sw
    } else {
        format!("<{} bytes hidden> {sw}", r.data.len())
    }
}

/// A mismatch text without answer bytes (for secret commands): byte mismatches keep
/// their offset only.
pub fn secret_mismatch_text(m: &Mismatch) -> String {
    match m {
        Mismatch::Byte { offset, var, .. } => {
            let of = var
                .as_ref()
                .map(|(n, i)| format!(" (byte {i} of ${{{n}}})"))
                .unwrap_or_default();
            format!("response data at offset {offset}{of} differs (values hidden: secret command)")
        }
        Mismatch::NoAlternative(all) => {
            let parts: Vec<String> = all
                .iter()
                .enumerate()
                .map(|(i, m)| format!("({}) {}", i + 1, secret_mismatch_text(m)))
                .collect();
            format!(
                "none of the {} alternatives matched: {}",
                all.len(),
                parts.join("; ")
            )
        }
        other => other.to_string(),
    }
}

impl<C: ScriptCard> Replay<'_, C> {
    fn item(&mut self, line: usize, kind: &ItemKind) -> Step {
        let t0 = Instant::now();
        let mut step = match kind {
            ItemKind::Command {
                template,
                expect,
                secret,
            } => self.command(line, template, expect.as_ref(), *secret),
            _ => {
                let mut s = Step::new(line, action_name(kind), Status::Done);
                if let Err(reason) = self.directive(kind) {
                    s.status = Status::Error;
                    s.reason = Some(reason);
                }
                s
            }
        };
        step.ms = t0.elapsed().as_secs_f64() * 1000.0;
        step
    }

    /// Carries out a directive; the error text on failure.
    fn directive(&mut self, kind: &ItemKind) -> Result<(), String> {
        let e = |e: CliError| e.to_string();
        match kind {
            ItemKind::Reset(k) => self.card.reset(*k).map_err(e),
            ItemKind::PowerOff => self.card.power_off().map_err(e),
            ItemKind::PowerOn => self.card.power_on().map_err(e),
            ItemKind::Channel(n) => {
                self.channel = *n;
                Ok(())
            }
            ItemKind::Reader(r) => self.card.use_reader(r).map(|_| ()).map_err(e),
            ItemKind::Pause(d) => {
                std::thread::sleep(*d);
                Ok(())
            }
            ItemKind::AutoGetResponse(on) => {
                self.auto_get_response = *on;
                Ok(())
            }
            ItemKind::Exit | ItemKind::Comment(_) | ItemKind::Command { .. } => Ok(()),
        }
    }

    fn command(
        &mut self,
        line: usize,
        template: &Template,
        expect: Option<&Expectation>,
        secret: bool,
    ) -> Step {
        let mut step = Step::new(line, "command", Status::Error);
        step.secret = secret;
        step.expected = expected_texts(expect);
        step.sent = Some(template.to_string());
        let mut bytes = match template.render(&self.vars) {
            Ok(b) => Zeroizing::new(b),
            Err(RenderError::Unset(name)) if secret => {
                step.status = Status::Skipped;
                step.reason = Some(format!(
                    "secret command: ${{{name}}} is not set (pass --var {name}=HEX to send it); its answer is not checked"
                ));
                return step;
            }
            Err(err) => {
                step.reason = Some(err.to_string());
                return step;
            }
        };
        if let Err(err) = apply_channel(&mut bytes, self.channel) {
            step.reason = Some(format!("#! channel {}: {err}", self.channel));
            return step;
        }
        if !secret {
            step.sent = Some(hex::encode_upper(&*bytes));
        }
        let secrecy = if secret {
            Secrecy::Both
        } else {
            Secrecy::Public
        };
        let handling = if self.auto_get_response {
            Handling::Auto
        } else {
            Handling::Raw
        };
        let answer = exchange_bytes(self.card, &bytes, secrecy, handling);
        let mut answer = match answer {
            Ok(r) => r,
            Err(err) => {
                step.reason = Some(err.to_string());
                return step;
            }
        };
        step.got = Some(if secret {
            hidden_answer_text(&answer)
        } else {
            answer_text(&answer)
        });
        step.status = match expect {
            None => Status::Unchecked,
            Some(e) => match e.check(&answer.data, answer.sw.to_u16(), &mut self.vars) {
                Ok(()) => Status::Pass,
                Err(m) => {
                    step.reason = Some(if secret {
                        secret_mismatch_text(&m)
                    } else {
                        m.to_string()
                    });
                    Status::Fail
                }
            },
        };
        if secret {
            use zeroize::Zeroize;
            answer.data.zeroize();
        }
        step
    }
}
