//! Pending notifications (SGP.22 v2.x §3.5): the card keeps a signed notification for
//! each install, enable, disable and delete until the LPA has delivered it to the SM-DP+
//! the notification names (its `notificationAddress`, §5.7.9) and removed it.
//!
//! Processing one, as `lpac notification process` does: RetrieveNotificationsList for its
//! sequence number (`BF2B`), handleNotification at its own SM-DP+ address (ES9+, §5.6.4),
//! then, when asked (`--remove`) and only once the SM-DP+ has it,
//! RemoveNotificationFromList (`BF30`). Each notification has its own outcome; one that
//! fails does not stop the others.

use crate::errors::CliError;
use crate::es9p::Es9Transport;
use crate::lpa::es9::Es9Client;
use crate::lpa::session::Es10Session;
use crate::reader::CardLink;
use apdu::sgp22::es10::{events, NotificationMetadata};

/// The names of the events in a notification's event bit string (§5.7.9).
pub fn event_names(bits: u8) -> Vec<&'static str> {
    [
        (events::INSTALL, "install"),
        (events::ENABLE, "enable"),
        (events::DISABLE, "disable"),
        (events::DELETE, "delete"),
    ]
    .iter()
    .filter(|(b, _)| bits & b != 0)
    .map(|(_, n)| *n)
    .collect()
}

/// How [`process`] reaches the SM-DP+ at an address (HTTPS in the CLI, in process in
/// tests).
pub type TransportFor<'f, 't> =
    dyn FnMut(&str) -> Result<Box<dyn Es9Transport + 't>, CliError> + 'f;

/// What happened to one notification.
#[derive(Debug)]
pub struct Processed {
    pub metadata: NotificationMetadata,
    pub delivered: bool,
    pub removed: bool,
    /// Why it was not delivered (or not removed).
    pub error: Option<CliError>,
}

/// Delivers the pending notification `seq` to its SM-DP+ and, with `remove`, removes it
/// from the card once delivered. `transport_for` gives the transport to an address.
/// Errors of the card (no such notification) are errors; errors of the SM-DP+ are the
/// outcome's.
pub fn process<'t, L: CardLink>(
    es10: &mut Es10Session<'_, L>,
    seq: u32,
    remove: bool,
    transport_for: &mut TransportFor<'_, 't>,
) -> Result<Processed, CliError> {
    let items = es10.retrieve_notifications(Some(seq))?;
    let item = items
        .into_iter()
        .find(|n| n.metadata().seq == seq)
        .ok_or_else(|| {
            CliError::malformed(
                "RetrieveNotificationsList",
                format!("the card served no notification {seq}"),
            )
        })?;
    let metadata = item.metadata().clone();
    let delivered = transport_for(&metadata.address).and_then(|mut t| {
        Es9Client::new(t.as_mut(), &metadata.address).handle_notification(&item.encode())
    });
    if let Err(e) = delivered {
        return Ok(Processed {
            metadata,
            delivered: false,
            removed: false,
            error: Some(e),
        });
    }
    if !remove {
        return Ok(Processed {
            metadata,
            delivered: true,
            removed: false,
            error: None,
        });
    }
    Ok(match es10.remove_notification(seq) {
        Ok(()) => Processed {
            metadata,
            delivered: true,
            removed: true,
            error: None,
        },
        Err(e) => Processed {
            metadata,
            delivered: true,
            removed: false,
            error: Some(e),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_bits_have_names() {
        assert_eq!(event_names(events::INSTALL), vec!["install"]);
        assert_eq!(
            event_names(events::ENABLE | events::DELETE),
            vec!["enable", "delete"]
        );
        assert!(event_names(0).is_empty());
    }
}
