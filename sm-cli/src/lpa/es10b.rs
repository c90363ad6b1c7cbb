//! The card side of a profile download and of notifications (SGP.22 v2.x §5.7), typed on
//! the ES10 session: GetEUICCChallenge (`BF2E`), GetEUICCInfo1 (`BF20`),
//! AuthenticateServer (`BF38`, §5.7.13), PrepareDownload (`BF21`, §5.7.14),
//! LoadBoundProfilePackage (§5.7.6: the BPP cut into its segments as lpac cuts it,
//! `apdu::sgp22::bpp::split_segments`, each segment its own ES10 message), CancelSession
//! (`BF41`, §5.7.12), ListNotification (`BF28`, §5.7.9), RetrieveNotificationsList
//! (`BF2B`, §5.7.11) and RemoveNotificationFromList (`BF30`, §5.7.10).
//!
//! ES9+ carries the card's answers to the SM-DP+ byte for byte (base64), so the
//! functions whose answers go on return them as they came ([`Answer`]) beside their
//! decoded value. A refusal of the card (an error CHOICE, a failed install) becomes a
//! [`CliError::Es10`] with the function's meaning of its code.

use crate::errors::{es10_error, es10_function, CliError};
use crate::lpa::session::Es10Session;
use crate::reader::{CardLink, Secrecy};
use apdu::sgp22::bpp::split_segments;
use apdu::sgp22::es10::{
    ChallengeResponse, Es10Request, EuiccInfo1, NotificationListResponse, NotificationMetadata,
    ResultCode,
};
use apdu::sgp22::es10b::{
    tags, AuthenticateErrorCode, AuthenticateResponseOk, AuthenticateServerResponse, BppCommandId,
    CancelSessionError, CancelSessionReason, CancelSessionRequest, CancelSessionResponse,
    DownloadErrorCode, ErrorReason, FinalResult, PendingNotification, PrepareDownloadResponse,
    PrepareDownloadResponseOk, ProfileInstallationResult, RetrieveNotificationsError,
    RetrieveNotificationsListRequest, RetrieveNotificationsListResponse, SearchCriteria,
};

/// A card's answer as decoded and as it came (the bytes ES9+ forwards).
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub value: T,
    pub der: Vec<u8>,
}

fn decoded<T>(tag: u32, r: apdu::Result<T>) -> Result<T, CliError> {
    r.map_err(|e| CliError::malformed(function(tag), e))
}

/// The name of an ES10 or ES10b function, for messages.
pub fn function(tag: u32) -> &'static str {
    tags::name(tag).unwrap_or_else(|| es10_function(tag))
}

/// A refusal of an ES10b function with its code and meaning.
fn refused(tag: u32, code: u8, meaning: impl Into<String>) -> CliError {
    CliError::Es10 {
        function: function(tag),
        code,
        meaning: meaning.into(),
    }
}

/// authenticateErrorCode (SGP.22 §5.7.13).
pub fn authenticate_meaning(code: AuthenticateErrorCode) -> &'static str {
    use AuthenticateErrorCode::*;
    match code {
        InvalidCertificate => "the SM-DP+ certificate (CERT.DPauth) is invalid",
        InvalidSignature => "the SM-DP+ signature (serverSignature1) does not verify",
        UnsupportedCurve => "the SM-DP+ uses a curve the card does not support",
        NoSessionContext => "the card has no download session (no fresh eUICC challenge)",
        InvalidOid => "the SM-DP+ OID is invalid",
        EuiccChallengeMismatch => "the SM-DP+ signed another eUICC challenge",
        CiPkUnknown => "the card does not know the CI the SM-DP+ asked it to use",
        UndefinedError | Other(_) => "undefined error",
    }
}

/// downloadErrorCode (SGP.22 §5.7.14).
pub fn download_meaning(code: DownloadErrorCode) -> &'static str {
    use DownloadErrorCode::*;
    match code {
        InvalidCertificate => "the SM-DP+ certificate (CERT.DPpb) is invalid",
        InvalidSignature => "the SM-DP+ signature (smdpSignature2) does not verify",
        UnsupportedCurve => "the SM-DP+ uses a curve the card does not support",
        NoSessionContext => "the card has no authenticated download session",
        InvalidTransactionId => "the transactionId is not the card's session's",
        UndefinedError | Other(_) => "undefined error",
    }
}

/// The failing command of a ProfileInstallationResult (SGP.22 §5.7.6 bppCommandId).
pub fn bpp_command_name(c: BppCommandId) -> String {
    use BppCommandId::*;
    match c {
        InitialiseSecureChannel => "InitialiseSecureChannel".into(),
        ConfigureIsdp => "ConfigureISDP".into(),
        StoreMetadata | StoreMetadata2 => "StoreMetadata".into(),
        ReplaceSessionKeys => "ReplaceSessionKeys".into(),
        LoadProfileElements => "LoadProfileElements".into(),
        Other(n) => format!("BPP command {n}"),
    }
}

/// errorReason of a ProfileInstallationResult (SGP.22 §5.7.6).
pub fn install_meaning(r: ErrorReason) -> &'static str {
    use ErrorReason::*;
    match r {
        IncorrectInputValues => "incorrect input values",
        InvalidSignature => "invalid signature",
        InvalidTransactionId => "invalid transactionId",
        UnsupportedCrtValues => "unsupported CRT values",
        UnsupportedRemoteOperationType => "unsupported remote operation type",
        UnsupportedProfileClass => "unsupported profile class",
        Scp03tStructureError => "SCP03t structure error",
        Scp03tSecurityError => "SCP03t security error (MAC or decryption)",
        IccidAlreadyExistsOnEuicc => "a profile with this ICCID is already on the card",
        InsufficientMemoryForProfile => "not enough memory for the profile",
        InstallFailedDueToInterruption => "the install was interrupted",
        PeProcessingError => "a profile element could not be processed",
        IccidMismatch => "the ICCID of the metadata and of the profile differ",
        TestProfileInvalidNaaKey => "a test profile with an invalid NAA key",
        PprNotAllowed => "a profile policy rule is not allowed",
        UnknownError | Other(_) => "unknown error",
    }
}

/// The error for a ProfileInstallationResult that is not a success (the reason's code,
/// so the exit code is 20 + reason for 1-6).
pub fn install_error(pir: &ProfileInstallationResult) -> Option<CliError> {
    match &pir.data.value().final_result {
        FinalResult::Success { .. } => None,
        FinalResult::Error {
            command, reason, ..
        } => Some(refused(
            tags::BOUND_PROFILE_PACKAGE,
            u8::from(*reason),
            format!(
                "{} (at {})",
                install_meaning(*reason),
                bpp_command_name(*command)
            ),
        )),
    }
}

/// What a segment of LoadBoundProfilePackage was (for progress lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// 1-based index and count of the ES10 messages.
    pub index: usize,
    pub count: usize,
    /// The segment's first tag byte (`BF`, `A0`, `A1`, `88`, `A2`, `A3`, `86`).
    pub tag: u8,
}

impl<L: CardLink> Es10Session<'_, L> {
    /// GetEUICCChallenge (`BF2E`): starts the card's download session.
    pub fn get_euicc_challenge(&mut self) -> Result<[u8; 16], CliError> {
        let req = Es10Request::GetEuiccChallenge;
        let a = self.request(&req)?;
        Ok(decoded(req.tag(), ChallengeResponse::decode(&a))?.0)
    }

    /// GetEUICCInfo1 (`BF20`).
    pub fn get_euicc_info1(&mut self) -> Result<Answer<EuiccInfo1>, CliError> {
        let req = Es10Request::GetEuiccInfo1;
        let der = self.request(&req)?;
        let value = decoded(req.tag(), EuiccInfo1::decode(&der))?;
        Ok(Answer { value, der })
    }

    /// AuthenticateServer (`BF38`) with an encoded request (the SM-DP+'s signed parts
    /// as they came, and ctxParams1). The answer is returned even when it is the
    /// card's error (the SM-DP+ is told in authenticateClient, SGP.22 §3.1.3 step 10);
    /// use [`authenticate_ok`] to turn it into a result.
    pub fn authenticate_server(
        &mut self,
        msg: &[u8],
    ) -> Result<Answer<AuthenticateServerResponse>, CliError> {
        let tag = tags::AUTHENTICATE_SERVER;
        let der = self.call_with(tag, msg, Secrecy::Public)?;
        let value = decoded(tag, AuthenticateServerResponse::decode(&der))?;
        Ok(Answer { value, der })
    }

    /// PrepareDownload (`BF21`) with an encoded request.
    pub fn prepare_download(
        &mut self,
        msg: &[u8],
    ) -> Result<Answer<PrepareDownloadResponse>, CliError> {
        let tag = tags::PREPARE_DOWNLOAD;
        let der = self.call_with(tag, msg, Secrecy::Public)?;
        let value = decoded(tag, PrepareDownloadResponse::decode(&der))?;
        Ok(Answer { value, der })
    }

    /// LoadBoundProfilePackage (SGP.22 §5.7.6): `bpp` (`BF36`) cut into its segments
    /// (§2.5.5, as lpac cuts it), each sent as its own ES10 message; `progress` is told
    /// before each. Every segment but the last answers without data; an answer before
    /// the last is the card's ProfileInstallationResult of a failed install, and ends
    /// the load. Returns the ProfileInstallationResult, success or not (it is the
    /// notification the SM-DP+ must get either way).
    pub fn load_bound_profile_package(
        &mut self,
        bpp: &[u8],
        progress: &mut dyn FnMut(Segment),
    ) -> Result<Answer<ProfileInstallationResult>, CliError> {
        let tag = tags::BOUND_PROFILE_PACKAGE;
        let segments = split_segments(bpp).map_err(|e| CliError::Malformed {
            what: "the SM-DP+'s bound profile package".into(),
            detail: e.to_string(),
        })?;
        let count = segments.len();
        for (i, seg) in segments.iter().enumerate() {
            progress(Segment {
                index: i + 1,
                count,
                tag: seg.first().copied().unwrap_or(0),
            });
            let der = self.call_with(tag, seg, Secrecy::Public)?;
            if der.is_empty() {
                continue;
            }
            let value = decoded(tag, ProfileInstallationResult::decode(&der))?;
            return Ok(Answer { value, der });
        }
        Err(CliError::malformed(
            function(tag),
            "the card gave no ProfileInstallationResult after the last segment",
        ))
    }

    /// CancelSession (`BF41`, §5.7.12): returns the card's signed answer (for the SM-DP+'s
    /// cancelSession).
    pub fn cancel_session(
        &mut self,
        transaction_id: &[u8],
        reason: CancelSessionReason,
    ) -> Result<Answer<CancelSessionResponse>, CliError> {
        let tag = tags::CANCEL_SESSION;
        let msg = CancelSessionRequest {
            transaction_id: transaction_id.to_vec(),
            reason,
        }
        .encode();
        let der = self.call_with(tag, &msg, Secrecy::Public)?;
        let value = decoded(tag, CancelSessionResponse::decode(&der))?;
        if let CancelSessionResponse::Error(e) = value {
            let meaning = match e {
                CancelSessionError::InvalidTransactionId => {
                    "the card has no session with this transactionId"
                }
                _ => "undefined error",
            };
            return Err(refused(tag, u8::from(e), meaning));
        }
        Ok(Answer { value, der })
    }

    /// ListNotification (`BF28`, §5.7.9): the pending notifications' metadata.
    pub fn list_notifications(&mut self) -> Result<Vec<NotificationMetadata>, CliError> {
        let req = Es10Request::ListNotification { filter: None };
        let a = self.request(&req)?;
        match decoded(req.tag(), NotificationListResponse::decode(&a))? {
            NotificationListResponse::List(l) => Ok(l),
            NotificationListResponse::Error(code) => Err(refused(
                req.tag(),
                code,
                if code == 127 {
                    "undefined error"
                } else {
                    "unknown result code"
                },
            )),
        }
    }

    /// RetrieveNotificationsList (`BF2B`, §5.7.11): the signed notifications, all or the
    /// one with sequence number `seq`. A sequence number that is not pending is an
    /// error (noResultAvailable).
    pub fn retrieve_notifications(
        &mut self,
        seq: Option<u32>,
    ) -> Result<Vec<PendingNotification>, CliError> {
        let tag = tags::RETRIEVE_NOTIFICATIONS;
        let msg = RetrieveNotificationsListRequest {
            search: seq.map(SearchCriteria::SeqNumber),
        }
        .encode();
        let a = self.call_with(tag, &msg, Secrecy::Public)?;
        match decoded(tag, RetrieveNotificationsListResponse::decode(&a))? {
            RetrieveNotificationsListResponse::List(l) => Ok(l),
            RetrieveNotificationsListResponse::Error(e) => {
                let meaning = match e {
                    RetrieveNotificationsError::NoResultAvailable => {
                        "no pending notification has this sequence number"
                    }
                    _ => "undefined error",
                };
                Err(refused(tag, u8::from(e), meaning))
            }
        }
    }

    /// RemoveNotificationFromList (`BF30`, §5.7.10).
    pub fn remove_notification(&mut self, seq: u32) -> Result<(), CliError> {
        let req = Es10Request::RemoveNotification(seq);
        let a = self.request(&req)?;
        let rc = decoded(req.tag(), ResultCode::decode(req.tag(), &a))?;
        if rc.is_ok() {
            Ok(())
        } else {
            Err(es10_error(req.tag(), rc.code))
        }
    }
}

/// The card's AuthenticateServer answer as a result: the ok part, or its refusal.
pub fn authenticate_ok(
    r: &AuthenticateServerResponse,
) -> Result<&AuthenticateResponseOk, CliError> {
    match r {
        AuthenticateServerResponse::Ok(ok) => Ok(ok),
        AuthenticateServerResponse::Error { code, .. } => Err(refused(
            tags::AUTHENTICATE_SERVER,
            u8::from(*code),
            authenticate_meaning(*code),
        )),
    }
}

/// The card's PrepareDownload answer as a result.
pub fn prepare_ok(r: &PrepareDownloadResponse) -> Result<&PrepareDownloadResponseOk, CliError> {
    match r {
        PrepareDownloadResponse::Ok(ok) => Ok(ok),
        PrepareDownloadResponse::Error { code, .. } => Err(refused(
            tags::PREPARE_DOWNLOAD,
            u8::from(*code),
            download_meaning(*code),
        )),
    }
}
