//! Checking a response against the `#<` lines after a command. Several `#<` lines are
//! alternatives: the first that matches wins and only its captures are kept. A
//! [`Mismatch`] says in words which field or byte differs, where, what was expected
//! and what came.

use crate::limits::{MAX_VALUE_BYTES, MAX_VARIABLES};
use crate::pattern::{ByteMask, Element, ResponsePattern};
use crate::vars::Vars;
use std::fmt;

/// The expected response of one command: one or more alternatives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub alternatives: Vec<ResponsePattern>,
}

/// Why a response did not match. Offsets count from 0 in the response data field.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// SW1 SW2 differ from the pattern (e.g. `61xx`).
    StatusWord { expected: String, got: u16 },
    /// The data field has the wrong length (`at_least` when the pattern has `*` or an
    /// open-ended capture).
    Length {
        expected: usize,
        at_least: bool,
        got: usize,
    },
    /// One data byte differs. `var` names the variable the byte was compared against
    /// and the byte's index inside it.
    Byte {
        offset: usize,
        expected: ByteMask,
        got: u8,
        var: Option<(String, usize)>,
    },
    /// A variable already holds a value of another length than the pattern's `:N`.
    VariableLength {
        name: String,
        expected: usize,
        got: usize,
    },
    /// A capture would exceed a cap (too many variables, value too long).
    Capture { name: String, reason: String },
    /// A pattern built in code has two elements of unknown length.
    Ambiguous,
    /// None of several alternatives matched; one explanation per alternative.
    NoAlternative(Vec<Mismatch>),
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::StatusWord { expected, got } => {
                write!(f, "status word: expected {expected}, got {got:04X}")
            }
            Mismatch::Length {
                expected,
                at_least,
                got,
            } => {
                let least = if *at_least { "at least " } else { "" };
                let unit = if *expected == 1 { "byte" } else { "bytes" };
                write!(
                    f,
                    "response data length: expected {least}{expected} {unit}, got {got}"
                )
            }
            Mismatch::Byte {
                offset,
                expected,
                got,
                var,
            } => {
                write!(f, "response data at offset {offset}")?;
                if let Some((name, i)) = var {
                    write!(f, " (byte {i} of ${{{name}}})")?;
                }
                write!(f, ": expected {expected}, got {got:02X}")
            }
            Mismatch::VariableLength {
                name,
                expected,
                got,
            } => write!(
                f,
                "${{{name}}} holds {got} bytes, but the expectation says ${{{name}:{expected}}}"
            ),
            Mismatch::Capture { name, reason } => write!(f, "cannot capture ${{{name}}}: {reason}"),
            Mismatch::Ambiguous => f.write_str(
                "the expectation has more than one element of unknown length ('*' or ${NAME} without :N)",
            ),
            Mismatch::NoAlternative(all) => {
                write!(f, "none of the {} alternatives matched:", all.len())?;
                for (i, m) in all.iter().enumerate() {
                    write!(f, " ({}) {m}", i + 1)?;
                    if i + 1 < all.len() {
                        f.write_str(";")?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Mismatch {}

impl Expectation {
    /// One alternative.
    pub fn single(p: ResponsePattern) -> Self {
        Expectation {
            alternatives: vec![p],
        }
    }

    /// Checks a response (data field and SW1 SW2). On success the captures of the
    /// matching alternative are stored in `vars`; on failure `vars` is unchanged.
    pub fn check(&self, data: &[u8], sw: u16, vars: &mut Vars) -> Result<(), Mismatch> {
        let mut failures = Vec::new();
        for alt in &self.alternatives {
            match match_one(alt, data, sw, vars) {
                Ok(captures) => return commit(captures, vars),
                Err(m) => failures.push(m),
            }
        }
        match failures.len() {
            0 => Ok(()), // no alternatives: nothing is expected
            1 => Err(failures.remove(0)),
            _ => Err(Mismatch::NoAlternative(failures)),
        }
    }
}

type Captures<'a> = Vec<(&'a str, &'a [u8])>;

fn commit(captures: Captures, vars: &mut Vars) -> Result<(), Mismatch> {
    let new = captures.iter().filter(|(n, _)| !vars.contains(n)).count();
    if vars.len() + new > MAX_VARIABLES {
        let name = captures.first().map_or("", |c| c.0).to_string();
        return Err(Mismatch::Capture {
            name,
            reason: format!("more than {MAX_VARIABLES} variables"),
        });
    }
    for (name, value) in captures {
        vars.set(name, value).map_err(|e| Mismatch::Capture {
            name: name.to_string(),
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

/// The value of `name`: captured earlier in this pattern, or already in `vars`.
fn lookup<'x>(name: &str, caps: &'x Captures<'_>, vars: &'x Vars) -> Option<&'x [u8]> {
    caps.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .or_else(|| vars.get(name))
}

fn sw_text(sw: &[ByteMask; 2]) -> String {
    format!("{}{}", sw[0], sw[1])
}

/// Matches one alternative; returns its captures. Lengths are settled first (every
/// element but at most one has a known length), so no backtracking is needed.
fn match_one<'a>(
    p: &'a ResponsePattern,
    data: &'a [u8],
    sw: u16,
    vars: &Vars,
) -> Result<Captures<'a>, Mismatch> {
    let [sw1, sw2] = sw.to_be_bytes();
    if !(p.sw[0].matches(sw1) && p.sw[1].matches(sw2)) {
        return Err(Mismatch::StatusWord {
            expected: sw_text(&p.sw),
            got: sw,
        });
    }
    // Lengths: known from the pattern, from a bound variable, or from an earlier sized
    // capture of the same name in this pattern.
    let mut sized: Vec<(&str, usize)> = Vec::new();
    let mut lens: Vec<Option<usize>> = Vec::with_capacity(p.data.len());
    for el in &p.data {
        let len = match el {
            Element::Bytes(run) => Some(run.len()),
            Element::Any => None,
            Element::Var(v) => {
                let known = vars
                    .get(&v.name)
                    .map(<[u8]>::len)
                    .or_else(|| sized.iter().find(|(n, _)| *n == v.name).map(|s| s.1));
                if let (Some(n), None) = (v.len, known) {
                    sized.push((&v.name, n));
                }
                v.len.or(known)
            }
        };
        lens.push(len);
    }
    let fixed: usize = lens.iter().flatten().sum();
    let open = lens.iter().filter(|l| l.is_none()).count();
    let rest = match open {
        0 if data.len() == fixed => 0,
        1 if data.len() >= fixed => data.len() - fixed,
        0 | 1 => {
            return Err(Mismatch::Length {
                expected: fixed,
                at_least: open == 1,
                got: data.len(),
            })
        }
        _ => return Err(Mismatch::Ambiguous),
    };
    let mut caps: Captures<'a> = Vec::new();
    let mut pos = 0;
    for (el, len) in p.data.iter().zip(lens) {
        let len = len.unwrap_or(rest);
        let part = &data[pos..pos + len];
        match el {
            Element::Any => {}
            Element::Bytes(run) => {
                if let Some(i) = (0..len).find(|&i| !run[i].matches(part[i])) {
                    return Err(Mismatch::Byte {
                        offset: pos + i,
                        expected: run[i],
                        got: part[i],
                        var: None,
                    });
                }
            }
            Element::Var(v) => match lookup(&v.name, &caps, vars) {
                Some(value) if value.len() != len => {
                    return Err(Mismatch::VariableLength {
                        name: v.name.clone(),
                        expected: len,
                        got: value.len(),
                    })
                }
                Some(value) => {
                    if let Some(i) = (0..len).find(|&i| value[i] != part[i]) {
                        return Err(Mismatch::Byte {
                            offset: pos + i,
                            expected: ByteMask::exact(value[i]),
                            got: part[i],
                            var: Some((v.name.clone(), i)),
                        });
                    }
                }
                None if len > MAX_VALUE_BYTES => {
                    return Err(Mismatch::Capture {
                        name: v.name.clone(),
                        reason: format!("{len} bytes, more than the limit of {MAX_VALUE_BYTES}"),
                    })
                }
                None => caps.push((&v.name, part)),
            },
        }
        pos += len;
    }
    Ok(caps)
}
