//! Script text to [`Script`]. Lines are classified in scriptor's order (facts read from
//! pcsc-tools' `scriptor`, which tests each line in this sequence):
//!
//! 1. a line containing `exit` in any case ends the script, whatever else it holds;
//! 2. a blank line is skipped;
//! 3. a line whose first character is `#` is a comment — here `#<` is an expectation and
//!    `#!` a directive (except a `#!/` shebang), both invisible to scriptor;
//! 4. a line containing `reset` in any case resets the card (warm);
//! 5. anything else is command bytes; a trailing `\` joins the next command line
//!    (comments, blank lines and resets in between are handled as they come).

use crate::directive::{self, Directive};
use crate::error::{At, ParseError};
use crate::expect::Expectation;
use crate::limits::{MAX_ALTERNATIVES, MAX_FILE_BYTES, MAX_LINE_CHARS, MAX_VARIABLES};
use crate::pattern::{Element, ResponsePattern};
use crate::scan::Cursor;
use crate::script::{Item, ItemKind, ResetKind, Script, Warning};
use crate::template::CommandBuilder;
use std::collections::HashSet;

impl Script {
    /// Parses script text. `file` only names the source in errors.
    pub fn parse(file: &str, text: &str) -> Result<Script, ParseError> {
        parse(file, text)
    }

    /// Parses raw file contents: checks the size cap and UTF-8 before parsing.
    pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<Script, ParseError> {
        parse_bytes(file, bytes)
    }

    /// Checks that `Script::to_string()` parses back to the same items (line numbers
    /// aside). Scripts built in code (the recorder) call this before writing a file.
    pub fn validate(&self) -> Result<(), ParseError> {
        let text = self.to_string();
        let back = Script::parse("<generated>", &text)?;
        let same = back.items.len() == self.items.len()
            && back
                .items
                .iter()
                .zip(&self.items)
                .all(|(a, b)| a.kind == b.kind);
        if same {
            Ok(())
        } else {
            Err(ParseError::new(
                "<generated>",
                0,
                0,
                "the script does not survive writing and reading back (an item holds a value the format cannot express)",
            ))
        }
    }
}

/// Checks size and UTF-8, then parses.
pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<Script, ParseError> {
    check_size(file, bytes.len())?;
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(file, text),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            // Only valid UTF-8 precedes the bad byte, so this decodes.
            let col = std::str::from_utf8(&good[line_start..]).map_or(1, |s| s.chars().count() + 1);
            Err(ParseError::new(
                file,
                line,
                col,
                "invalid UTF-8 (scripts are UTF-8 text)",
            ))
        }
    }
}

fn check_size(file: &str, len: usize) -> Result<(), ParseError> {
    if len > MAX_FILE_BYTES {
        return Err(ParseError::new(
            file,
            1,
            1,
            format!("file is {len} bytes, more than the limit of {MAX_FILE_BYTES}"),
        ));
    }
    Ok(())
}

/// Parses script text; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Script, ParseError> {
    check_size(file, text.len())?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut p = Parser {
        file,
        script: Script::default(),
        pending: None,
        secret_line: None,
        last_command: None,
        names: HashSet::new(),
    };
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if p.line(i + 1, line)? == Flow::Stop {
            break;
        }
    }
    p.finish()
}

#[derive(PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

/// A command whose line ended with `\`.
struct Pending {
    builder: CommandBuilder,
    line: usize,
    secret: bool,
}

struct Parser<'f> {
    file: &'f str,
    script: Script,
    pending: Option<Pending>,
    /// Line of a `#! secret` waiting for its command.
    secret_line: Option<usize>,
    /// Index in `items` of the command that `#<` lines attach to.
    last_command: Option<usize>,
    names: HashSet<String>,
}

impl Parser<'_> {
    fn err(&self, line: usize, at: At) -> ParseError {
        ParseError::new(self.file, line, at.col, at.msg)
    }

    fn warn(&mut self, line: usize, message: impl Into<String>) {
        self.script.warnings.push(Warning {
            line,
            message: message.into(),
        });
    }

    fn push(&mut self, line: usize, kind: ItemKind) {
        self.script.items.push(Item { line, kind });
    }

    fn line(&mut self, n: usize, line: &str) -> Result<Flow, ParseError> {
        let chars = line.chars().count();
        if chars > MAX_LINE_CHARS {
            return Err(self.err(
                n,
                At::new(
                    MAX_LINE_CHARS + 1,
                    format!("line longer than the limit of {MAX_LINE_CHARS} characters"),
                ),
            ));
        }
        let lower = line.to_ascii_lowercase();
        let extension = line.starts_with("#<") || (line.starts_with("#!") && !is_shebang(line));
        if let Some(pos) = lower.find("exit") {
            if extension {
                let col = line[..pos].chars().count() + 1;
                return Err(self.err(n, At::new(col, "an expectation or directive must not contain 'exit': scriptor ends the script at any line containing it")));
            }
            self.exit(n, line)?;
            return Ok(Flow::Stop);
        }
        if line.chars().all(char::is_whitespace) {
            return Ok(Flow::Go);
        }
        if let Some(text) = line.strip_prefix('#') {
            if !extension {
                let clean: String = text
                    .chars()
                    .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
                    .collect();
                self.push(n, ItemKind::Comment(clean));
                return Ok(Flow::Go);
            }
        }
        if let Some((i, c)) = line
            .chars()
            .enumerate()
            .find(|(_, c)| c.is_control() && *c != '\t')
        {
            let msg = format!("control character U+{:04X} is not allowed here", c as u32);
            return Err(self.err(n, At::new(i + 1, msg)));
        }
        if let Some(rest) = line.strip_prefix("#<") {
            return self.expectation(n, rest).map(|()| Flow::Go);
        }
        if let Some(rest) = line.strip_prefix("#!") {
            return self.directive(n, rest).map(|()| Flow::Go);
        }
        if lower.contains("reset") {
            if !line.trim().eq_ignore_ascii_case("reset") {
                self.warn(
                    n,
                    "this line contains 'reset', so it resets the card (scriptor's rule)",
                );
            }
            if self.secret_line.is_some() && self.pending.is_none() {
                return Err(self.err(
                    n,
                    At::new(
                        1,
                        "'#! secret' must be followed by a command, found 'reset'",
                    ),
                ));
            }
            self.push(n, ItemKind::Reset(ResetKind::Warm));
            self.last_command = None;
            return Ok(Flow::Go);
        }
        self.command_line(n, line).map(|()| Flow::Go)
    }

    fn exit(&mut self, n: usize, line: &str) -> Result<(), ParseError> {
        if !line.trim().eq_ignore_ascii_case("exit") {
            self.warn(
                n,
                "this line contains 'exit', so the script ends here (scriptor's rule)",
            );
        }
        if let Some(p) = self.pending.take() {
            self.warn(p.line, "this command is continued with '\\' but never completed before 'exit'; it is not sent (as in scriptor)");
        } else if let Some(s) = self.secret_line {
            return Err(self.err(
                s,
                At::new(1, "'#! secret' must be followed by a command, found 'exit'"),
            ));
        }
        self.push(n, ItemKind::Exit);
        Ok(())
    }

    /// `#<` and `#!` lines may not come between the parts of a `\`-continued command.
    fn not_in_continuation(&self, n: usize, what: &str) -> Result<(), ParseError> {
        if self.pending.is_some() {
            let msg = format!("{what} cannot interrupt a command continued with '\\'");
            return Err(self.err(n, At::new(1, msg)));
        }
        Ok(())
    }

    fn expectation(&mut self, n: usize, rest: &str) -> Result<(), ParseError> {
        self.not_in_continuation(n, "an expectation")?;
        let Some(idx) = self.last_command else {
            return Err(self.err(
                n,
                At::new(
                    1,
                    "'#<' must follow a command (only comments may come between)",
                ),
            ));
        };
        let mut cur = Cursor::new(rest, 3);
        let pattern = ResponsePattern::parse(&mut cur).map_err(|at| self.err(n, at))?;
        for el in &pattern.data {
            if let Element::Var(v) = el {
                self.name(n, &v.name)?;
            }
        }
        if let Some(ItemKind::Command { expect, .. }) =
            self.script.items.get_mut(idx).map(|i| &mut i.kind)
        {
            let e = expect.get_or_insert_with(|| Expectation {
                alternatives: Vec::new(),
            });
            if e.alternatives.len() == MAX_ALTERNATIVES {
                return Err(ParseError::new(
                    self.file,
                    n,
                    1,
                    format!("more than {MAX_ALTERNATIVES} '#<' alternatives for one command"),
                ));
            }
            e.alternatives.push(pattern);
        }
        Ok(())
    }

    fn directive(&mut self, n: usize, rest: &str) -> Result<(), ParseError> {
        self.not_in_continuation(n, "a directive")?;
        let mut cur = Cursor::new(rest, 3);
        match directive::parse(&mut cur).map_err(|at| self.err(n, at))? {
            Directive::Secret => self.secret_line = Some(n),
            Directive::Item(kind) => {
                if self.secret_line.is_some() {
                    return Err(self.err(
                        n,
                        At::new(
                            1,
                            "'#! secret' must be followed by a command, found a directive",
                        ),
                    ));
                }
                self.push(n, kind);
                self.last_command = None;
            }
        }
        Ok(())
    }

    fn command_line(&mut self, n: usize, line: &str) -> Result<(), ParseError> {
        let mut p = match self.pending.take() {
            Some(p) => p,
            None => Pending {
                builder: CommandBuilder::default(),
                line: n,
                secret: self.secret_line.take().is_some(),
            },
        };
        let mut cur = Cursor::new(line, 1);
        let continued = p.builder.line(&mut cur).map_err(|at| self.err(n, at))?;
        if continued {
            self.pending = Some(p);
            return Ok(());
        }
        let template = p.builder.finish();
        for v in template.variables() {
            self.name(n, &v.name)?;
        }
        if let Some(b) = template.as_literal().filter(|b| b.len() < 4) {
            let msg = format!(
                "command of {} bytes: PC/SC (pcsc-lite) refuses to send fewer than 4",
                b.len()
            );
            self.warn(p.line, msg);
        }
        self.push(
            p.line,
            ItemKind::Command {
                template,
                expect: None,
                secret: p.secret,
            },
        );
        self.last_command = Some(self.script.items.len() - 1);
        Ok(())
    }

    /// Counts a variable name against the cap.
    fn name(&mut self, n: usize, name: &str) -> Result<(), ParseError> {
        if !self.names.contains(name) {
            if self.names.len() == MAX_VARIABLES {
                return Err(ParseError::new(
                    self.file,
                    n,
                    1,
                    format!("more than {MAX_VARIABLES} distinct variables"),
                ));
            }
            self.names.insert(name.to_string());
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Script, ParseError> {
        if let Some(p) = self.pending.take() {
            self.warn(p.line, "the last command ends with '\\' and is never completed; it is not sent (as in scriptor)");
        } else if let Some(s) = self.secret_line {
            return Err(self.err(
                s,
                At::new(
                    1,
                    "'#! secret' must be followed by a command, found end of file",
                ),
            ));
        }
        Ok(self.script)
    }
}

/// `#!/usr/bin/scriptor` or `#! /usr/bin/...`: a shebang, a plain comment.
fn is_shebang(line: &str) -> bool {
    line.strip_prefix("#!")
        .is_some_and(|r| r.trim_start().starts_with('/'))
}
