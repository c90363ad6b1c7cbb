//! `sm-cli -r CARD notifications list | process [SEQ|--all] [--remove] [--smdp-ca FILE] |
//! remove SEQ` (SGP.22 §3.5): the card's pending notifications (ListNotification `BF28`),
//! delivered to each one's own SM-DP+ (RetrieveNotificationsList `BF2B`, ES9+
//! handleNotification over HTTPS; `lpa::notifications`), and removed from the card
//! (RemoveNotificationFromList `BF30`): with `process --remove` only once delivered,
//! with `remove` without delivering.
//!
//! `process` prints a line per notification on stderr; when one could not be delivered
//! (or removed), the command fails with the first such error, after trying the others.

use crate::commands::download::trust;
use crate::context::App;
use crate::errors::CliError;
use crate::es9p::client::HttpsTransport;
use crate::es9p::Es9Transport;
use crate::lpa::es9::transport_error;
use crate::lpa::notifications::{event_names, process, Processed};
use crate::output::{listing, Report};
use apdu::sgp22::es10::NotificationMetadata;
use clap::{ArgGroup, Subcommand};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum NotificationsCmd {
    /// List the pending notifications (ListNotification)
    List,
    /// Deliver notifications to their SM-DP+ (RetrieveNotificationsList, ES9+ handleNotification)
    #[command(group(ArgGroup::new("which").required(true).args(["seq", "all"])))]
    Process {
        /// The notification's sequence number
        seq: Option<u32>,
        /// Every pending notification
        #[arg(long)]
        all: bool,
        /// Remove each from the card once its SM-DP+ has it (RemoveNotificationFromList)
        #[arg(long)]
        remove: bool,
        /// CA certificates (PEM) the SM-DP+'s TLS certificate must chain to, or `system`
        /// for the operating system's roots [default: the project's TEST CI,
        /// card-sim/test-pki]
        #[arg(long, value_name = "FILE")]
        smdp_ca: Option<PathBuf>,
    },
    /// Remove a notification from the card without delivering it (RemoveNotificationFromList)
    Remove {
        /// The notification's sequence number
        seq: u32,
    },
}

#[derive(Debug, Serialize)]
struct NotificationView {
    seq: u32,
    events: Vec<&'static str>,
    iccid: Option<String>,
    smdp_address: String,
}

impl From<&NotificationMetadata> for NotificationView {
    fn from(m: &NotificationMetadata) -> NotificationView {
        NotificationView {
            seq: m.seq,
            events: event_names(m.events),
            iccid: m.iccid.map(|i| i.digits()),
            smdp_address: m.address.clone(),
        }
    }
}

fn row(n: &NotificationView) -> Vec<String> {
    vec![
        n.seq.to_string(),
        n.events.join(","),
        n.iccid.clone().unwrap_or_default(),
        n.smdp_address.clone(),
    ]
}

#[derive(Debug, Serialize)]
struct List {
    notifications: Vec<NotificationView>,
}

impl Report for List {
    fn human(&self) -> String {
        listing(
            &self.notifications,
            "No pending notifications.",
            &["SEQ", "EVENTS", "ICCID", "SM-DP+"],
            row,
        )
    }
}

#[derive(Debug, Serialize)]
struct ProcessedView {
    #[serde(flatten)]
    notification: NotificationView,
    delivered: bool,
    removed: bool,
}

#[derive(Debug, Serialize)]
struct ProcessReport {
    processed: Vec<ProcessedView>,
}

impl Report for ProcessReport {
    fn human(&self) -> String {
        if self.processed.is_empty() {
            return "No pending notifications.".into();
        }
        self.processed
            .iter()
            .map(|p| {
                let n = &p.notification;
                format!(
                    "Notification {} ({}) delivered to {}{}.",
                    n.seq,
                    n.events.join(","),
                    n.smdp_address,
                    if p.removed { " and removed" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[derive(Debug, Serialize)]
struct Removed {
    removed: u32,
}

impl Report for Removed {
    fn human(&self) -> String {
        format!("Removed notification {}.", self.removed)
    }
}

/// The stderr line for one processed notification.
fn outcome_line(p: &Processed) -> String {
    let m = &p.metadata;
    let what = format!(
        "notification {} ({}) to {}",
        m.seq,
        event_names(m.events).join(","),
        m.address
    );
    match (&p.error, p.delivered, p.removed) {
        (None, true, true) => format!("{what}: delivered, removed"),
        (None, _, _) => format!("{what}: delivered"),
        (Some(e), true, _) => format!("{what}: delivered, not removed: {e}"),
        (Some(e), false, _) => format!("{what}: not delivered: {e}"),
    }
}

pub fn run(app: &App, cmd: NotificationsCmd) -> Result<(), CliError> {
    match cmd {
        NotificationsCmd::List => {
            let (list, _) = app.with_es10(|s| s.list_notifications())?;
            app.out.emit(&List {
                notifications: list.iter().map(NotificationView::from).collect(),
            })
        }
        NotificationsCmd::Remove { seq } => {
            app.with_es10(|s| s.remove_notification(seq))?;
            app.out.emit(&Removed { removed: seq })
        }
        NotificationsCmd::Process {
            seq,
            all: _,
            remove,
            smdp_ca,
        } => {
            let trust = trust(&smdp_ca);
            let mut transport_for = |address: &str| -> Result<Box<dyn Es9Transport>, CliError> {
                HttpsTransport::new(address, trust.clone())
                    .map(|t| Box::new(t) as Box<dyn Es9Transport>)
                    .map_err(|e| transport_error(address, e))
            };
            let (outcomes, _) = app.with_es10(|s| {
                let seqs = match seq {
                    Some(n) => vec![n],
                    None => s.list_notifications()?.iter().map(|m| m.seq).collect(),
                };
                let mut outcomes = Vec::new();
                for n in seqs {
                    let p = process(s, n, remove, &mut transport_for)?;
                    eprintln!("{}", outcome_line(&p));
                    outcomes.push(p);
                }
                Ok(outcomes)
            })?;
            let mut processed = Vec::new();
            let mut first_error = None;
            let failed = outcomes.iter().filter(|p| p.error.is_some()).count();
            for p in outcomes {
                processed.push(ProcessedView {
                    notification: NotificationView::from(&p.metadata),
                    delivered: p.delivered,
                    removed: p.removed,
                });
                if first_error.is_none() {
                    first_error = p.error;
                }
            }
            match first_error {
                None => app.out.emit(&ProcessReport { processed }),
                Some(e) if processed.len() == 1 => Err(e),
                Some(e) => {
                    eprintln!(
                        "notifications: {failed} of {} not processed; the first error follows",
                        processed.len()
                    );
                    Err(e)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apdu::sgp22::es10::{events, Iccid};

    fn meta() -> NotificationMetadata {
        NotificationMetadata {
            seq: 7,
            events: events::INSTALL,
            address: "smdp.example:8443".into(),
            iccid: Some(Iccid::from_digits("8949449999999990023").unwrap()),
        }
    }

    #[test]
    fn list_and_outcomes_read_well() {
        let l = List {
            notifications: vec![NotificationView::from(&meta())],
        };
        assert_eq!(
            l.human(),
            "SEQ  EVENTS   ICCID                SM-DP+\n\
             7    install  8949449999999990023  smdp.example:8443"
        );
        let v: serde_json::Value = serde_json::from_str(&crate::output::render(true, &l)).unwrap();
        assert_eq!(v["notifications"][0]["events"][0], "install");
        let p = Processed {
            metadata: meta(),
            delivered: false,
            removed: false,
            error: Some(CliError::SmdpUnreachable {
                address: "smdp.example:8443".into(),
                detail: "connection refused".into(),
            }),
        };
        assert_eq!(
            outcome_line(&p),
            "notification 7 (install) to smdp.example:8443: not delivered: \
             cannot reach the SM-DP+ at smdp.example:8443: connection refused"
        );
        let r = ProcessReport {
            processed: vec![ProcessedView {
                notification: NotificationView::from(&meta()),
                delivered: true,
                removed: true,
            }],
        };
        assert_eq!(
            r.human(),
            "Notification 7 (install) delivered to smdp.example:8443 and removed."
        );
    }
}
