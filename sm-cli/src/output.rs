//! What sm-cli prints: human text by default, exactly one JSON document on stdout with
//! `--json`.
//!
//! Errors always go to stderr as `error: <message>`. With `--json` the same error is
//! also printed on stdout as `{"error":{"code":"<kind>","exit_code":N,"message":"..."}}`,
//! so a caller parsing stdout always gets one document; the exit code is non-zero either
//! way. Progress lines (human mode only) and the APDU trace go to stderr or are
//! interleaved before the final result; they never mix with the JSON document.

use crate::errors::CliError;
use serde::Serialize;
use std::io::Write;

/// A command's result: serialisable for `--json`, and readable for people.
pub trait Report: Serialize {
    /// The human-readable form (without a trailing newline).
    fn human(&self) -> String;
}

/// The chosen output mode.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

/// Renders a report in the chosen mode.
pub fn render<R: Report>(json: bool, r: &R) -> String {
    if json {
        // Our reports are plain structs of strings, numbers and options: they always
        // serialise. Fall back to an error object rather than panic.
        serde_json::to_string_pretty(r)
            .unwrap_or_else(|e| error_json(&CliError::malformed("JSON output", e)))
    } else {
        r.human()
    }
}

/// The JSON error object.
pub fn error_json(e: &CliError) -> String {
    serde_json::json!({
        "error": {
            "code": e.kind(),
            "exit_code": e.exit_code(),
            "message": e.to_string(),
        }
    })
    .to_string()
}

/// Aligns `label: value` rows (labels padded to the longest).
pub fn rows(items: &[(&str, String)]) -> String {
    let w = items.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    items
        .iter()
        .map(|(k, v)| format!("{:<w$}  {v}", format!("{k}:"), w = w + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A listing: `empty` when there are no items, else a [`table`] with one row per item.
pub fn listing<T>(
    items: &[T],
    empty: &str,
    header: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> String {
    if items.is_empty() {
        return empty.to_string();
    }
    let body: Vec<Vec<String>> = items.iter().map(row).collect();
    table(header, &body)
}

/// Lays out a table with a header row; columns padded to their widest cell.
pub fn table(header: &[&str], body: &[Vec<String>]) -> String {
    let n = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in body {
        for (i, c) in row.iter().enumerate().take(n) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let s: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        s.join("  ").trim_end().to_string()
    };
    let mut out = vec![line(header.iter().map(|h| h.to_string()).collect())];
    out.extend(body.iter().map(|r| line(r.clone())));
    out.join("\n")
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    /// True in `--json` mode.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints the command's result on stdout.
    pub fn emit<R: Report>(&self, r: &R) -> Result<(), CliError> {
        let mut s = render(self.json, r);
        s.push('\n');
        let mut o = std::io::stdout().lock();
        o.write_all(s.as_bytes())?;
        o.flush()?;
        Ok(())
    }

    /// Prints a progress line on stdout in human mode only.
    pub fn progress(&self, line: &str) -> Result<(), CliError> {
        if !self.json {
            let mut o = std::io::stdout().lock();
            writeln!(o, "{line}")?;
            o.flush()?;
        }
        Ok(())
    }

    /// Reports an error: text on stderr, and the JSON error object on stdout in `--json` mode.
    pub fn error(&self, e: &CliError) {
        eprintln!("error: {e}");
        if self.json {
            // Nothing more to do if stdout is gone.
            let _ = writeln!(std::io::stdout().lock(), "{}", error_json(e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Demo {
        eid: String,
        free: Option<u64>,
    }

    impl Report for Demo {
        fn human(&self) -> String {
            rows(&[
                ("EID", self.eid.clone()),
                ("Free memory", format!("{:?}", self.free)),
            ])
        }
    }

    #[test]
    fn json_is_one_document_and_human_is_aligned() {
        let d = Demo {
            eid: "8904".into(),
            free: None,
        };
        let j: serde_json::Value = serde_json::from_str(&render(true, &d)).unwrap();
        assert_eq!(j["eid"], "8904");
        assert!(j["free"].is_null());
        assert_eq!(render(false, &d), "EID:          8904\nFree memory:  None");
    }

    #[test]
    fn errors_as_json() {
        let j: serde_json::Value = serde_json::from_str(&error_json(&CliError::NoService)).unwrap();
        assert_eq!(j["error"]["code"], "pcscd_not_running");
        assert_eq!(j["error"]["exit_code"], 3);
        assert!(j["error"]["message"].as_str().unwrap().contains("pcscd -f"));
    }

    #[test]
    fn tables_pad_columns() {
        let t = table(
            &["ICCID", "STATE"],
            &[
                vec!["894900".into(), "enabled".into()],
                vec!["1".into(), "".into()],
            ],
        );
        assert_eq!(t, "ICCID   STATE\n894900  enabled\n1");
    }
}
