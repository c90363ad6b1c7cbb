//! `sm-cli apdu HEX...`: raw APDUs on the basic channel of one connection, each printed
//! with its answer and the status word's meaning. `61xx`/`6Cxx` are followed (T=0
//! rules, `reader::transport`) unless `--raw`; `--check` stops at the first error SW.
//! Every argument is checked before anything is sent.

use crate::commands::target::hex_bytes;
use crate::context::App;
use crate::errors::CliError;
use crate::output::Report;
use crate::reader::transport::send;
use crate::reader::{Handling, Secrecy};
use apdu::{Command, Response, StatusWord};
use clap::Args;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct ApduArgs {
    /// Command APDUs in hex (spaces and colons inside one argument are ignored)
    #[arg(required = true, value_name = "HEX")]
    pub apdus: Vec<String>,
    /// Send exactly what is given: no GET RESPONSE on 61xx, no resend on 6Cxx
    #[arg(long)]
    pub raw: bool,
    /// Stop at the first error status word and exit with code 10
    #[arg(long)]
    pub check: bool,
}

#[derive(Serialize)]
struct Exchange {
    command: String,
    response: String,
    sw: String,
    meaning: String,
}

impl Exchange {
    fn new(cmd: &[u8], r: &Response) -> Exchange {
        Exchange {
            command: hex::encode_upper(cmd),
            response: hex::encode_upper(&r.data),
            sw: format!("{:04X}", r.sw.to_u16()),
            meaning: r.sw.meaning(),
        }
    }

    fn human(&self) -> String {
        let data = if self.response.is_empty() {
            String::new()
        } else {
            format!("{} ", self.response)
        };
        format!("> {}\n< {data}{} ({})", self.command, self.sw, self.meaning)
    }
}

#[derive(Serialize)]
struct Apdus {
    reader: String,
    atr: String,
    protocol: &'static str,
    exchanges: Vec<Exchange>,
}

impl Report for Apdus {
    fn human(&self) -> String {
        self.exchanges
            .iter()
            .map(Exchange::human)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Parses every argument first, so a typo sends nothing.
fn parse_all(args: &[String]) -> Result<Vec<Vec<u8>>, CliError> {
    args.iter()
        .map(|a| {
            let b = hex_bytes(a, "APDU")?;
            if b.len() < 4 {
                return Err(CliError::Usage(format!(
                    "APDU '{a}' is shorter than the 4 header bytes CLA INS P1 P2"
                )));
            }
            Ok(b)
        })
        .collect()
}

fn is_error(sw: StatusWord) -> bool {
    !matches!(
        sw,
        StatusWord::Success
            | StatusWord::BytesAvailable(_)
            | StatusWord::ProactiveCommandPending(_)
    )
}

pub fn run(app: &App, args: ApduArgs) -> Result<(), CliError> {
    let apdus = parse_all(&args.apdus)?;
    let handling = if args.raw {
        Handling::Raw
    } else {
        Handling::Auto
    };
    let mut session = app.connect()?;
    let (atr, protocol) = session.status()?;
    let mut report = Apdus {
        reader: session.reader().to_string(),
        atr: hex::encode_upper(atr),
        protocol,
        exchanges: Vec::new(),
    };
    for (i, raw) in apdus.iter().enumerate() {
        // Well-formed commands get the T=0 rules; anything else goes out byte for byte.
        let r = match Command::parse(raw) {
            Ok(cmd) => session.exchange(&cmd, Secrecy::Public, handling)?,
            Err(_) => send(&mut session, raw, Secrecy::Public)?,
        };
        let ex = Exchange::new(raw, &r);
        app.out.progress(&ex.human())?;
        report.exchanges.push(ex);
        if args.check && is_error(r.sw) {
            return Err(CliError::Status {
                what: format!("APDU {} ({})", i + 1, hex::encode_upper(raw)),
                sw: r.sw,
            });
        }
    }
    session.close()?;
    if app.out.is_json() {
        app.out.emit(&report)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked_before_sending() {
        let ok = parse_all(&["00 A4 04 00".into(), "80E2910003BF2200".into()]).unwrap();
        assert_eq!(ok[0], vec![0x00, 0xA4, 0x04, 0x00]);
        assert_eq!(parse_all(&["00A4".into()]).unwrap_err().exit_code(), 2);
        assert_eq!(parse_all(&["00A4040G".into()]).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn exchanges_print_with_meaning() {
        let r = Response::parse(&[0x6A, 0x82]).unwrap();
        let e = Exchange::new(&[0x00, 0xA4, 0x04, 0x00, 0x01, 0xAA], &r);
        assert_eq!(
            e.human(),
            "> 00A4040001AA\n< 6A82 (file or application not found)"
        );
        let r = Response::parse(&[0x01, 0x90, 0x00]).unwrap();
        let e = Exchange::new(&[0x00, 0x70, 0x00, 0x00, 0x01], &r);
        assert_eq!(e.human(), "> 0070000001\n< 01 9000 (normal ending)");
        assert!(is_error(StatusWord::FileNotFound));
        assert!(!is_error(StatusWord::BytesAvailable(2)));
    }
}
