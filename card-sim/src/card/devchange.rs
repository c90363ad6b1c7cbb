//! The device-change functions in the ISD-R (docs/device-change-protocol.md): STORE DATA
//! messages `BF66`-`BF6D` go to the method session ([`crate::method`]); FETCH and
//! TERMINAL RESPONSE (ETSI TS 102 223 §6.3, §6.8) drive its proactive questions; the
//! profile installs and removals it asks for are made here, each one change of the
//! state, saved before the answer leaves the card. Here too the card draws its one-time
//! challenges (BF6D) and signs the results of BF69 and BF6B with its identity key
//! (issue 10, findings 1, 2, 9).
//!
//! An installed operator profile is a SAIP profile like a downloaded one (issue 9): its
//! package is built with `apdu::saip::build` from the operator profile's ICCID, IMSI,
//! MSISDN, Ki and OPc (Milenage), so the card serves its USIM ([`super::sim`]). Its PIN1
//! is [`OPERATOR_PIN1`], disabled (as on a delivered eSIM; ENABLE PIN turns it on), its
//! PUK1 [`OPERATOR_PUK1`] and ADM1 [`OPERATOR_ADM1`]: test values of a simulator.
//!
//! Notifications: these profiles come with no notification configuration (no SGP.22
//! metadata), so their enable, disable and delete notify nothing, and neither does
//! PP#0's; a downloaded profile these flows disable notifies as its metadata says
//! (`PersistentState::notify`). An install here is no SGP.22 download: it has no
//! ProfileInstallationResult, so no install notification.

use super::Euicc;
use crate::method::{CardView, Outcome, ResultContext};
use crate::state::new_card::derive_aid;
use crate::state::notification::Event;
use crate::state::profile::Profile;
use crate::state::{PersistentState, Secret};
use apdu::crypto::{result_binding, IdentityKey, Purpose, SignedMessage};
use apdu::devchange::{
    DcRequest, DcResponse, DcResult, Function, InstallResult, OperatorProfile, CARD_CHALLENGE_LEN,
    SYNC_IMEI,
};
use apdu::sgp22::es10::{Iccid, ProfileClass, ProfileState};
use apdu::sgp22::pki::Cert;
use apdu::{iso7816::tlv, Eid, Response, StatusWord};
use rand_core::Rng;

/// True when a whole STORE DATA message carries one of our device-change tags.
pub fn is_devchange(message: &[u8]) -> bool {
    match message {
        [0xBF, t, ..] => Function::from_tag(0xBF00 | u32::from(*t)).is_some(),
        _ => false,
    }
}

/// The card as the method sees it.
struct View<'a> {
    state: &'a PersistentState,
    identity: &'a IdentityKey,
    encryption: Option<&'a IdentityKey>,
    kdf_floor: crate::method::KdfFloor,
}

impl CardView for View<'_> {
    fn eid(&self) -> Eid {
        self.state.eid
    }

    fn identity(&self) -> &IdentityKey {
        self.identity
    }

    fn encryption_key(&self) -> Option<&IdentityKey> {
        self.encryption
    }

    fn holds_op(&self, op_id: &str) -> bool {
        self.state
            .profiles
            .iter()
            .any(|p| p.msisdn.as_deref() == Some(op_id))
    }

    fn kdf_floor(&self) -> crate::method::KdfFloor {
        self.kdf_floor
    }

    fn trusted_cis(&self) -> Vec<Cert> {
        self.state.pki.trusted_ci_certs()
    }
}

/// PIN1, PUK1 and ADM1 of the operator profiles the device-change flows install.
pub const OPERATOR_PIN1: &str = "0000";
pub const OPERATOR_PUK1: &str = "12345678";
pub const OPERATOR_ADM1: &str = "88888888";

/// The package of an operator profile, and the SIM state it starts with (PIN1
/// disabled); `None` when the values do not make a package (logged).
fn operator_package(op: &OperatorProfile) -> Option<(Secret, crate::state::profile::SimState)> {
    use apdu::saip::build::{build, Subscription};
    let sub = Subscription {
        iccid: op.iccid,
        imsi: op.imsi.clone(),
        msisdn: Some(op.msisdn.clone()).filter(|m| !m.is_empty()),
        ki: apdu::saip::Secret::new(op.ki.to_vec()),
        opc: apdu::saip::Secret::new(op.opc.to_vec()),
        algorithm: apdu::saip::Algorithm::Milenage,
        spn: op.service_provider.clone(),
        profile_type: "operational".into(),
        pin1: OPERATOR_PIN1.into(),
        puk1: OPERATOR_PUK1.into(),
        adm1: OPERATOR_ADM1.into(),
    };
    let Some(pkg) = build(&sub) else {
        eprintln!(
            "card-sim: operator profile {}: no SAIP package (IMSI or MSISDN)",
            op.iccid
        );
        return None;
    };
    let mut sim = crate::state::profile::SimState::default();
    sim.pins.insert(
        super::sim::pins::code_key(apdu::saip::fs::FileSystem::MF, 0x01),
        crate::state::profile::CodeState {
            left: 3,
            value: None,
            disabled: true,
        },
    );
    Some((Secret::new(pkg.encode()), sim))
}

fn proactive(cmd: Vec<u8>) -> Response {
    // Our proactive commands are far below 256 bytes.
    Response::sw(StatusWord::ProactiveCommandPending(cmd.len().min(255) as u8))
}

impl Euicc {
    /// Parses the identity key from the state, making (and saving) one on first use.
    /// A key that cannot be read or made answers `6F00` and is logged (the error's
    /// text only: `CryptoError` never carries key material).
    fn ensure_identity(&mut self) -> Result<(), StatusWord> {
        if self.identity.is_some() {
            return Ok(());
        }
        fn failed(what: &'static str) -> impl Fn(apdu::crypto::CryptoError) -> StatusWord {
            move |e| {
                eprintln!("card-sim: the card's identity key: {what} failed ({e}); answering 6F00");
                StatusWord::NoPreciseDiagnosis
            }
        }
        if let Some(der) = &self.state.identity_key {
            let key = IdentityKey::from_pkcs8_der(der.expose())
                .map_err(failed("reading it from the state"))?;
            self.identity = Some(key);
            return Ok(());
        }
        let key = IdentityKey::generate(&mut self.rng).map_err(failed("making it"))?;
        let der = key
            .to_pkcs8_der()
            .map_err(failed("encoding it as PKCS#8"))?;
        self.change(|s| s.identity_key = Some(Secret::new(der.to_vec())));
        self.identity = Some(key);
        Ok(())
    }

    /// Parses the identity encryption key from the state, making (and saving) one on
    /// first use, as [`Self::ensure_identity`] does for the signing key: only for the
    /// requests that need it, so the card's seeded random stream is not drawn from
    /// otherwise.
    fn ensure_encryption_key(&mut self) -> Result<(), StatusWord> {
        if self.identity_enc.is_some() {
            return Ok(());
        }
        let failed = |what: &'static str| {
            move |e: apdu::crypto::CryptoError| {
                eprintln!(
                    "card-sim: the card's identity encryption key: {what} failed ({e}); answering 6F00"
                );
                StatusWord::NoPreciseDiagnosis
            }
        };
        if let Some(der) = &self.state.identity_encryption_key {
            let key = IdentityKey::from_pkcs8_der(der.expose())
                .map_err(failed("reading it from the state"))?;
            self.identity_enc = Some(key);
            return Ok(());
        }
        let key = IdentityKey::generate(&mut self.rng).map_err(failed("making it"))?;
        let der = key
            .to_pkcs8_der()
            .map_err(failed("encoding it as PKCS#8"))?;
        self.change(|s| s.identity_encryption_key = Some(Secret::new(der.to_vec())));
        self.identity_enc = Some(key);
        Ok(())
    }

    /// Runs `f` with the method session and the card's view.
    fn with_method<R>(
        &mut self,
        f: impl FnOnce(&mut crate::method::MethodSession, &View<'_>) -> R,
    ) -> Result<R, StatusWord> {
        self.ensure_identity()?;
        let identity = self
            .identity
            .as_ref()
            .ok_or(StatusWord::NoPreciseDiagnosis)?;
        let view = View {
            state: &self.state,
            identity,
            encryption: self.identity_enc.as_ref(),
            kdf_floor: self.kdf_floor,
        };
        Ok(f(&mut self.method, &view))
    }

    /// A whole STORE DATA message with a device-change tag.
    pub(super) fn devchange(&mut self, message: &[u8]) -> Result<Response, StatusWord> {
        let t = tlv::parse(message).map_err(|_| StatusWord::IncorrectData)?;
        let req = match DcRequest::decode_tlv(&t) {
            Some(Ok(r)) => r,
            Some(Err(_)) => return Err(StatusWord::IncorrectData),
            None => return Err(StatusWord::ReferencedDataNotFound),
        };
        if req == DcRequest::CardChallenge {
            let mut challenge = [0u8; CARD_CHALLENGE_LEN];
            self.rng.fill_bytes(&mut challenge);
            self.method.set_card_challenge(challenge);
            return Ok(Response::ok(
                DcResponse::CardChallenge { challenge }.encode(),
            ));
        }
        let needs_encryption_key = matches!(
            req,
            DcRequest::Authenticate {
                need_parameter: false,
                ..
            } | DcRequest::InstallProfile {
                key: apdu::devchange::KeySource::Identity,
                ..
            }
        );
        if needs_encryption_key {
            self.ensure_identity()?;
            self.ensure_encryption_key()?;
        }
        match self.with_method(|m, view| m.request(req, view))? {
            Outcome::Answer(bytes) => Ok(Response::ok(bytes)),
            Outcome::Proactive(cmd) => Ok(proactive(cmd)),
            Outcome::Install { profile, ctx } => {
                let (code, iccid) = match profile {
                    Ok(p) => {
                        let code = self.install(&p);
                        (code, code.is_ok().then_some(p.iccid))
                    }
                    Err(code) => (code, None),
                };
                let r = self.signed_result(Purpose::InstallResult, &ctx, code, iccid)?;
                Ok(Response::ok(
                    DcResponse::Installed(InstallResult {
                        code,
                        iccid,
                        signature: r,
                    })
                    .encode(),
                ))
            }
            Outcome::Remove {
                iccid,
                authorised,
                ctx,
            } => {
                let code = match authorised {
                    Ok(()) => self.remove(&ctx.op_id, &iccid),
                    Err(code) => code,
                };
                let signature = self.signed_result(Purpose::RemovalResult, &ctx, code, None)?;
                Ok(Response::ok(
                    DcResponse::Removed { code, signature }.encode(),
                ))
            }
        }
    }

    /// The identity key's signature over a BF69/BF6B result: the SM's challenge, the
    /// OP ID, this card's EID, the code and the ICCID (docs/device-change-protocol.md
    /// "Signed messages"). A challenge of the wrong length answers the plain failure
    /// `BadRequest` (unsigned: the SM acts on it no further).
    fn signed_result(
        &mut self,
        purpose: Purpose,
        ctx: &ResultContext,
        code: DcResult,
        iccid: Option<Iccid>,
    ) -> Result<Vec<u8>, StatusWord> {
        self.ensure_identity()?;
        let identity = self
            .identity
            .as_ref()
            .ok_or(StatusWord::NoPreciseDiagnosis)?;
        let bound = result_binding(code.code(), iccid.as_ref().map(|i| &i.0));
        let msg = SignedMessage::new(
            purpose,
            &ctx.sm_challenge,
            &ctx.op_id,
            self.state.eid,
            SYNC_IMEI,
        )
        .and_then(|m| m.bound(&bound));
        match msg.and_then(|m| identity.prove(&m)) {
            Ok(sig) => Ok(sig),
            Err(_) => Err(StatusWord::IncorrectData),
        }
    }

    /// FETCH: the pending proactive command; `6985` when there is none.
    pub(super) fn fetch(&mut self) -> Result<Response, StatusWord> {
        self.method
            .fetch()
            .map(|c| Response::ok(c.to_vec()))
            .ok_or(StatusWord::ConditionsNotSatisfied)
    }

    /// TERMINAL RESPONSE: `91xx` for the next question, `9000` when the session ended.
    pub(super) fn terminal_response(&mut self, data: &[u8]) -> Result<Response, StatusWord> {
        match self.with_method(|m, view| m.terminal_response(data, view))? {
            Ok(Some(next)) => Ok(proactive(next)),
            Ok(None) => Ok(Response::sw(StatusWord::Success)),
            Err(sw) => Err(sw),
        }
    }

    /// Installs and enables an operator profile (class operational), disabling the
    /// enabled one (PP#0 after provisioning), in one saved change (A step 412, B 520).
    fn install(&mut self, op: &OperatorProfile) -> DcResult {
        let package = operator_package(op);
        self.change(|s| {
            if s.find_iccid(&op.iccid).is_some() {
                return DcResult::AlreadyInstalled;
            }
            let Some(aid) = (1..=u8::MAX)
                .map(derive_aid)
                .find(|a| s.profiles.iter().all(|p| p.aid != *a))
            else {
                return DcResult::Undefined;
            };
            if let Some(i) = s.profiles.iter().position(|p| p.is_enabled()) {
                s.profiles[i].state = ProfileState::Disabled;
                s.notify(i, Event::Disable);
            }
            s.profiles.push(Profile {
                iccid: op.iccid,
                aid,
                state: ProfileState::Enabled,
                class: ProfileClass::Operational,
                nickname: None,
                service_provider: Some(op.service_provider.clone()),
                name: Some(op.profile_name.clone()),
                notification_configs: Vec::new(),
                imsi: Some(op.imsi.clone()),
                msisdn: Some(op.msisdn.clone()),
                ki: Some(Secret::new(op.ki.to_vec())),
                opc: Some(Secret::new(op.opc.to_vec())),
                package: package.as_ref().map(|(p, _)| p.clone()),
                sim: package.map(|(_, s)| s).unwrap_or_default(),
            });
            let i = s.profiles.len() - 1;
            s.notify(i, Event::Enable);
            DcResult::Ok
        })
    }

    /// Removes a profile that moved to another device (sync): disabled first, with the
    /// provisioning profile enabled again if it was the enabled one.
    fn remove(&mut self, op_id: &str, iccid: &Iccid) -> DcResult {
        self.change(|s| {
            let Some(i) = s
                .profiles
                .iter()
                .position(|p| p.iccid == *iccid && p.msisdn.as_deref() == Some(op_id))
            else {
                return DcResult::NotFound;
            };
            if s.profiles[i].is_enabled() {
                s.profiles[i].state = ProfileState::Disabled;
                s.notify(i, Event::Disable);
                if let Some(pp) = s.provisioning() {
                    s.profiles[pp].state = ProfileState::Enabled;
                    s.notify(pp, Event::Enable);
                }
            }
            s.notify(i, Event::Delete);
            s.profiles.remove(i);
            DcResult::Ok
        })
    }
}
