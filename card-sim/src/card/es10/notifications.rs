//! ListNotification (SGP.22 §5.7.9) and RemoveNotificationFromList (§5.7.10) over the
//! notifications that enable, disable and delete create (see [`super::profiles`]).
//! The optional filter is the `NotificationEvent` bit string: only those events are listed.

use super::super::Euicc;
use apdu::iso7816::tlv::ConsTag;
use apdu::sgp22::es10::{result, tags, NotificationListResponse, ResultCode};

impl Euicc {
    pub(super) fn list_notifications(&self, filter: Option<u8>) -> Vec<u8> {
        let list = self
            .state
            .notifications
            .iter()
            .filter(|n| filter.is_none_or(|f| f & n.event.bit() != 0))
            .map(|n| n.metadata())
            .collect();
        NotificationListResponse::List(list).encode()
    }

    pub(super) fn remove_notification(&mut self, seq: u32) -> Vec<u8> {
        let code = self.change(|s| {
            let before = s.notifications.len();
            s.notifications.retain(|n| n.seq != seq);
            if s.notifications.len() == before {
                result::NOT_FOUND
            } else {
                result::OK
            }
        });
        ResultCode::answer(const { ConsTag::of(tags::REMOVE_NOTIFICATION) }, code)
    }
}
