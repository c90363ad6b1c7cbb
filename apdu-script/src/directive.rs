//! `#!` directive lines. Keywords are case-insensitive; scriptor skips these lines as
//! comments. `#!` followed by `/` is a shebang (`#!/usr/bin/scriptor`), a comment.
//!
//! ```text
//! #! power off | power on
//! #! reset [warm | cold]
//! #! channel N                    N = 0..19
//! #! reader N | reader "text"     index from 0, or a substring of the reader name
//! #! pause N [ms | s]
//! #! auto-get-response on | off
//! #! secret                       marks the next command
//! ```

use crate::error::At;
use crate::limits::{MAX_CHANNEL, MAX_PAUSE};
use crate::scan::{decimal, Cursor};
use crate::script::{ItemKind, ReaderRef, ResetKind};
use std::time::Duration;

/// What a directive line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Directive {
    Item(ItemKind),
    /// `#! secret`: the next command is secret.
    Secret,
}

const KNOWN: &str = "power, reset, channel, reader, pause, auto-get-response, secret";

/// Parses the text after `#!`.
pub(crate) fn parse(cur: &mut Cursor) -> Result<Directive, At> {
    cur.skip_ws();
    let col = cur.col();
    let word = cur.word().to_ascii_lowercase();
    let d = match word.as_str() {
        "" => return Err(cur.expected(&format!("a directive ({KNOWN})"))),
        "power" => match arg(cur).as_str() {
            "off" => Directive::Item(ItemKind::PowerOff),
            "on" => Directive::Item(ItemKind::PowerOn),
            _ => return Err(cur.expected("'on' or 'off' after 'power'")),
        },
        "reset" => match arg(cur).as_str() {
            "" | "warm" => Directive::Item(ItemKind::Reset(ResetKind::Warm)),
            "cold" => Directive::Item(ItemKind::Reset(ResetKind::Cold)),
            _ => return Err(cur.expected("'warm', 'cold' or end of line after 'reset'")),
        },
        "channel" => {
            cur.skip_ws();
            let n_col = cur.col();
            let n = decimal(cur).ok_or_else(|| cur.expected("a channel number (0-19)"))?;
            match n.parse::<u8>() {
                Ok(ch) if ch <= MAX_CHANNEL => Directive::Item(ItemKind::Channel(ch)),
                _ => {
                    return Err(At::new(
                        n_col,
                        format!("logical channels are 0-{MAX_CHANNEL}, found {n}"),
                    ))
                }
            }
        }
        "reader" => Directive::Item(ItemKind::Reader(reader(cur)?)),
        "pause" => Directive::Item(ItemKind::Pause(pause(cur)?)),
        "auto-get-response" => match arg(cur).as_str() {
            "on" => Directive::Item(ItemKind::AutoGetResponse(true)),
            "off" => Directive::Item(ItemKind::AutoGetResponse(false)),
            _ => return Err(cur.expected("'on' or 'off' after 'auto-get-response'")),
        },
        "secret" => Directive::Secret,
        other => {
            return Err(At::new(
                col,
                format!("unknown directive '{other}'; expected one of: {KNOWN}"),
            ))
        }
    };
    if !cur.at_end() {
        cur.skip_ws();
        return Err(cur.expected("end of line"));
    }
    Ok(d)
}

/// The next word, lower-cased ("" at end of line). On a non-word character the cursor
/// stays there, so the caller's error points at it.
fn arg(cur: &mut Cursor) -> String {
    cur.skip_ws();
    cur.word().to_ascii_lowercase()
}

fn reader(cur: &mut Cursor) -> Result<ReaderRef, At> {
    cur.skip_ws();
    if cur.peek() == Some('"') {
        let open = cur.col();
        cur.bump();
        let mut name = String::new();
        loop {
            match cur.bump() {
                Some('"') => break,
                Some('\\') => match cur.bump() {
                    Some(c @ ('"' | '\\')) => name.push(c),
                    _ => {
                        return Err(At::new(
                            cur.col().saturating_sub(1),
                            "only \\\" and \\\\ are escapes in a reader name",
                        ))
                    }
                },
                Some(c) => name.push(c),
                None => return Err(At::new(open, "reader name has no closing '\"'")),
            }
        }
        if name.is_empty() {
            return Err(At::new(open, "reader name is empty"));
        }
        return Ok(ReaderRef::Name(name));
    }
    let col = cur.col();
    let n = decimal(cur)
        .ok_or_else(|| cur.expected("a reader index (from 0) or a quoted name part"))?;
    n.parse()
        .map(ReaderRef::Index)
        .map_err(|_| At::new(col, format!("reader index {n} is too large")))
}

fn pause(cur: &mut Cursor) -> Result<Duration, At> {
    cur.skip_ws();
    let col = cur.col();
    let n = decimal(cur).ok_or_else(|| cur.expected("a duration, e.g. 100 or 100ms or 2s"))?;
    let unit_col = {
        cur.skip_ws();
        cur.col()
    };
    let unit = cur.word().to_ascii_lowercase();
    let per_unit: u64 = match unit.as_str() {
        "" | "ms" => 1,
        "s" => 1000,
        _ => {
            return Err(At::new(
                unit_col,
                format!("expected 'ms' or 's', found '{unit}'"),
            ))
        }
    };
    let ms = n
        .parse::<u64>()
        .ok()
        .and_then(|v| v.checked_mul(per_unit))
        .filter(|&ms| ms <= MAX_PAUSE.as_millis() as u64)
        .ok_or_else(|| At::new(col, format!("pause longer than {} s", MAX_PAUSE.as_secs())))?;
    Ok(Duration::from_millis(ms))
}
