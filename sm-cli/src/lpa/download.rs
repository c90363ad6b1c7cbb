//! A profile download as the LPA runs it (SGP.22 v2.x §3.1.3): the card's ES10b
//! functions ([`super::es10b`]) and the SM-DP+'s ES9+ functions ([`super::es9`]) in lpac's
//! order:
//!
//! 1. GetEUICCChallenge, GetEUICCInfo1 (card);
//! 2. initiateAuthentication (SM-DP+) -> AuthenticateServer (card) with ctxParams1
//!    (the matching ID, deviceInfo with the TAC of `--imei` or lpac's default TAC);
//! 3. authenticateClient -> PrepareDownload, with hashCc when the SM-DP+ asks for a
//!    confirmation code (`SHA-256(SHA-256(code) || transactionId)`, §3.1.3.2);
//! 4. getBoundProfilePackage -> LoadBoundProfilePackage, segment by segment, ending with
//!    the card's ProfileInstallationResult;
//! 5. handleNotification with that result, then RemoveNotificationFromList on the card
//!    once the SM-DP+ has it (§3.5).
//!
//! The card's answers go to the SM-DP+ as they came, refusals too (the SM-DP+ ends its
//! side of the session when it reads one). When anything fails once the session has a
//! transactionId, the LPA ends it on both sides (§3.1.3, "cancel session"): CancelSession
//! on the card and, with the card's signed answer, cancelSession at the SM-DP+, both best
//! effort; the error reported is the first one. A failed install is not cancelled: its
//! ProfileInstallationResult is the notification, delivered like a successful one.

use crate::errors::CliError;
use crate::lpa::activation_code::ActivationCode;
use crate::lpa::es10b::{authenticate_ok, install_error, prepare_ok, Segment};
use crate::lpa::es9::{protocol, Es9Client};
use crate::lpa::session::Es10Session;
use crate::reader::CardLink;
use apdu::sgp22::es10::Iccid;
use apdu::sgp22::es10b::{CancelSessionReason, CtxParams1, DeviceInfo, FinalResult, StoreMetadata};
use apdu::sgp22::es9p::{confirmation_code_hash, hash_cc, TransactionId};
use zeroize::Zeroizing;

/// The TAC lpac puts in deviceInfo when it is given no IMEI (interop-results.md).
pub const LPAC_TAC: [u8; 4] = [0x35, 0x29, 0x06, 0x11];

/// CancelSessionReason values SGP.22 v2.2+ adds to the four `apdu` names
/// (`loadBppExecutionError`, `undefinedReason`).
const LOAD_BPP_EXECUTION_ERROR: CancelSessionReason = CancelSessionReason::Other(5);
const UNDEFINED_REASON: CancelSessionReason = CancelSessionReason::Other(127);

/// deviceInfo of ctxParams1 (SGP.22 §5.7.13): the TAC (the first 8 digits of the IMEI
/// as packed BCD, or lpac's default TAC) and the IMEI (15 digits, TS 23.003 BCD with
/// swapped nibbles and an `F` filler, 8 bytes), no device capabilities. `imei` must have
/// been checked (15 digits).
pub fn device_info(imei: Option<&str>) -> DeviceInfo {
    let digits: Option<Vec<u8>> = imei.and_then(|i| {
        let d: Vec<u8> = i.bytes().map(|b| b.wrapping_sub(b'0')).collect();
        (d.len() == 15 && d.iter().all(|&x| x < 10)).then_some(d)
    });
    match digits {
        None => DeviceInfo {
            tac: LPAC_TAC.to_vec(),
            capabilities: vec![],
            imei: None,
        },
        Some(d) => {
            let tac = d[..8].chunks(2).map(|p| (p[0] << 4) | p[1]).collect();
            let mut nibbles = d.clone();
            nibbles.push(0xF);
            let imei = nibbles.chunks(2).map(|p| (p[1] << 4) | p[0]).collect();
            DeviceInfo {
                tac,
                capabilities: vec![],
                imei: Some(imei),
            }
        }
    }
}

/// What to download.
pub struct Order<'a> {
    pub code: &'a ActivationCode,
    /// The confirmation code the end user gave (a secret: zeroized, never printed).
    pub confirmation_code: Option<&'a Zeroizing<String>>,
    pub device_info: DeviceInfo,
}

/// A step of the download, for progress lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    GetEuiccChallenge,
    GetEuiccInfo1,
    InitiateAuthentication,
    AuthenticateServer,
    AuthenticateClient,
    PrepareDownload,
    GetBoundProfilePackage,
    LoadBoundProfilePackage(Segment),
    HandleNotification,
    RemoveNotification(u32),
    CancelSession,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::GetEuiccChallenge => f.write_str("card: GetEUICCChallenge"),
            Step::GetEuiccInfo1 => f.write_str("card: GetEUICCInfo1"),
            Step::InitiateAuthentication => f.write_str("SM-DP+: initiateAuthentication"),
            Step::AuthenticateServer => f.write_str("card: AuthenticateServer"),
            Step::AuthenticateClient => f.write_str("SM-DP+: authenticateClient"),
            Step::PrepareDownload => f.write_str("card: PrepareDownload"),
            Step::GetBoundProfilePackage => f.write_str("SM-DP+: getBoundProfilePackage"),
            Step::LoadBoundProfilePackage(s) => write!(
                f,
                "card: LoadBoundProfilePackage segment {}/{} ({:02X})",
                s.index, s.count, s.tag
            ),
            Step::HandleNotification => f.write_str("SM-DP+: handleNotification (install)"),
            Step::RemoveNotification(seq) => {
                write!(f, "card: RemoveNotificationFromList {seq}")
            }
            Step::CancelSession => f.write_str("cancelling the session (card, SM-DP+)"),
        }
    }
}

impl Step {
    /// Whether the step is ES10b on the card (else ES9+ to the SM-DP+; CancelSession, both,
    /// counts as the card's).
    pub fn on_card(&self) -> bool {
        !matches!(
            self,
            Step::InitiateAuthentication
                | Step::AuthenticateClient
                | Step::GetBoundProfilePackage
                | Step::HandleNotification
        )
    }
}

/// What became of the install notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationOutcome {
    pub seq: u32,
    /// The SM-DP+ took it (handleNotification answered).
    pub delivered: bool,
    /// It was removed from the card's list (only after delivery).
    pub removed: bool,
    /// Why it was not delivered or removed (it stays on the card for
    /// `notifications process`).
    pub error: Option<String>,
}

/// A download that installed its profile.
#[derive(Debug, Clone)]
pub struct Downloaded {
    pub iccid: Iccid,
    /// The ISD-P AID the card created.
    pub aid: Vec<u8>,
    pub smdp_address: String,
    pub transaction_id: TransactionId,
    /// profileMetadata of authenticateClient (StoreMetadata), when it decodes.
    pub service_provider: Option<String>,
    pub profile_name: Option<String>,
    pub notification: NotificationOutcome,
}

/// Runs a whole download (module docs) on the open ES10 session `es10` against the
/// SM-DP+ `es9` (its address: the activation code's).
pub fn download<L: CardLink>(
    es10: &mut Es10Session<'_, L>,
    es9: &mut Es9Client<'_>,
    order: &Order<'_>,
    progress: &mut dyn FnMut(Step),
) -> Result<Downloaded, CliError> {
    // SGP.22 §4.1: a code that says a confirmation code is required needs one before
    // anything starts.
    if order.code.confirmation_code_required && order.confirmation_code.is_none() {
        return Err(CliError::Usage(
            "this activation code requires a confirmation code: give it with --confirmation-code-stdin, --confirmation-code-file or --confirmation-code".into(),
        ));
    }
    progress(Step::GetEuiccChallenge);
    let challenge = es10.get_euicc_challenge()?;
    progress(Step::GetEuiccInfo1);
    let info1 = es10.get_euicc_info1()?;

    progress(Step::InitiateAuthentication);
    let init = es9.initiate_authentication(challenge, &info1.der)?;
    let tid = init.transaction_id.clone();
    let mut session = Session {
        es10,
        es9,
        tid,
        progress,
    };
    match session.run(order, &init) {
        Ok(d) => Ok(d),
        Err(Failure { error, cancel }) => {
            if let Some(reason) = cancel {
                session.cancel(reason);
            }
            Err(error)
        }
    }
}

/// An error and whether (and why) the session must still be cancelled.
struct Failure {
    error: CliError,
    cancel: Option<CancelSessionReason>,
}

impl Failure {
    fn cancel(error: CliError) -> Failure {
        Failure {
            error,
            cancel: Some(UNDEFINED_REASON),
        }
    }
}

impl From<CliError> for Failure {
    fn from(error: CliError) -> Failure {
        Failure::cancel(error)
    }
}

struct Session<'s, 'a, 't, L: CardLink> {
    es10: &'s mut Es10Session<'a, L>,
    es9: &'s mut Es9Client<'t>,
    tid: TransactionId,
    progress: &'s mut dyn FnMut(Step),
}

impl<L: CardLink> Session<'_, '_, '_, L> {
    fn run(
        &mut self,
        order: &Order<'_>,
        init: &apdu::sgp22::es9p::InitiateAuthenticationOk,
    ) -> Result<Downloaded, Failure> {
        const INIT: &str = "initiateAuthentication";
        // ES10b.AuthenticateServer from the SM-DP+'s signed parts, as they came.
        let ctx = CtxParams1 {
            matching_id: order.code.matching_id.clone(),
            device_info: order.device_info.clone(),
        };
        let auth = init
            .authenticate_server_request(&ctx)
            .map_err(|e| protocol(INIT, e))?;
        if auth.server_signed1.value().transaction_id != self.tid.as_bytes() {
            return Err(protocol(
                INIT,
                "serverSigned1 carries another transactionId than the answer",
            )
            .into());
        }
        (self.progress)(Step::AuthenticateServer);
        let answer = self.es10.authenticate_server(&auth.encode())?;
        // The card's answer goes to the SM-DP+ even when it is a refusal (§3.1.3.1).
        (self.progress)(Step::AuthenticateClient);
        let client = self.es9.authenticate_client(&self.tid, &answer.der);
        authenticate_ok(&answer.value)?;
        let client = client?;
        let metadata = StoreMetadata::decode(&client.profile_metadata).ok();

        // ES10b.PrepareDownload, with hashCc when the SM-DP+ requires a confirmation code.
        let plain = client
            .prepare_download_request(None)
            .map_err(|e| protocol("authenticateClient", e))?;
        let cc_required = plain.smdp_signed2.value().cc_required;
        let hash = match (cc_required, order.confirmation_code) {
            (false, _) => None,
            (true, Some(code)) => Some(hash_cc(
                &confirmation_code_hash(code.as_bytes()),
                self.tid.as_bytes(),
            )),
            (true, None) => {
                return Err(Failure {
                    error: CliError::Usage(
                        "the SM-DP+ requires a confirmation code for this profile: \
                         give it with --confirmation-code-stdin, --confirmation-code-file or --confirmation-code"
                            .into(),
                    ),
                    cancel: Some(CancelSessionReason::Postponed),
                })
            }
        };
        let prepare = match hash {
            None => plain,
            Some(_) => client
                .prepare_download_request(hash)
                .map_err(|e| protocol("authenticateClient", e))?,
        };
        (self.progress)(Step::PrepareDownload);
        let answer = self.es10.prepare_download(&prepare.encode())?;
        (self.progress)(Step::GetBoundProfilePackage);
        let bpp = self.es9.get_bound_profile_package(&self.tid, &answer.der);
        prepare_ok(&answer.value)?;
        let bpp = bpp?;

        // ES10b.LoadBoundProfilePackage.
        let progress = &mut *self.progress;
        let pir = self
            .es10
            .load_bound_profile_package(&bpp.bound_profile_package, &mut |s| {
                progress(Step::LoadBoundProfilePackage(s))
            })
            .map_err(|error| Failure {
                error,
                cancel: Some(LOAD_BPP_EXECUTION_ERROR),
            })?;
        let data = pir.value.data.value();
        if data.transaction_id != self.tid.as_bytes() {
            return Err(Failure {
                error: CliError::malformed(
                    "LoadBoundProfilePackage",
                    "the ProfileInstallationResult names another transactionId",
                ),
                cancel: None,
            });
        }
        // From here the session is over on the card: the result is a notification.
        let seq = data.notification.seq;
        let notification = self.deliver(&pir.der, seq);
        if let Some(e) = install_error(&pir.value) {
            return Err(Failure {
                error: e,
                cancel: None,
            });
        }
        let (iccid, aid) = match (&data.notification.iccid, &data.final_result) {
            (Some(i), FinalResult::Success { aid, .. }) => (*i, aid.clone()),
            _ => {
                return Err(Failure {
                    error: CliError::malformed(
                        "LoadBoundProfilePackage",
                        "the ProfileInstallationResult names no ICCID",
                    ),
                    cancel: None,
                })
            }
        };
        Ok(Downloaded {
            iccid,
            aid,
            smdp_address: self.es9.address().to_string(),
            transaction_id: self.tid.clone(),
            service_provider: metadata.as_ref().map(|m| m.service_provider_name.clone()),
            profile_name: metadata.as_ref().map(|m| m.profile_name.clone()),
            notification,
        })
    }

    /// handleNotification with the ProfileInstallationResult, then its removal from the
    /// card (only once delivered, §3.5).
    fn deliver(&mut self, pir: &[u8], seq: u32) -> NotificationOutcome {
        (self.progress)(Step::HandleNotification);
        if let Err(e) = self.es9.handle_notification(pir) {
            return NotificationOutcome {
                seq,
                delivered: false,
                removed: false,
                error: Some(e.to_string()),
            };
        }
        (self.progress)(Step::RemoveNotification(seq));
        match self.es10.remove_notification(seq) {
            Ok(()) => NotificationOutcome {
                seq,
                delivered: true,
                removed: true,
                error: None,
            },
            Err(e) => NotificationOutcome {
                seq,
                delivered: true,
                removed: false,
                error: Some(e.to_string()),
            },
        }
    }

    /// CancelSession on the card, and the card's signed answer to the SM-DP+'s
    /// cancelSession; best effort (the first error is what the user hears about).
    fn cancel(&mut self, reason: CancelSessionReason) {
        (self.progress)(Step::CancelSession);
        if let Ok(answer) = self.es10.cancel_session(self.tid.as_bytes(), reason) {
            let _ = self.es9.cancel_session(&self.tid, &answer.der);
        }
    }
}
