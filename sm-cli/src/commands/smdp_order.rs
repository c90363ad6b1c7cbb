//! `sm-cli smdp order`: a download order at the SM-DP+ (issue 11; SGP.22 §3.1.3, the
//! operator's side of ES2+ done directly on the SM store): the profile of a subscription
//! record (`--op-id`) or a given SAIP package (`--package`), optionally only for one
//! EID and only with a confirmation code. Prints the activation code
//! `LPA:1$<address>$<matchingId>` (SGP.22 §4.1) for the end user's LPA.

use crate::commands::confirmation_code::ConfirmationCodeArgs;
use crate::commands::method::open_store;
use crate::context::App;
use crate::errors::CliError;
use crate::output::Report;
use crate::smdp::{create_order, OrderRequest, OrderSpec, TEST_HOST};
use clap::Args;
use serde::Serialize;
use std::io::Read as _;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Largest package file read (bytes).
const MAX_PACKAGE_FILE: u64 = 1024 * 1024;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["op_id", "package"])))]
pub struct OrderArgs {
    /// The subscription record whose profile to download (its ICCID, IMSI, MSISDN, Ki,
    /// OPc with Milenage, SPN and profile name)
    #[arg(long, value_name = "OPID")]
    pub op_id: Option<String>,
    /// A SAIP profile package (DER), e.g. a TS.48 test profile
    #[arg(long, value_name = "FILE.der")]
    pub package: Option<PathBuf>,
    /// Only this eUICC may download the profile
    #[arg(long, value_name = "EID")]
    pub eid: Option<String>,
    /// The end user must type this code (only its SHA-256 is stored)
    #[command(flatten)]
    pub confirmation_code: ConfirmationCodeArgs,
    /// The SM-DP+ address in the activation code, as `smdp serve` is reached
    #[arg(long, value_name = "HOST:PORT", default_value_t = format!("{TEST_HOST}:8443"))]
    pub address: String,
}

#[derive(Serialize)]
struct Ordered {
    activation_code: String,
    matching_id: String,
    smdp_address: String,
    iccid: String,
    eid: Option<String>,
    confirmation_code_required: bool,
    state: String,
}

impl Report for Ordered {
    fn human(&self) -> String {
        self.activation_code.clone()
    }
}

fn read_package(path: &PathBuf) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let f = std::fs::File::open(path)
        .map_err(|e| CliError::Usage(format!("--package {}: {e}", path.display())))?;
    let mut buf = Zeroizing::new(Vec::new());
    f.take(MAX_PACKAGE_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| CliError::Usage(format!("--package {}: {e}", path.display())))?;
    if buf.len() as u64 > MAX_PACKAGE_FILE {
        return Err(CliError::Usage(format!(
            "--package {}: larger than {MAX_PACKAGE_FILE} bytes",
            path.display()
        )));
    }
    Ok(buf)
}

pub fn run(app: &App, args: OrderArgs) -> Result<(), CliError> {
    let spec = match (&args.op_id, &args.package) {
        (Some(op), None) => OrderSpec::OpId(op.clone()),
        (None, Some(p)) => OrderSpec::Package(read_package(p)?),
        _ => {
            return Err(CliError::Usage(
                "give exactly one of --op-id and --package".into(),
            ))
        }
    };
    let store = open_store(app)?;
    let created = create_order(
        &store,
        &OrderRequest {
            spec,
            eid: args.eid.clone(),
            confirmation_code: args.confirmation_code.read()?,
            address: args.address.clone(),
        },
    )?;
    let o = &created.order;
    app.out.emit(&Ordered {
        activation_code: created.activation_code.clone(),
        matching_id: o.matching_id.clone(),
        smdp_address: o.smdp_address.clone(),
        iccid: o.iccid.clone(),
        eid: o.eid.clone(),
        confirmation_code_required: o.cc_hash.is_some(),
        state: o.state.as_str().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use crate::cli::parse_from;
    use crate::context::App;
    use crate::sm::store::{bench::sample_subscription, Actor, OrderState, Store};

    #[test]
    fn order_stores_a_released_order_and_checks_its_arguments() {
        let dir = std::env::temp_dir().join(format!("smdp-order-cmd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("sm.sqlite3");
        let mut s = sample_subscription(7);
        s.profile.msisdn = "4917000000007".into();
        s.profile.imsi = "001010000000007".into();
        let op = s.op_id.clone();
        Store::open(&db)
            .unwrap()
            .create_subscription(&s, &Actor::Sm)
            .unwrap();
        let args = |extra: &[&str]| {
            let mut v = vec![
                "sm-cli",
                "--json",
                "--sm-db",
                db.to_str().unwrap(),
                "smdp",
                "order",
            ];
            v.extend_from_slice(extra);
            parse_from(v)
        };
        // Exactly one of --op-id and --package.
        assert!(args(&[]).is_err());
        assert!(args(&["--op-id", &op, "--package", "x.der"]).is_err());
        let parsed = args(&[
            "--op-id",
            &op,
            "--confirmation-code",
            "1234",
            "--address",
            "127.0.0.1:8443",
        ])
        .unwrap();
        let app = App::new(parsed.cli.global);
        crate::commands::run(&app, parsed.cli.command).unwrap();
        let orders = Store::open(&db).unwrap().orders().unwrap();
        assert_eq!(orders.len(), 1);
        let o = &orders[0];
        assert_eq!(o.state, OrderState::Released);
        assert_eq!(o.smdp_address, "127.0.0.1:8443");
        assert_eq!(
            o.cc_hash,
            Some(apdu::sgp22::es9p::confirmation_code_hash(b"1234"))
        );
        assert_eq!(o.matching_id.len(), 23);
        // An unknown OP ID, a bad EID and a bad address are refused, nothing stored.
        for bad in [
            vec!["--op-id", "+0000"],
            vec!["--op-id", op.as_str(), "--eid", "123"],
            vec!["--op-id", op.as_str(), "--address", "a$b"],
        ] {
            let parsed = args(&bad).unwrap();
            let app = App::new(parsed.cli.global);
            assert!(
                crate::commands::run(&app, parsed.cli.command).is_err(),
                "{bad:?}"
            );
        }
        assert_eq!(Store::open(&db).unwrap().orders().unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
