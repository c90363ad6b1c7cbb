//! The ES10b messages of SGP.22 v2.x §5.7 (LPA <-> ISD-R, profile download and
//! notifications), encoders and decoders for both sides, in the style of
//! [`crate::sgp22::es10`]: AuthenticateServer (`BF38`, §5.7.13), PrepareDownload
//! (`BF21`, §5.7.14), ProfileInstallationResult (`BF37`, §5.7.6, the answer to the last
//! LoadBoundProfilePackage segment), CancelSession (`BF41`, §5.7.12) and
//! RetrieveNotificationsList (`BF2B`, §5.7.11). GetEUICCChallenge (`BF2E`) and
//! GetEUICCInfo1 (`BF20`) are in `es10`; ListNotification and RemoveNotificationFromList
//! too. The BPP segments (`BF36` ...) belong to [`crate::sgp22::bpp`].
//!
//! Tags were checked against the SGP.22 ASN.1 module `RSPDefinitions` (as osmocom pySim
//! ships it, `pySim/esim/asn1/rsp/rsp.asn`; AUTOMATIC TAGS, so a SEQUENCE or CHOICE in
//! which no component carries a tag numbers its components `[0]`, `[1]`...) and against
//! what lpac 2.3 (`euicc/es10b.c`) sends and reads:
//! - the answers of AuthenticateServer and PrepareDownload wrap their CHOICE in `A0`
//!   (ok) or `A1` (error); CancelSession's error is `81`, not a universal INTEGER;
//! - `EuiccCancelSessionSigned` and `ErrorResult` have no tagged component, so their
//!   fields are `80`, `81`, `82`.
//!
//! Signed parts keep the exact bytes they arrived as ([`Encoded`]): a signature covers
//! those bytes, and fields the card echoes (`ctxParams1`) go back unchanged. What each
//! signature covers is one function each ([`signed_data`]).
//!
//! (Just over 400 lines: the INTEGER enumerations of the ASN.1 module are declared here
//! once, for every message of this module.)

mod authenticate;
mod cancel;
mod common;
mod download;
mod install_result;
pub mod metadata;
mod notifications;

pub use authenticate::{
    AuthenticateResponseOk, AuthenticateServerRequest, AuthenticateServerResponse, CtxParams1,
    DeviceInfo, EuiccSigned1, ServerSigned1,
};
pub use cancel::{CancelSessionRequest, CancelSessionResponse, EuiccCancelSessionSigned};
pub use common::*;
pub use download::{
    EuiccSigned2, PrepareDownloadRequest, PrepareDownloadResponse, PrepareDownloadResponseOk,
    SmdpSigned2,
};
pub use install_result::{FinalResult, ProfileInstallationResult, ProfileInstallationResultData};
pub use metadata::{NotificationConfig, OperatorId, StoreMetadata};
pub use notifications::{
    OtherSignedNotification, PendingNotification, RetrieveNotificationsListRequest,
    RetrieveNotificationsListResponse, SearchCriteria,
};

use crate::error::Error;
use crate::iso7816::tlv;

/// An ES10b request as the LPA sends it in STORE DATA (the BPP segments excepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Es10bRequest {
    AuthenticateServer(Box<AuthenticateServerRequest>),
    PrepareDownload(Box<PrepareDownloadRequest>),
    CancelSession(CancelSessionRequest),
    RetrieveNotificationsList(RetrieveNotificationsListRequest),
}

impl Es10bRequest {
    /// Whether `tag` is one of the requests [`Es10bRequest::decode`] reads.
    pub fn is_request_tag(tag: u32) -> bool {
        matches!(
            tag,
            tags::AUTHENTICATE_SERVER
                | tags::PREPARE_DOWNLOAD
                | tags::CANCEL_SESSION
                | tags::RETRIEVE_NOTIFICATIONS
        )
    }

    /// Decodes a whole reassembled STORE DATA message; `Ok(None)` when its tag is no
    /// ES10b request (an ES10 function or a BPP segment), `Err` when it is one but
    /// malformed (with the tag, so the card can answer that function's error).
    pub fn decode(msg: &[u8]) -> std::result::Result<Option<Es10bRequest>, (u32, Error)> {
        let Ok((tag, _, _)) = tlv::read_tag(msg, 0) else {
            return Ok(None);
        };
        if !Self::is_request_tag(tag) {
            return Ok(None);
        }
        let parsed = tlv::parse(msg).and_then(|t| {
            if !t.tag().is_constructed() {
                return Err(Error::Malformed("not constructed"));
            }
            Ok(match tag {
                tags::AUTHENTICATE_SERVER => Es10bRequest::AuthenticateServer(Box::new(
                    AuthenticateServerRequest::from_tlv(&t)?,
                )),
                tags::PREPARE_DOWNLOAD => {
                    Es10bRequest::PrepareDownload(Box::new(PrepareDownloadRequest::from_tlv(&t)?))
                }
                tags::CANCEL_SESSION => {
                    Es10bRequest::CancelSession(CancelSessionRequest::from_tlv(&t)?)
                }
                _ => Es10bRequest::RetrieveNotificationsList(
                    RetrieveNotificationsListRequest::from_tlv(&t)?,
                ),
            })
        });
        parsed.map(Some).map_err(|e| (tag, e))
    }

    /// Encodes the request as lpac does.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Es10bRequest::AuthenticateServer(r) => r.encode(),
            Es10bRequest::PrepareDownload(r) => r.encode(),
            Es10bRequest::CancelSession(r) => r.encode(),
            Es10bRequest::RetrieveNotificationsList(r) => r.encode(),
        }
    }
}

#[cfg(test)]
mod tests;
