//! The ES10b functions of the ISD-R (SGP.22 §5.7.11-§5.7.14), executed on the card's
//! download session ([`session`], volatile) and notifications. `es10` hands every
//! message whose tag is an ES10b request here (decoded by
//! `apdu::sgp22::es10b::Es10bRequest`).
//!
//! - GetEUICCChallenge (in `es10::info`) starts a session with a fresh challenge from
//!   the card's seeded RNG, replacing any running session (so does a power cycle);
//! - AuthenticateServer: the challenge (single use; none: `noSessionContext`, another:
//!   `euiccChallengeMismatch`), then CERT.DPauth, serverSignature1 and
//!   euiccCiPKIdToBeUsed ([`verify`]); signs euiccSigned1 with the eUICC key;
//! - PrepareDownload: the session's transactionId, CERT.DPpb, smdpSignature2; a
//!   one-time ECKA key pair from the seeded RNG kept in the session; signs euiccSigned2;
//! - LoadBoundProfilePackage ([`load`], then [`install`]): the BPP over the `Prepared`
//!   session, the profile installed in one state change, the signed result;
//! - CancelSession with the session's transactionId ends it and answers
//!   euiccCancelSessionSigned {transactionId, smdpOid, reason} signed; without a
//!   session or with another transactionId it answers `invalidTransactionId` (5) and
//!   leaves any session as it is;
//! - RetrieveNotificationsList serves the pending notifications signed (the install
//!   result as recorded, the others signed when asked); a sequence number that is not
//!   pending answers `noResultAvailable` (1), an empty list when nothing else matches.

mod install;
pub mod load;
pub mod session;
pub mod verify;

use super::Euicc;
use crate::state::notification::Notification;
use apdu::sgp22::es10b::{
    signed_data, AuthenticateErrorCode, AuthenticateResponseOk, AuthenticateServerRequest,
    AuthenticateServerResponse, CancelSessionError, CancelSessionRequest, CancelSessionResponse,
    DownloadErrorCode, Encoded, Es10bRequest, EuiccCancelSessionSigned, EuiccSigned1, EuiccSigned2,
    OtherSignedNotification, PendingNotification, PrepareDownloadRequest, PrepareDownloadResponse,
    PrepareDownloadResponseOk, ProfileInstallationResult, RetrieveNotificationsError,
    RetrieveNotificationsListRequest, RetrieveNotificationsListResponse, SearchCriteria,
};
use apdu::sgp22::pki::PrivateKey;
use session::DownloadSession;

impl Euicc {
    /// Runs one decoded ES10b request; returns its answer.
    pub(super) fn es10b(&mut self, req: Es10bRequest) -> Vec<u8> {
        match req {
            Es10bRequest::AuthenticateServer(r) => self.authenticate_server(&r),
            Es10bRequest::PrepareDownload(r) => self.prepare_download(&r),
            Es10bRequest::CancelSession(r) => self.cancel_session(&r),
            Es10bRequest::RetrieveNotificationsList(r) => self.retrieve_notifications(&r),
        }
    }

    /// ES10b.AuthenticateServer (SGP.22 §5.7.13). The challenge is checked first (it is
    /// used up whatever the outcome), then CERT.DPauth, serverSignature1 and
    /// euiccCiPKIdToBeUsed ([`verify::authenticate_server`]); then the card signs
    /// euiccSigned1 with the eUICC key of the chain under that CI.
    fn authenticate_server(&mut self, req: &AuthenticateServerRequest) -> Vec<u8> {
        let signed = req.server_signed1.value();
        // A new AuthenticateServer ends any running session; the challenge is used once.
        let challenge = self.vol.download.take_challenge();
        self.vol.download = DownloadSession::Idle;
        match self.authenticate(req, challenge) {
            Ok(answer) => answer,
            Err(code) => AuthenticateServerResponse::Error {
                transaction_id: signed.transaction_id.clone(),
                code,
            }
            .encode(),
        }
    }

    fn authenticate(
        &mut self,
        req: &AuthenticateServerRequest,
        challenge: Option<[u8; 16]>,
    ) -> Result<Vec<u8>, AuthenticateErrorCode> {
        let signed = req.server_signed1.value();
        match challenge {
            None => return Err(AuthenticateErrorCode::NoSessionContext),
            Some(c) if c != signed.euicc_challenge => {
                return Err(AuthenticateErrorCode::EuiccChallengeMismatch)
            }
            Some(_) => {}
        }
        let pki = &self.state.pki;
        let dp_auth =
            verify::authenticate_server(req, &pki.trusted_ci_certs(), &pki.signing_ci_skis())?;
        let chain = pki
            .chain_for_ci(&req.ci_pkid)
            .ok_or(AuthenticateErrorCode::CiPkUnknown)?;
        let euicc_signed1 = Encoded::new(EuiccSigned1 {
            transaction_id: signed.transaction_id.clone(),
            server_address: signed.server_address.clone(),
            server_challenge: signed.server_challenge,
            euicc_info2: self.euicc_info2(),
            // §5.7.13: ctxParams1 as the LPA gave it.
            ctx_params1: req.ctx_params1.der().to_vec(),
        });
        let signature = chain.euicc_key.sign(euicc_signed1.der()).to_vec();
        let answer = AuthenticateServerResponse::Ok(Box::new(AuthenticateResponseOk {
            euicc_signed1,
            euicc_signature1: signature.clone(),
            euicc_certificate: chain.euicc_cert_der.clone(),
            eum_certificate: chain.eum_cert_der.clone(),
        }))
        .encode();
        self.vol.download = DownloadSession::Authenticated {
            transaction_id: signed.transaction_id.clone(),
            // §5.7.13: the SM-DP+ OID (CERT.DPauth's SAN registeredID), which
            // CancelSession and ProfileInstallationResult carry; empty if it has none.
            smdp_oid: dp_auth
                .first_subject_alt_registered_id()
                .unwrap_or_default(),
            server_address: signed.server_address.clone(),
            euicc_signature1: signature,
            ci_pkid: req.ci_pkid.clone(),
        };
        Ok(answer)
    }

    /// ES10b.PrepareDownload (SGP.22 §5.7.14): the session's transactionId, CERT.DPpb
    /// and smdpSignature2 ([`verify::prepare_download`]), then a one-time ECKA key pair
    /// from the card's seeded RNG; hashCc is passed through from the LPA (the card
    /// cannot know the confirmation code). Any failure ends the session.
    fn prepare_download(&mut self, req: &PrepareDownloadRequest) -> Vec<u8> {
        let tid = req.smdp_signed2.value().transaction_id.clone();
        let session = std::mem::take(&mut self.vol.download);
        match self.prepare(req, session) {
            Ok((answer, session)) => {
                self.vol.download = session;
                answer
            }
            Err((code, session)) => {
                self.vol.download = session;
                PrepareDownloadResponse::Error {
                    transaction_id: tid,
                    code,
                }
                .encode()
            }
        }
    }

    // The session travels by value and comes back on every path; boxing it on the error
    // path only would add an allocation for nothing.
    #[allow(clippy::result_large_err)]
    fn prepare(
        &mut self,
        req: &PrepareDownloadRequest,
        session: DownloadSession,
    ) -> Result<(Vec<u8>, DownloadSession), (DownloadErrorCode, DownloadSession)> {
        let tid = &req.smdp_signed2.value().transaction_id;
        let DownloadSession::Authenticated {
            transaction_id,
            smdp_oid,
            server_address,
            euicc_signature1,
            ci_pkid,
        } = session
        else {
            return Err((DownloadErrorCode::NoSessionContext, session));
        };
        if &transaction_id != tid {
            // Another session's request leaves this one as it is.
            let kept = DownloadSession::Authenticated {
                transaction_id,
                smdp_oid,
                server_address,
                euicc_signature1,
                ci_pkid,
            };
            return Err((DownloadErrorCode::InvalidTransactionId, kept));
        }
        let pki = &self.state.pki;
        let dp_pb = verify::prepare_download(req, &pki.trusted_ci_certs(), &euicc_signature1)
            .and_then(|c| {
                c.public_key()
                    .map_err(|_| DownloadErrorCode::UnsupportedCurve)
            })
            .map_err(|c| (c, DownloadSession::Idle))?;
        let chain = pki
            .chain_for_ci(&ci_pkid)
            .ok_or((DownloadErrorCode::UndefinedError, DownloadSession::Idle))?;
        let otsk = PrivateKey::generate(chain.euicc_key.0.curve(), &mut self.rng);
        let euicc_signed2 = Encoded::new(EuiccSigned2 {
            transaction_id: transaction_id.clone(),
            euicc_otpk: otsk.public_key().to_sec1(),
            hash_cc: req.hash_cc,
        });
        let signature = chain
            .euicc_key
            .sign(&signed_data::euicc_signature2(
                euicc_signed2.der(),
                &req.smdp_signature2,
            ))
            .to_vec();
        let answer = PrepareDownloadResponse::Ok(PrepareDownloadResponseOk {
            euicc_signed2,
            euicc_signature2: signature,
        })
        .encode();
        let next = DownloadSession::Prepared {
            transaction_id,
            smdp_oid,
            server_address,
            ci_pkid,
            otsk,
            dp_pb,
        };
        Ok((answer, next))
    }

    /// ES10b.CancelSession (SGP.22 §5.7.12).
    fn cancel_session(&mut self, req: &CancelSessionRequest) -> Vec<u8> {
        let ours = self.vol.download.transaction_id() == Some(req.transaction_id.as_slice());
        if !ours {
            return CancelSessionResponse::Error(CancelSessionError::InvalidTransactionId).encode();
        }
        let session = std::mem::take(&mut self.vol.download);
        let (smdp_oid, ci_pkid) = match &session {
            DownloadSession::Authenticated {
                smdp_oid, ci_pkid, ..
            }
            | DownloadSession::Prepared {
                smdp_oid, ci_pkid, ..
            } => (smdp_oid.clone(), ci_pkid.clone()),
            DownloadSession::Loading(l) => (l.smdp_oid.clone(), l.ci_pkid.clone()),
            _ => (Vec::new(), Vec::new()),
        };
        let Some(chain) = self.state.pki.chain_for_ci(&ci_pkid) else {
            return CancelSessionResponse::Error(CancelSessionError::UndefinedError).encode();
        };
        // euiccCancelSessionSignature over the EuiccCancelSessionSigned TLV (§5.7.12).
        let signed = Encoded::new(EuiccCancelSessionSigned {
            transaction_id: req.transaction_id.clone(),
            smdp_oid,
            reason: req.reason,
        });
        let signature = chain.euicc_key.sign(signed.der()).to_vec();
        CancelSessionResponse::Ok { signed, signature }.encode()
    }

    /// ES10b.RetrieveNotificationsList (SGP.22 §5.7.11).
    fn retrieve_notifications(&self, req: &RetrieveNotificationsListRequest) -> Vec<u8> {
        let matching = self
            .state
            .notifications
            .iter()
            .filter(|n| match req.search {
                None => true,
                Some(SearchCriteria::SeqNumber(s)) => n.seq == s,
                Some(SearchCriteria::Operation(bits)) => bits & n.event.bit() != 0,
            });
        let list: Option<Vec<PendingNotification>> =
            matching.map(|n| self.pending_notification(n)).collect();
        let answer = match (req.search, list) {
            (Some(SearchCriteria::SeqNumber(_)), Some(l)) if l.is_empty() => {
                RetrieveNotificationsListResponse::Error(
                    RetrieveNotificationsError::NoResultAvailable,
                )
            }
            (_, Some(l)) => RetrieveNotificationsListResponse::List(l),
            (_, None) => {
                RetrieveNotificationsListResponse::Error(RetrieveNotificationsError::UndefinedError)
            }
        };
        answer.encode()
    }

    /// A pending notification as §5.7.11 answers it: the install result as signed when
    /// the profile was installed; the others (otherSignedNotification) signed now over
    /// their NotificationMetadata TLV with the card's first eUICC key, with its
    /// certificates. `None`: a stored result that does not decode, or no key.
    fn pending_notification(&self, n: &Notification) -> Option<PendingNotification> {
        if let Some(signed) = &n.signed {
            return ProfileInstallationResult::decode(signed)
                .ok()
                .map(PendingNotification::InstallResult);
        }
        let chain = self.state.pki.chains.first()?;
        let tbs = Encoded::new(n.metadata());
        Some(PendingNotification::Other(OtherSignedNotification {
            signature: chain.euicc_key.sign(tbs.der()).to_vec(),
            tbs,
            euicc_certificate: chain.euicc_cert_der.clone(),
            eum_certificate: chain.eum_cert_der.clone(),
        }))
    }
}
