//! A test SM-DP+ and LPA in one: the whole ES10b profile download (SGP.22 v2.x §3.1.3)
//! sent to a card the way lpac 2.x sends it, with every answer checked, for system tests
//! and the download benchmark (issue 9). The SM-DP+ side (ES9+: InitiateAuthentication,
//! AuthenticateClient, GetBoundProfilePackage) runs in this process with the keys of a
//! PKI folder in the SGP.26 layout that `card-sim pki init DIR --eid EID --smdp-host NAME`
//! writes (`CertificateIssuer/`, `eUICC/`, `DPauth/`, `DPpb/`, `DPtls/`; card-sim/src/pki).
//!
//! What goes to the card, in order (interop-results.md, "SGP.22 download witnesses": what
//! lpac sent to card-sim and osmo-smdpp answered):
//!
//! 1. MANAGE CHANNEL open, SELECT ISD-R on it (CLA `0x` of the channel);
//! 2. GetEUICCChallenge (`BF2E`), then GetEUICCInfo1 (`BF20`) — lpac's order;
//! 3. AuthenticateServer (`BF38`, §5.7.13): serverSigned1 signed with SK.DPauth, CERT.DPauth,
//!    euiccCiPKIdToBeUsed of the folder's CI, ctxParams1 with a matchingId and lpac's TAC;
//! 4. PrepareDownload (`BF21`, §5.7.14): smdpSigned2 without confirmation code, signed with
//!    SK.DPpb over `smdpSigned2 || euiccSignature1`, CERT.DPpb;
//! 5. LoadBoundProfilePackage (§5.7.6, §2.5.4): the BPP of `apdu::sgp22::bpp::BppBuilder`
//!    (InitialiseSecureChannel signed with SK.DPpb over the card's otPK, session keys by
//!    ECKA + the X9.63 KDF with the EID, ConfigureISDP, StoreMetadata, ReplaceSessionKeys
//!    when [`Order::ppk`] is set, the profile package of [`Order`]: `apdu::saip::build::build`
//!    of a test subscription, or any SAIP package such as a TS.48 test profile) cut as lpac
//!    cuts it (`split_segments`), each piece its own ES10 message;
//! 6. RetrieveNotificationsList for the install's sequence number (§5.7.11) and, as
//!    `lpac notification process -r` does, RemoveNotificationFromList (`BF30`);
//! 7. MANAGE CHANNEL close.
//!
//! Every ES10 message travels as STORE DATA (§5.7.2: CLA `80|ch`, P1 `11`/`91`, P2 the
//! block number) in blocks of [`LPAC_BLOCK`] bytes, `61xx` followed with GET RESPONSE of the
//! command's CLA, as lpac does. Checked on the way: euiccSignature1, euiccSignature2 and
//! euiccSignPIR verify with the card's CERT.EUICC, which must chain through its CERT.EUM
//! to the folder's CI and be the folder's eUICC certificate; the transactionId and the
//! challenges are echoed; every BPP piece but the last answers `90 00` without data; the
//! PIR is a `successResult` for the ordered ICCID; the notification served is the PIR byte
//! for byte; the removal answers ok. Any failure is an `Err` naming the step.
//!
//! The card is anything that implements [`Transmit`]: a [`Conn`] (real pcscd) or a
//! closure `FnMut(&[u8]) -> Vec<u8>` (e.g. card-sim's `Transport<Euicc>` in process).
//! [`download`] returns every APDU with its answer and the time the card took for it
//! ([`Exchange`]); the SM-DP+'s own work happens between the timed calls.
//!
//! TEST MATERIAL: the SM-DP+ here checks nothing an operator would (no confirmation code,
//! no ES9+ TLS); it exists to drive cards.

use crate::pcsc_io::Conn;
use anyhow::{anyhow, bail, ensure, Context as _, Result};
use apdu::saip::build::{build, Subscription};
use apdu::saip::{Algorithm, Secret};
use apdu::sgp22::bpp::{
    split_segments, BppBuilder, ControlRefTemplate, InitialiseSecureChannel, SessionKeys,
};
use apdu::sgp22::es10::{
    events, ChallengeResponse, Es10Request, EuiccInfo1, Iccid, ProfileClass, ResultCode,
};
use apdu::sgp22::es10b::{
    signed_data, AuthenticateServerRequest, AuthenticateServerResponse, CtxParams1, DeviceInfo,
    Encoded, FinalResult, NotificationConfig, PendingNotification, PrepareDownloadRequest,
    PrepareDownloadResponse, ProfileInstallationResult, RetrieveNotificationsListRequest,
    RetrieveNotificationsListResponse, SearchCriteria, ServerSigned1, SmdpSigned2, StoreMetadata,
};
use apdu::sgp22::pki::{verify_chain, Cert, Curve, PrivateKey, PublicKey, Role};
use apdu::Eid;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng};
use std::path::Path;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// lpac's default STORE DATA block size (interop.md, "ES10 transport").
pub const LPAC_BLOCK: usize = 120;
/// The ISD-R (SGP.22 §2.2.3).
const ISDR_AID: [u8; 16] = [
    0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00,
];
/// The TAC lpac puts in deviceInfo when it is given no IMEI (interop-results.md).
const LPAC_TAC: [u8; 4] = [0x35, 0x29, 0x06, 0x11];

/// Something that carries one command APDU to a card and returns its response APDU.
pub trait Transmit {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>>;
}

impl Transmit for Conn {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        Conn::transmit(self, apdu)
    }
}

impl<F: FnMut(&[u8]) -> Vec<u8>> Transmit for F {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        Ok(self(apdu))
    }
}

/// Which part of the download an APDU belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// MANAGE CHANNEL open and SELECT ISD-R.
    Open,
    GetEuiccChallenge,
    GetEuiccInfo1,
    AuthenticateServer,
    PrepareDownload,
    /// The BF36 header with InitialiseSecureChannel (BF23).
    InitialiseSecureChannel,
    /// A0 ConfigureISDP, the A1 header and its 88s (StoreMetadata), A2 ReplaceSessionKeys.
    ConfigureAndMetadata,
    /// The A3 header and its 86s; the last one's answer is the PIR.
    ProfileElements,
    RetrieveNotifications,
    RemoveNotification,
    /// MANAGE CHANNEL close.
    Close,
}

impl Step {
    pub const ALL: [Step; 11] = [
        Step::Open,
        Step::GetEuiccChallenge,
        Step::GetEuiccInfo1,
        Step::AuthenticateServer,
        Step::PrepareDownload,
        Step::InitialiseSecureChannel,
        Step::ConfigureAndMetadata,
        Step::ProfileElements,
        Step::RetrieveNotifications,
        Step::RemoveNotification,
        Step::Close,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::Open => "open channel + SELECT ISD-R",
            Step::GetEuiccChallenge => "GetEUICCChallenge",
            Step::GetEuiccInfo1 => "GetEUICCInfo1",
            Step::AuthenticateServer => "AuthenticateServer",
            Step::PrepareDownload => "PrepareDownload",
            Step::InitialiseSecureChannel => "BPP: BF36 + InitialiseSecureChannel",
            Step::ConfigureAndMetadata => "BPP: ConfigureISDP, StoreMetadata, RSK",
            Step::ProfileElements => "BPP: profile elements (86) + install",
            Step::RetrieveNotifications => "RetrieveNotificationsList",
            Step::RemoveNotification => "RemoveNotificationFromList",
            Step::Close => "close channel",
        }
    }
}

/// One APDU of the download: what was sent, what came back, how long the card took.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub step: Step,
    pub command: Vec<u8>,
    pub answer: Vec<u8>,
    pub time: Duration,
}

/// The SM-DP+ of one PKI folder: CERT.DPauth / CERT.DPpb with their keys, the CI the card
/// must chain to, the eUICC certificate the card must present, and the host name it
/// gives as serverAddress (the DPtls certificate's CN).
pub struct Smdp {
    pub host: String,
    pub curve: Curve,
    ci: Cert,
    euicc: Cert,
    dp_auth: (Cert, PrivateKey),
    dp_pb: (Cert, PrivateKey),
    rng: ChaCha20Rng,
}

fn read_cert(path: &Path) -> Result<Cert> {
    let der = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Cert::from_der(&der).map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn read_key(path: &Path) -> Result<PrivateKey> {
    let pem = Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
    );
    PrivateKey::from_pem(&pem).map_err(|e| anyhow!("{}: {e}", path.display()))
}

impl Smdp {
    /// The SM-DP+ of the folder `dir` (`card-sim pki init` layout) on `curve`, its random
    /// values (transactionIds, challenges, one-time keys, PPKs) drawn from `seed`.
    pub fn from_pki_dir(dir: &Path, curve: Curve, seed: u64) -> Result<Smdp> {
        let s = curve.file_suffix();
        let f = |sub: &str, name: String| dir.join(sub).join(name);
        let ci = read_cert(&f("CertificateIssuer", format!("CERT_CI_ECDSA_{s}.der")))?;
        let euicc = read_cert(&f("eUICC", format!("CERT_EUICC_ECDSA_{s}.der")))?;
        let dp_auth = (
            read_cert(&f("DPauth", format!("CERT_S_SM_DPauth_ECDSA_{s}.der")))?,
            read_key(&f("DPauth", format!("SK_S_SM_DPauth_ECDSA_{s}.pem")))?,
        );
        let dp_pb = (
            read_cert(&f("DPpb", format!("CERT_S_SM_DPpb_ECDSA_{s}.der")))?,
            read_key(&f("DPpb", format!("SK_S_SM_DPpb_ECDSA_{s}.pem")))?,
        );
        let tls_path = f("DPtls", format!("CERT_S_SM_DP_TLS_{s}.der"));
        let tls = read_cert(&tls_path)?;
        let subject = tls.inner().tbs_certificate().subject().to_string();
        let host = subject
            .split(',')
            .find_map(|rdn| rdn.trim().strip_prefix("CN="))
            .map(str::to_string)
            .ok_or_else(|| anyhow!("{}: no CN in {subject}", tls_path.display()))?;
        Ok(Smdp {
            host,
            curve,
            ci,
            euicc,
            dp_auth,
            dp_pb,
            rng: ChaCha20Rng::seed_from_u64(seed),
        })
    }

    /// The EID of the folder's eUICC certificate.
    pub fn eid(&self) -> Result<Eid> {
        self.euicc
            .eid()
            .map_err(|e| anyhow!("eUICC certificate: {e}"))
    }

    /// The folder's CERT.EUICC (what the card must present).
    pub fn euicc_cert(&self) -> &Cert {
        &self.euicc
    }

    fn random16(&mut self) -> [u8; 16] {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        b
    }
}

/// What to download: the profile package and its StoreMetadata, and whether the BPP
/// carries ReplaceSessionKeys (osmo-smdpp always sends it).
pub struct Order {
    /// The package's ICCID (StoreMetadata's must be the same, SGP.22 §5.5.3).
    pub iccid: Iccid,
    pub service_provider: String,
    pub profile_name: String,
    pub matching_id: String,
    /// Protect the 86 segments with profile protection keys (ReplaceSessionKeys, A2).
    pub ppk: bool,
    /// The profile package (SAIP PEs), plaintext: it holds Ki / OPc.
    pub package: Zeroizing<Vec<u8>>,
}

impl Order {
    /// A test order for `iccid` (19 or 20 digits): the Milenage USIM profile
    /// `apdu::saip::build` makes of test values (about 1.5 KB), ReplaceSessionKeys on.
    pub fn test(iccid: &str) -> Result<Order> {
        let iccid = Iccid::from_digits(iccid).map_err(|e| anyhow!("ICCID {iccid}: {e}"))?;
        let s = Subscription {
            iccid,
            imsi: "001010123456063".into(),
            msisdn: None,
            ki: Secret::new(vec![0x46; 16]),
            opc: Secret::new(vec![0xCD; 16]),
            algorithm: Algorithm::Milenage,
            spn: "TestSPN".into(),
            profile_type: "test".into(),
            pin1: "0000".into(),
            puk1: "12345678".into(),
            adm1: "88888888".into(),
        };
        let package = build(&s)
            .ok_or_else(|| anyhow!("apdu::saip::build refused the subscription"))?
            .encode();
        Ok(Order {
            iccid,
            service_provider: s.spn.clone(),
            profile_name: "download-driver test profile".into(),
            matching_id: "VEUICC-TEST-1".into(),
            ppk: true,
            package: Zeroizing::new(package),
        })
    }

    /// An order for a ready profile package (e.g. a TS.48 test profile as a DER file),
    /// its ICCID from the package's ProfileHeader.
    pub fn from_package(package: Vec<u8>) -> Result<Order> {
        let package = Zeroizing::new(package);
        let iccid = apdu::saip::Package::decode(&package)
            .and_then(|p| p.iccid())
            .map_err(|e| anyhow!("the profile package: {e}"))?;
        Ok(Order {
            iccid,
            service_provider: "TestSPN".into(),
            profile_name: "download-driver package".into(),
            matching_id: "VEUICC-TEST-1".into(),
            ppk: true,
            package,
        })
    }

    fn metadata(&self, host: &str) -> StoreMetadata {
        StoreMetadata {
            iccid: self.iccid,
            service_provider_name: self.service_provider.clone(),
            profile_name: self.profile_name.clone(),
            profile_class: ProfileClass::Operational,
            notification_configs: vec![NotificationConfig {
                events: events::ENABLE | events::DISABLE | events::DELETE,
                address: host.to_string(),
            }],
            profile_owner: None,
        }
    }
}

/// A download that succeeded.
pub struct Download {
    /// Every APDU sent, in order.
    pub exchanges: Vec<Exchange>,
    /// The card's signed ProfileInstallationResult (BF37), verified.
    pub pir: ProfileInstallationResult,
    /// The LoadBoundProfilePackage messages as sent (before STORE DATA blocking).
    pub bpp_messages: Vec<Vec<u8>>,
    /// The session keys of InitialiseSecureChannel (to replay the BPP in process).
    pub session_keys: SessionKeys,
}

impl Download {
    /// The card's time for the whole download (the sum over all APDUs).
    pub fn card_time(&self) -> Duration {
        self.exchanges.iter().map(|e| e.time).sum()
    }
}

/// The LPA's side of one card: channel, block size, the record.
struct Lpa<'a, T: Transmit + ?Sized> {
    card: &'a mut T,
    channel: u8,
    log: Vec<Exchange>,
}

fn sw(r: &[u8]) -> Result<u16> {
    ensure!(r.len() >= 2, "an answer shorter than a status word");
    Ok(u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]]))
}

impl<T: Transmit + ?Sized> Lpa<'_, T> {
    fn tx(&mut self, step: Step, cmd: &[u8]) -> Result<Vec<u8>> {
        let t = Instant::now();
        let answer = self.card.transmit(cmd)?;
        let time = t.elapsed();
        self.log.push(Exchange {
            step,
            command: cmd.to_vec(),
            answer: answer.clone(),
            time,
        });
        Ok(answer)
    }

    fn cla(&self, proprietary: bool) -> Result<u8> {
        apdu::Cla::for_channel(proprietary, self.channel)
            .map(|c| c.0)
            .ok_or_else(|| anyhow!("channel {} has no CLA", self.channel))
    }

    /// Follows `61xx` with GET RESPONSE of `cla` (lpac); returns data and the final SW.
    fn follow(&mut self, step: Step, cla: u8, mut r: Vec<u8>) -> Result<(Vec<u8>, u16)> {
        let mut data = Vec::new();
        for _ in 0..64 {
            let s = sw(&r)?;
            data.extend_from_slice(&r[..r.len() - 2]);
            if s >> 8 != 0x61 {
                return Ok((data, s));
            }
            r = self.tx(step, &[cla, 0xC0, 0x00, 0x00, s as u8])?;
        }
        bail!("{}: more than 64 GET RESPONSE rounds", step.name())
    }

    fn open(&mut self) -> Result<()> {
        let r = self.tx(Step::Open, &[0x00, 0x70, 0x00, 0x00, 0x01])?;
        ensure!(
            r.len() == 3 && sw(&r)? == 0x9000,
            "MANAGE CHANNEL open answered {}",
            hex::encode_upper(&r)
        );
        self.channel = r[0];
        let mut select = vec![self.cla(false)?, 0xA4, 0x04, 0x00, ISDR_AID.len() as u8];
        select.extend_from_slice(&ISDR_AID);
        let r = self.tx(Step::Open, &select)?;
        let cla = self.cla(false)?;
        let (_, s) = self.follow(Step::Open, cla, r)?;
        ensure!(s == 0x9000, "SELECT ISD-R answered {s:04X}");
        Ok(())
    }

    /// One ES10 message as STORE DATA blocks; the answer's data (SW 90 00 required).
    fn es10(&mut self, step: Step, msg: &[u8]) -> Result<Vec<u8>> {
        let cmds = apdu::sgp22::store_data::segment(self.channel, msg, LPAC_BLOCK, false);
        let n = cmds.len();
        let cla = self.cla(true)?;
        let mut out = Vec::new();
        for (i, c) in cmds.into_iter().enumerate() {
            let bytes = c
                .to_bytes()
                .map_err(|e| anyhow!("{}: STORE DATA block: {e}", step.name()))?;
            let r = self.tx(step, &bytes)?;
            let (data, s) = self.follow(step, cla, r)?;
            ensure!(
                s == 0x9000,
                "{}: block {i} of {n} answered {s:04X}",
                step.name()
            );
            if i + 1 < n {
                ensure!(
                    data.is_empty(),
                    "{}: intermediate block {i} answered data",
                    step.name()
                );
            } else {
                out = data;
            }
        }
        Ok(out)
    }

    fn close(&mut self) -> Result<()> {
        let r = self.tx(Step::Close, &[0x00, 0x70, 0x80, self.channel, 0x00])?;
        ensure!(
            sw(&r)? == 0x9000,
            "MANAGE CHANNEL close answered {}",
            hex::encode_upper(&r)
        );
        Ok(())
    }
}

/// The card's key from its CERT.EUICC, after checking that the certificate is the
/// folder's and chains through CERT.EUM to the folder's CI.
fn card_key(smdp: &Smdp, euicc_der: &[u8], eum_der: &[u8]) -> Result<PublicKey> {
    let euicc = Cert::from_der(euicc_der).map_err(|e| anyhow!("CERT.EUICC: {e}"))?;
    let eum = Cert::from_der(eum_der).map_err(|e| anyhow!("CERT.EUM: {e}"))?;
    ensure!(
        euicc.der() == smdp.euicc.der(),
        "the card's CERT.EUICC is not the PKI folder's"
    );
    verify_chain(
        &euicc,
        std::slice::from_ref(&eum),
        std::slice::from_ref(&smdp.ci),
        Role::Euicc,
        None,
    )
    .map_err(|e| anyhow!("CERT.EUICC does not chain to the CI: {e}"))?;
    euicc
        .public_key()
        .map_err(|e| anyhow!("CERT.EUICC key: {e}"))
}

fn verify(key: &PublicKey, what: &str, msg: &[u8], sig: &[u8]) -> Result<()> {
    let sig: [u8; 64] = sig
        .try_into()
        .map_err(|_| anyhow!("{what}: {} bytes, not 64", sig.len()))?;
    key.verify(msg, &sig)
        .map_err(|e| anyhow!("{what} does not verify with CERT.EUICC: {e}"))
}

/// Runs the whole download of `order` into `card` (see the module doc); `Err` names the
/// step that failed. The card must have no session running on another channel.
pub fn download<T: Transmit + ?Sized>(
    card: &mut T,
    smdp: &mut Smdp,
    order: &Order,
) -> Result<Download> {
    let mut lpa = Lpa {
        card,
        channel: 0,
        log: Vec::new(),
    };
    lpa.open()?;

    // GetEUICCChallenge, GetEUICCInfo1: the card trusts and signs under our CI.
    let r = lpa.es10(
        Step::GetEuiccChallenge,
        &Es10Request::GetEuiccChallenge.encode(),
    )?;
    let challenge = ChallengeResponse::decode(&r)
        .map_err(|e| anyhow!("GetEUICCChallenge answer: {e}"))?
        .0;
    let r = lpa.es10(Step::GetEuiccInfo1, &Es10Request::GetEuiccInfo1.encode())?;
    let info1 = EuiccInfo1::decode(&r).map_err(|e| anyhow!("GetEUICCInfo1 answer: {e}"))?;
    let ci_pkid = smdp
        .ci
        .subject_key_id()
        .map_err(|e| anyhow!("CI certificate: {e}"))?;
    ensure!(
        info1.signing_keys.contains(&ci_pkid) && info1.verification_keys.contains(&ci_pkid),
        "EUICCInfo1 does not list the folder's CI key id {}",
        hex::encode_upper(&ci_pkid)
    );

    // ES9+ InitiateAuthentication -> ES10b AuthenticateServer.
    let transaction_id = smdp.random16().to_vec();
    let server_challenge = smdp.random16();
    let signed1 = Encoded::new(ServerSigned1 {
        transaction_id: transaction_id.clone(),
        euicc_challenge: challenge,
        server_address: smdp.host.clone(),
        server_challenge,
    });
    let auth = AuthenticateServerRequest {
        server_signature1: smdp.dp_auth.1.sign(signed1.der()).to_vec(),
        server_signed1: signed1,
        ci_pkid,
        server_certificate: smdp.dp_auth.0.der().to_vec(),
        ctx_params1: Encoded::new(CtxParams1 {
            matching_id: Some(order.matching_id.clone()),
            device_info: DeviceInfo {
                tac: LPAC_TAC.to_vec(),
                capabilities: vec![],
                imei: None,
            },
        }),
    };
    let r = lpa.es10(Step::AuthenticateServer, &auth.encode())?;
    let ok = match AuthenticateServerResponse::decode(&r)
        .map_err(|e| anyhow!("AuthenticateServer answer: {e}"))?
    {
        AuthenticateServerResponse::Ok(ok) => ok,
        AuthenticateServerResponse::Error { code, .. } => {
            bail!("AuthenticateServer refused: {code:?}")
        }
    };
    let key = card_key(smdp, &ok.euicc_certificate, &ok.eum_certificate)?;
    verify(
        &key,
        "euiccSignature1",
        ok.euicc_signed1.der(),
        &ok.euicc_signature1,
    )?;
    let s1 = ok.euicc_signed1.value();
    ensure!(
        s1.transaction_id == transaction_id
            && s1.server_challenge == server_challenge
            && s1.server_address == smdp.host
            && s1.ctx_params1 == auth.ctx_params1.der(),
        "euiccSigned1 does not echo transactionId, serverChallenge, serverAddress and ctxParams1"
    );

    // ES9+ AuthenticateClient -> ES10b PrepareDownload.
    let signed2 = Encoded::new(SmdpSigned2 {
        transaction_id: transaction_id.clone(),
        cc_required: false,
        bpp_euicc_otpk: None,
    });
    let prep = PrepareDownloadRequest {
        smdp_signature2: smdp
            .dp_pb
            .1
            .sign(&signed_data::smdp_signature2(
                signed2.der(),
                &ok.euicc_signature1,
            ))
            .to_vec(),
        smdp_signed2: signed2,
        hash_cc: None,
        smdp_certificate: smdp.dp_pb.0.der().to_vec(),
    };
    let r = lpa.es10(Step::PrepareDownload, &prep.encode())?;
    let ok2 = match PrepareDownloadResponse::decode(&r)
        .map_err(|e| anyhow!("PrepareDownload answer: {e}"))?
    {
        PrepareDownloadResponse::Ok(ok) => ok,
        PrepareDownloadResponse::Error { code, .. } => {
            bail!("PrepareDownload refused: {code:?}")
        }
    };
    verify(
        &key,
        "euiccSignature2",
        &signed_data::euicc_signature2(ok2.euicc_signed2.der(), &prep.smdp_signature2),
        &ok2.euicc_signature2,
    )?;
    let s2 = ok2.euicc_signed2.value();
    ensure!(
        s2.transaction_id == transaction_id,
        "euiccSigned2 carries another transactionId"
    );

    // ES9+ GetBoundProfilePackage: the BPP bound to the card's one-time key.
    let euicc_otpk = s2.euicc_otpk.clone();
    let otsk = PrivateKey::generate(smdp.curve, &mut smdp.rng);
    let mut isc = InitialiseSecureChannel {
        remote_op_id: 1,
        transaction_id: transaction_id.clone(),
        crt: ControlRefTemplate::aes128(b"veuicc-t"),
        smdp_otpk: otsk.public_key().to_sec1(),
        smdp_sign: Vec::new(),
    };
    isc.smdp_sign = smdp.dp_pb.1.sign(&isc.signed_data(&euicc_otpk)).to_vec();
    let peer =
        PublicKey::from_sec1(smdp.curve, &euicc_otpk).map_err(|e| anyhow!("euiccOtpk: {e}"))?;
    let shs = otsk
        .ecdh(&peer)
        .ok_or_else(|| anyhow!("euiccOtpk is on another curve"))?;
    let eid = smdp.eid()?;
    let session_keys = SessionKeys::kdf(shs.as_slice(), &isc.crt, &eid.0)
        .map_err(|e| anyhow!("session key derivation: {e}"))?;
    let ppk = order
        .ppk
        .then(|| SessionKeys::from_parts(smdp.random16(), smdp.random16(), smdp.random16()));
    let bpp = BppBuilder {
        isc,
        configure_isdp: vec![0xBF, 0x24, 0x00],
        store_metadata: order.metadata(&smdp.host).encode(),
        ppk,
        upp: order.package.clone(),
    }
    .build(&session_keys);
    let messages = split_segments(&bpp).map_err(|e| anyhow!("cutting the BPP: {e}"))?;

    // ES10b LoadBoundProfilePackage, one message per piece.
    let mut answer = Vec::new();
    let mut in_elements = false;
    for (i, m) in messages.iter().enumerate() {
        in_elements |= m.first() == Some(&0xA3);
        let step = match (i, in_elements) {
            (0, _) => Step::InitialiseSecureChannel,
            (_, false) => Step::ConfigureAndMetadata,
            (_, true) => Step::ProfileElements,
        };
        answer = lpa.es10(step, m)?;
        if i + 1 < messages.len() && !answer.is_empty() {
            let why = ProfileInstallationResult::decode(&answer)
                .map(|p| format!("{:?}", p.data.value().final_result))
                .unwrap_or_else(|_| hex::encode_upper(&answer));
            bail!(
                "LoadBoundProfilePackage: message {i} of {} (tag {:02X}) answered {why}",
                messages.len(),
                m.first().copied().unwrap_or(0)
            );
        }
    }
    let pir = ProfileInstallationResult::decode(&answer)
        .map_err(|e| anyhow!("ProfileInstallationResult: {e}"))?;
    verify(&key, "euiccSignPIR", pir.data.der(), &pir.signature)?;
    let d = pir.data.value();
    ensure!(
        d.transaction_id == transaction_id,
        "the PIR carries another transactionId"
    );
    match &d.final_result {
        FinalResult::Success { .. } => {}
        other => bail!("the install failed: {other:?}"),
    }
    let iccid = order.iccid;
    ensure!(
        d.notification.iccid == Some(iccid) && d.notification.events == events::INSTALL,
        "the PIR's notification is not the install of {}",
        iccid.digits()
    );
    let seq = d.notification.seq;

    // The install notification, as `lpac notification process -r` handles it.
    let req = RetrieveNotificationsListRequest {
        search: Some(SearchCriteria::SeqNumber(seq)),
    };
    let r = lpa.es10(Step::RetrieveNotifications, &req.encode())?;
    match RetrieveNotificationsListResponse::decode(&r)
        .map_err(|e| anyhow!("RetrieveNotificationsList answer: {e}"))?
    {
        RetrieveNotificationsListResponse::List(items) => match &items[..] {
            [PendingNotification::InstallResult(got)] if got.encode() == answer => {}
            other => bail!(
                "RetrieveNotificationsList({seq}) served {} items, not the PIR",
                other.len()
            ),
        },
        RetrieveNotificationsListResponse::Error(e) => {
            bail!("RetrieveNotificationsList({seq}) refused: {e:?}")
        }
    }
    let remove = Es10Request::RemoveNotification(seq);
    let r = lpa.es10(Step::RemoveNotification, &remove.encode())?;
    let code = ResultCode::decode(remove.tag(), &r)
        .map_err(|e| anyhow!("RemoveNotificationFromList answer: {e}"))?
        .code;
    ensure!(
        code == 0,
        "RemoveNotificationFromList({seq}) answered {code}"
    );
    lpa.close()?;

    Ok(Download {
        exchanges: lpa.log,
        pir,
        bpp_messages: messages,
        session_keys,
    })
}

/// Runs `card_sim pki init DIR --eid EID --smdp-host HOST --seed SEED --force`: a whole
/// test PKI for the card and this SM-DP+ (the folder [`Smdp::from_pki_dir`] reads and
/// `card-sim --pki DIR` loads).
pub fn pki_init(card_sim: &Path, dir: &Path, eid: &str, host: &str, seed: u64) -> Result<()> {
    let out = std::process::Command::new(card_sim)
        .args(["pki", "init"])
        .arg(dir)
        .args([
            "--eid",
            eid,
            "--smdp-host",
            host,
            "--seed",
            &seed.to_string(),
        ])
        .arg("--force")
        .output()
        .with_context(|| format!("running {}", card_sim.display()))?;
    ensure!(
        out.status.success(),
        "{} pki init failed ({}): {}",
        card_sim.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
