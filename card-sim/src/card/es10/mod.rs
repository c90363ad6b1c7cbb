//! The ES10 functions of the ISD-R (SGP.22 §5.7), executed on the card's state. A whole
//! STORE DATA message is decoded by `apdu::sgp22::es10::Es10Request::decode`, then dispatched:
//!
//! - [`info`]: GetEID, GetEUICCInfo1/2, GetEUICCChallenge, configured addresses,
//!   SetDefaultDpAddress, GetRAT.
//! - [`profiles`]: GetProfilesInfo, Enable/Disable/DeleteProfile, eUICCMemoryReset,
//!   SetNickname.
//! - [`notifications`]: ListNotification, RemoveNotificationFromList.
//! - LoadBoundProfilePackage messages (while a download session is prepared or
//!   loading) go to `card::es10b::load` before any decoding; ES10b requests
//!   (AuthenticateServer, PrepareDownload, CancelSession, RetrieveNotificationsList)
//!   are decoded next and run by `card::es10b`.
//!
//! Errors outside the functions' own result codes:
//! - an unknown top-level tag (for example SGP.32 GetCerts `BF56`, which pySim sends to
//!   tell IoT eUICCs apart) answers `6A88` "referenced data not found": STORE DATA itself
//!   is supported (so not `6D00`), the data object it refers to is not (ISO/IEC 7816-4
//!   Table 6; pySim's ISD-R SW table names `6A88` the same way);
//! - malformed content of a known function answers `6A80`, except where SGP.22 gives
//!   the function an error code for it: GetProfilesInfo `BF2D { 81 01 }`
//!   (incorrectInputValues) and ListNotification `BF28 { 81 7F }` (undefinedError).

pub mod info;
pub mod notifications;
pub mod profiles;

use super::Euicc;
use apdu::sgp22::es10::{
    result, tags, DecodeError, Es10Request, NotificationListResponse, ProfileInfoResponse,
};
use apdu::sgp22::es10b::Es10bRequest;
use apdu::StatusWord;

/// GetProfilesInfo's `incorrectInputValues` (SGP.22 §5.7.15).
const INCORRECT_INPUT_VALUES: u8 = 1;

impl Euicc {
    /// Runs one ES10 message; returns the response message or the SW to answer.
    pub(super) fn es10(&mut self, message: &[u8]) -> Result<Vec<u8>, StatusWord> {
        // LoadBoundProfilePackage (SGP.22 §5.7.6): its messages are not whole TLVs,
        // so they are told apart by the download session's state first.
        if super::es10b::load::is_bpp_message(&self.vol.download, message) {
            return self.load_bpp(message);
        }
        // ES10b requests (SGP.22 §5.7.11-§5.7.14) go to `card::es10b`; a malformed one
        // answers `6A80`.
        match Es10bRequest::decode(message) {
            Ok(Some(req)) => return Ok(self.es10b(req)),
            Err(_) => return Err(StatusWord::IncorrectData),
            Ok(None) => {}
        }
        let req = match Es10Request::decode(message) {
            Ok(r) => r,
            Err(DecodeError::Unknown(_)) => return Err(StatusWord::ReferencedDataNotFound),
            Err(DecodeError::Malformed(tags::PROFILES_INFO, _)) => {
                return Ok(ProfileInfoResponse::Error(INCORRECT_INPUT_VALUES).encode())
            }
            Err(DecodeError::Malformed(tags::LIST_NOTIFICATION, _)) => {
                return Ok(NotificationListResponse::Error(result::UNDEFINED).encode())
            }
            // Malformed, not BER-TLV, or a reason a later apdu adds.
            Err(_) => return Err(StatusWord::IncorrectData),
        };
        Ok(self.execute_es10(req))
    }

    fn execute_es10(&mut self, req: Es10Request) -> Vec<u8> {
        use Es10Request::*;
        match req {
            GetEid => self.get_eid(),
            GetEuiccInfo1 => self.euicc_info1(),
            GetEuiccInfo2 => self.euicc_info2(),
            GetEuiccChallenge => self.challenge(),
            GetConfiguredAddresses => self.configured_addresses(),
            SetDefaultDpAddress(a) => self.set_default_dp(a),
            GetRat => self.rat(),
            GetProfilesInfo(r) => self.profiles_info(&r),
            EnableProfile { target, refresh } => self.enable(&target, refresh),
            DisableProfile { target, refresh } => self.disable(&target, refresh),
            DeleteProfile(target) => self.delete(&target),
            MemoryReset(o) => self.memory_reset(o),
            SetNickname { iccid, nickname } => self.set_nickname(&iccid, nickname),
            ListNotification { filter } => self.list_notifications(filter),
            RemoveNotification(seq) => self.remove_notification(seq),
        }
    }
}
