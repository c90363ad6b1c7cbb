//! `sm-cli -r CARD profiles download --activation-code 'LPA:1$...' [--confirmation-code X]
//! [--imei IMEI] [--smdp-ca FILE]`: the LPA's profile download (SGP.22 §3.1.3,
//! `lpa::download`) from the SM-DP+ the activation code names, over HTTPS
//! (`es9p::client`), with a progress line per step on stderr.
//!
//! The SM-DP+'s TLS certificate must chain to the CA certificates of `--smdp-ca` (PEM;
//! SGP.22 §2.6.6.1: a GSMA CI), by default to the project's test CI
//! (card-sim/test-pki/CertificateIssuer/CERT_CI_ECDSA_NIST.pem, TEST MATERIAL), which
//! `sm-cli smdp serve` and `card-sim pki init` folders chain to.

use crate::commands::confirmation_code::ConfirmationCodeArgs;
use crate::context::App;
use crate::errors::CliError;
use crate::es9p::client::{HttpsTransport, Trust};
use crate::lpa::activation_code::ActivationCode;
use crate::lpa::download::{device_info, download, Downloaded, Order, Step};
use crate::lpa::es9::{transport_error, Es9Client};
use crate::output::{rows, Report};
use crate::terminal::answers::check_imei;
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The activation code (SGP.22 §4.1): [LPA:]1$<SM-DP+ address>$<matching ID>[$<OID>[$1]]
    #[arg(long, value_name = "CODE")]
    pub activation_code: String,
    /// The confirmation code of the order, when it has one (sent only as SGP.22's hashCc)
    #[command(flatten)]
    pub confirmation_code: ConfirmationCodeArgs,
    /// The device's IMEI for deviceInfo (its TAC and the IMEI) [default: lpac's TAC, no IMEI]
    #[arg(long, value_name = "IMEI")]
    pub imei: Option<String>,
    /// CA certificates (PEM) the SM-DP+'s TLS certificate must chain to, or `system` for
    /// the operating system's roots [default: the project's TEST CI, card-sim/test-pki]
    #[arg(long, value_name = "FILE")]
    pub smdp_ca: Option<PathBuf>,
}

/// The TLS trust of `--smdp-ca` (shared with `notifications process` and `--sm-ca`).
/// The option's value: a PEM file; the word `system`: the operating system's roots
/// (a file of that name is `./system`); none: the project's test CI.
pub fn trust(smdp_ca: &Option<PathBuf>) -> Trust {
    match smdp_ca {
        Some(f) if f.as_os_str() == "system" => Trust::SystemRoots,
        Some(f) => Trust::CaFile(f.clone()),
        None => Trust::TestCi,
    }
}

#[cfg(test)]
mod trust_tests {
    use super::*;

    #[test]
    fn the_word_system_picks_the_system_roots() {
        assert!(matches!(trust(&None), Trust::TestCi));
        assert!(matches!(trust(&Some("system".into())), Trust::SystemRoots));
        assert!(matches!(trust(&Some("./system".into())), Trust::CaFile(_)));
        assert!(matches!(trust(&Some("ci.pem".into())), Trust::CaFile(_)));
    }
}

#[derive(Debug, Serialize)]
struct NotificationView {
    seq: u32,
    delivered: bool,
    removed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Where one download's time went, as the LPA sees it (`--json` only): each step from its
/// progress mark to the next one (the last to the end), summed by side. `card_ms` is
/// ES10b through PC/SC, from connecting to the card on; `smdp_ms` is ES9+ over HTTPS, the
/// TLS handshake (in initiateAuthentication) and the SM-DP+'s own work included. The
/// LPA's own encoding and checks fall in the step they follow.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
struct Timing {
    total_ms: f64,
    card_ms: f64,
    smdp_ms: f64,
}

impl Timing {
    /// From the start, the marks (step on the card?, when) and the end.
    fn from_marks(start: Instant, marks: &[(bool, Instant)], end: Instant) -> Timing {
        let ms = |a: Instant, b: Instant| b.saturating_duration_since(a).as_secs_f64() * 1e3;
        let mut t = Timing {
            total_ms: ms(start, end),
            ..Timing::default()
        };
        // Before the first mark: connecting to the card and opening the ES10 session.
        let mut from = (true, start);
        for &(on_card, at) in marks.iter().chain(std::iter::once(&(true, end))) {
            let part = ms(from.1, at);
            if from.0 {
                t.card_ms += part;
            } else {
                t.smdp_ms += part;
            }
            from = (on_card, at);
        }
        t
    }
}

#[derive(Debug, Serialize)]
struct DownloadReport {
    iccid: String,
    aid: String,
    smdp_address: String,
    transaction_id: String,
    service_provider: Option<String>,
    profile_name: Option<String>,
    notification: NotificationView,
    timing: Timing,
}

impl From<Downloaded> for DownloadReport {
    fn from(d: Downloaded) -> DownloadReport {
        DownloadReport {
            iccid: d.iccid.digits(),
            aid: hex::encode_upper(&d.aid),
            smdp_address: d.smdp_address,
            transaction_id: d.transaction_id.to_hex(),
            service_provider: d.service_provider,
            profile_name: d.profile_name,
            notification: NotificationView {
                seq: d.notification.seq,
                delivered: d.notification.delivered,
                removed: d.notification.removed,
                error: d.notification.error,
            },
            timing: Timing::default(),
        }
    }
}

impl Report for DownloadReport {
    fn human(&self) -> String {
        let n = &self.notification;
        let outcome = match (n.delivered, n.removed, &n.error) {
            (true, true, _) => format!("{} delivered to the SM-DP+ and removed", n.seq),
            (true, false, e) => format!(
                "{} delivered, not removed ({}); remove it with `notifications remove {}`",
                n.seq,
                e.as_deref().unwrap_or("?"),
                n.seq
            ),
            (false, _, e) => format!(
                "{} not delivered ({}); retry with `notifications process {} --remove`",
                n.seq,
                e.as_deref().unwrap_or("?"),
                n.seq
            ),
        };
        let mut items = vec![
            ("Installed", format!("profile {} (disabled)", self.iccid)),
            ("AID", self.aid.clone()),
            ("SM-DP+", self.smdp_address.clone()),
        ];
        if let Some(s) = &self.service_provider {
            items.push(("Provider", s.clone()));
        }
        if let Some(s) = &self.profile_name {
            items.push(("Name", s.clone()));
        }
        items.push(("Notification", outcome));
        rows(&items)
    }
}

/// One progress line (stderr): every step, the BPP's segments as one line.
fn progress_line(step: Step) -> Option<String> {
    match step {
        Step::LoadBoundProfilePackage(s) if s.index == 1 => Some(format!(
            "download: card: LoadBoundProfilePackage ({} segments)",
            s.count
        )),
        Step::LoadBoundProfilePackage(_) => None,
        s => Some(format!("download: {s}")),
    }
}

pub fn run(app: &App, a: DownloadArgs) -> Result<(), CliError> {
    let code = ActivationCode::parse(&a.activation_code)
        .map_err(|e| CliError::Usage(format!("--activation-code: {e}")))?;
    let confirmation_code = a.confirmation_code.read()?;
    if let Some(imei) = &a.imei {
        check_imei(imei)?;
    }
    let order = Order {
        code: &code,
        confirmation_code: confirmation_code.as_ref(),
        device_info: device_info(a.imei.as_deref()),
    };
    let address = code.address.to_string();
    let mut transport = HttpsTransport::new(&address, trust(&a.smdp_ca))
        .map_err(|e| transport_error(&address, e))?;
    let start = Instant::now();
    let mut marks = Vec::new();
    let (done, _) = app.with_es10(|es10| {
        let mut es9 = Es9Client::new(&mut transport, &address);
        download(es10, &mut es9, &order, &mut |step| {
            marks.push((step.on_card(), Instant::now()));
            if let Some(line) = progress_line(step) {
                eprintln!("{line}");
            }
        })
    })?;
    let mut report = DownloadReport::from(done);
    report.timing = Timing::from_marks(start, &marks, Instant::now());
    app.out.emit(&report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lpa::es10b::Segment;

    #[test]
    fn timing_sums_each_step_until_the_next_by_side() {
        use std::time::Duration;
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        // connect 0-2 (card), GetEUICCChallenge 2-3 (card), initiateAuthentication 3-10
        // (SM-DP+), AuthenticateServer 10-14 (card), end at 14.
        let marks = [(true, at(2)), (false, at(3)), (true, at(10))];
        let t = Timing::from_marks(t0, &marks, at(14));
        assert_eq!(t.total_ms, 14.0);
        assert_eq!(t.smdp_ms, 7.0);
        assert_eq!(t.card_ms, 7.0);
        assert!(Step::LoadBoundProfilePackage(Segment {
            index: 1,
            count: 1,
            tag: 0x86
        })
        .on_card());
        assert!(!Step::GetBoundProfilePackage.on_card());
    }

    #[test]
    fn segments_make_one_progress_line() {
        let seg = |index| {
            Step::LoadBoundProfilePackage(Segment {
                index,
                count: 9,
                tag: 0x86,
            })
        };
        assert_eq!(
            progress_line(seg(1)).as_deref(),
            Some("download: card: LoadBoundProfilePackage (9 segments)")
        );
        assert_eq!(progress_line(seg(2)), None);
        assert_eq!(
            progress_line(Step::AuthenticateClient).as_deref(),
            Some("download: SM-DP+: authenticateClient")
        );
    }

    #[test]
    fn the_report_says_what_became_of_the_notification() {
        let mut r = DownloadReport {
            iccid: "8949449999999990023".into(),
            aid: "A0000005591010FFFFFFFF8900001000".into(),
            smdp_address: "smdp.example:8443".into(),
            transaction_id: "00".into(),
            service_provider: Some("TestSPN".into()),
            profile_name: None,
            notification: NotificationView {
                seq: 4,
                delivered: true,
                removed: true,
                error: None,
            },
            timing: Timing::default(),
        };
        let h = r.human();
        assert!(h.contains("profile 8949449999999990023 (disabled)"), "{h}");
        assert!(h.contains("4 delivered to the SM-DP+ and removed"), "{h}");
        r.notification.delivered = false;
        r.notification.removed = false;
        r.notification.error = Some("cannot reach".into());
        assert!(r
            .human()
            .contains("retry with `notifications process 4 --remove`"));
        let v: serde_json::Value = serde_json::from_str(&crate::output::render(true, &r)).unwrap();
        assert_eq!(v["iccid"], "8949449999999990023");
        assert_eq!(v["notification"]["delivered"], false);
        assert_eq!(v["smdp_address"], "smdp.example:8443");
    }
}
