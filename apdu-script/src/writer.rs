//! [`Script`] back to text, one item per line (the recorder writes scripts with this).
//! Commands are written as contiguous upper-case hex (scriptor splits a line without
//! spaces into bytes), so a script without variables and directives replays under
//! scriptor. `Script::to_string()` parses back to the same items; see
//! [`Script::validate`] for scripts built in code.

use crate::pattern::{Element, ResponsePattern};
use crate::scan::VarRef;
use crate::script::{ItemKind, ReaderRef, ResetKind, Script};
use crate::template::{Piece, Template};
use std::fmt;

impl fmt::Display for VarRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.len {
            Some(n) => write!(f, "${{{}:{n}}}", self.name),
            None => write!(f, "${{{}}}", self.name),
        }
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.pieces() {
            match p {
                Piece::Bytes(b) => b.iter().try_for_each(|x| write!(f, "{x:02X}"))?,
                Piece::Var(v) => write!(f, "{v}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Element::Bytes(run) => run.iter().try_for_each(|m| write!(f, "{m}")),
            Element::Any => f.write_str("*"),
            Element::Var(v) => write!(f, "{v}"),
        }
    }
}

impl fmt::Display for ResponsePattern {
    /// `data SW`, e.g. `BF3E125A10${EID:16} 9000`, or just `9000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for el in &self.data {
            write!(f, "{el}")?;
        }
        if !self.data.is_empty() {
            f.write_str(" ")?;
        }
        write!(f, "{}{}", self.sw[0], self.sw[1])
    }
}

impl fmt::Display for ReaderRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReaderRef::Index(i) => write!(f, "{i}"),
            ReaderRef::Name(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")
            }
        }
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            match &item.kind {
                ItemKind::Command {
                    template,
                    expect,
                    secret,
                } => {
                    if *secret {
                        writeln!(f, "#! secret")?;
                    }
                    writeln!(f, "{template}")?;
                    for alt in expect.iter().flat_map(|e| &e.alternatives) {
                        writeln!(f, "#< {alt}")?;
                    }
                }
                ItemKind::Comment(text) => writeln!(f, "#{}", comment_text(text))?,
                ItemKind::Reset(ResetKind::Warm) => writeln!(f, "reset")?,
                ItemKind::Reset(ResetKind::Cold) => writeln!(f, "#! reset cold")?,
                ItemKind::PowerOff => writeln!(f, "#! power off")?,
                ItemKind::PowerOn => writeln!(f, "#! power on")?,
                ItemKind::Channel(n) => writeln!(f, "#! channel {n}")?,
                ItemKind::Reader(r) => writeln!(f, "#! reader {r}")?,
                ItemKind::Pause(d) => writeln!(f, "#! pause {}ms", d.as_millis())?,
                ItemKind::AutoGetResponse(on) => {
                    writeln!(f, "#! auto-get-response {}", if *on { "on" } else { "off" })?
                }
                ItemKind::Exit => writeln!(f, "exit")?,
            }
        }
        Ok(())
    }
}

/// Comment text that reads back as the same comment: control characters become
/// spaces, `exit` (which would end the script) becomes `ex-it`, and a leading `<` or
/// `!` (which would make an extension line) gets a space before it.
fn comment_text(text: &str) -> String {
    let mut s: String = text
        .chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect();
    while let Some(pos) = s.to_ascii_lowercase().find("exit") {
        s.insert(pos + 2, '-');
    }
    if s.starts_with('<') || (s.starts_with('!') && !s[1..].trim_start().starts_with('/')) {
        s.insert(0, ' ');
    }
    s
}
