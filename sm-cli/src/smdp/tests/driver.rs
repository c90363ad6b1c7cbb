//! A minimal LPA for the SM-DP+ tests: card-sim's `Euicc` in process as the card (the
//! ES10 messages as STORE DATA blocks of 120 bytes, `61xx` followed, as lpac sends them)
//! and the SM-DP+ through `es9p::InProcess`. Each step is its own method so a test can
//! tamper with what goes to the SM-DP+ in between.

use crate::es9p::{Es9Transport, InProcess};
use crate::smdp::service::Smdp;
use apdu::sgp22::bpp::split_segments;
use apdu::sgp22::es10::{ChallengeResponse, Es10Request};
use apdu::sgp22::es10b::{
    CancelSessionReason, CancelSessionRequest, CtxParams1, DeviceInfo, Es10bRequest,
};
use apdu::sgp22::es9p::{
    self as json, AuthenticateClientOk, AuthenticateClientRequest, CancelSessionOk,
    CancelSessionRequest as Es9Cancel, GetBoundProfilePackageOk, GetBoundProfilePackageRequest,
    HandleNotificationRequest, InitiateAuthenticationOk, InitiateAuthenticationRequest, Response,
    StatusCode, StatusCodeData, TransactionId,
};
use card_sim::card::{atr, Euicc};
use card_sim::state::new_card::{derive_eid, new_card};
use card_sim::state::{MemoryStorage, Storage};
use card_sim::transport::Transport;
use card_sim::vpcd::Card;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde::de::DeserializeOwned;
use std::sync::Arc;

const ISDR: &str = "A0000005591010FFFFFFFF8900000100";

/// How an ES9+ call ended when it did not succeed.
#[derive(Debug)]
pub enum Es9Fail {
    /// HTTP status other than 200/204.
    Http(u16),
    /// Failed with this status code data.
    Status(StatusCodeData),
}

impl Es9Fail {
    /// The SGP.22 code, or panics with what happened instead (tests only).
    pub fn code(&self) -> StatusCode {
        match self {
            Es9Fail::Status(d) => d.code().unwrap_or_else(|| panic!("unknown code {d:?}")),
            Es9Fail::Http(s) => panic!("expected an SGP.22 status, got HTTP {s}"),
        }
    }
}

/// A card-sim card in process.
pub struct SimCard {
    card: Transport<Euicc>,
    channel: u8,
    pub eid: apdu::Eid,
}

impl SimCard {
    pub fn new(slot: u16) -> SimCard {
        let storage = Arc::new(MemoryStorage::new());
        let eid = derive_eid(Some(7), slot);
        let state = new_card(eid, 0);
        storage.save(&state).unwrap();
        let euicc = Euicc::new(
            state,
            Box::new(storage),
            ChaCha20Rng::seed_from_u64(u64::from(slot) + 1000),
            atr::DEFAULT_ATR.to_vec(),
        );
        let mut card = Transport::new(euicc);
        card.power_on();
        let mut c = SimCard {
            card,
            channel: 0,
            eid,
        };
        c.open();
        c
    }

    fn tx(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.card.transmit(apdu)
    }

    fn open(&mut self) {
        let r = self.tx(&[0x00, 0x70, 0x00, 0x00, 0x01]);
        assert_eq!(r.len(), 3, "MANAGE CHANNEL: {r:02X?}");
        self.channel = r[0];
        let aid = hex::decode(ISDR).unwrap();
        let mut select = vec![self.channel, 0xA4, 0x04, 0x00, aid.len() as u8];
        select.extend_from_slice(&aid);
        let first = self.tx(&select);
        let r = self.follow(self.channel, first);
        assert_eq!(&r[r.len() - 2..], &[0x90, 0x00], "SELECT ISD-R");
    }

    /// Follows `61xx`; returns data + the final SW.
    fn follow(&mut self, cla: u8, mut r: Vec<u8>) -> Vec<u8> {
        let mut data = Vec::new();
        loop {
            let n = r.len();
            data.extend_from_slice(&r[..n - 2]);
            if r[n - 2] != 0x61 {
                data.extend_from_slice(&r[n - 2..]);
                return data;
            }
            r = self.tx(&[cla, 0xC0, 0x00, 0x00, r[n - 1]]);
        }
    }

    /// One ES10 message; the answer's data (SW 9000 required).
    pub fn es10(&mut self, msg: &[u8]) -> Vec<u8> {
        let cmds = apdu::sgp22::store_data::segment(self.channel, msg, 120, false);
        let cla = 0x80 | self.channel;
        let mut out = Vec::new();
        for c in cmds {
            let r = self.tx(&c.to_bytes().unwrap());
            let r = self.follow(cla, r);
            let n = r.len();
            assert_eq!(&r[n - 2..], &[0x90, 0x00], "STORE DATA answered {r:02X?}");
            out = r[..n - 2].to_vec();
        }
        out
    }

    /// The ICCIDs of the card's profiles.
    pub fn has_profile(&mut self, iccid: &str) -> bool {
        let r = self.es10(
            &Es10Request::GetProfilesInfo(apdu::sgp22::es10::ProfileInfoRequest {
                search: None,
                tag_list: None,
            })
            .encode(),
        );
        let list = apdu::sgp22::es10::ProfileInfoResponse::decode(&r).unwrap();
        match list {
            apdu::sgp22::es10::ProfileInfoResponse::List(l) => l
                .iter()
                .any(|p| p.iccid.map(|i| i.digits()).as_deref() == Some(iccid)),
            _ => false,
        }
    }
}

/// One ES9+ call, its answer parsed.
pub fn call<T: DeserializeOwned>(smdp: &Smdp, function: &str, body: &[u8]) -> Result<T, Es9Fail> {
    let out = InProcess(smdp).call(function, body).map_err(|e| match e {
        crate::es9p::TransportError::Http { status, .. } => Es9Fail::Http(status),
        other => panic!("{other}"),
    })?;
    match json::parse_response::<T>(&out).expect("the SM-DP+ answers ES9+ JSON") {
        Response::Executed { body, .. } => Ok(body),
        Response::NotExecuted(s) => Err(Es9Fail::Status(
            s.status_code_data.expect("a failure carries its code"),
        )),
    }
}

/// The steps of one download, for tests that stop or tamper in between.
pub struct Download<'a> {
    pub card: &'a mut SimCard,
    pub smdp: &'a Smdp,
    pub matching_id: String,
    pub init: Option<InitiateAuthenticationOk>,
    pub auth_server_response: Vec<u8>,
    pub auth: Option<AuthenticateClientOk>,
    pub prepare_response: Vec<u8>,
}

impl<'a> Download<'a> {
    pub fn new(card: &'a mut SimCard, smdp: &'a Smdp, matching_id: &str) -> Self {
        Download {
            card,
            smdp,
            matching_id: matching_id.to_string(),
            init: None,
            auth_server_response: Vec::new(),
            auth: None,
            prepare_response: Vec::new(),
        }
    }

    pub fn tid(&self) -> TransactionId {
        self.init.as_ref().unwrap().transaction_id.clone()
    }

    /// GetEUICCChallenge, GetEUICCInfo1, ES9+ initiateAuthentication.
    pub fn initiate(&mut self) -> Result<(), Es9Fail> {
        let ch = self.card.es10(&Es10Request::GetEuiccChallenge.encode());
        let challenge = ChallengeResponse::decode(&ch).unwrap().0;
        let info1 = self.card.es10(&Es10Request::GetEuiccInfo1.encode());
        let req = InitiateAuthenticationRequest {
            header: None,
            euicc_challenge: challenge,
            euicc_info1: info1,
            smdp_address: self.smdp.address().to_string(),
        };
        self.init = Some(call(
            self.smdp,
            "initiateAuthentication",
            &json::encode_request(&req),
        )?);
        Ok(())
    }

    /// ES10b AuthenticateServer on the card (its answer kept for tampering).
    pub fn authenticate_server(&mut self) {
        let ctx = CtxParams1 {
            matching_id: Some(self.matching_id.clone()),
            device_info: DeviceInfo {
                tac: vec![0x35, 0x29, 0x06, 0x11],
                capabilities: vec![],
                imei: None,
            },
        };
        let req = self
            .init
            .as_ref()
            .unwrap()
            .authenticate_server_request(&ctx)
            .unwrap();
        self.auth_server_response = self
            .card
            .es10(&Es10bRequest::AuthenticateServer(Box::new(req)).encode());
    }

    /// ES9+ authenticateClient with the card's answer.
    pub fn authenticate_client(&mut self) -> Result<(), Es9Fail> {
        let req = AuthenticateClientRequest {
            header: None,
            transaction_id: self.tid(),
            authenticate_server_response: self.auth_server_response.clone(),
        };
        self.auth = Some(call(
            self.smdp,
            "authenticateClient",
            &json::encode_request(&req),
        )?);
        Ok(())
    }

    /// ES10b PrepareDownload (with the hashCc of `code`, if given).
    pub fn prepare(&mut self, code: Option<&str>) {
        let tid = self.tid();
        let hash = code
            .map(|c| json::hash_cc(&json::confirmation_code_hash(c.as_bytes()), tid.as_bytes()));
        let req = self
            .auth
            .as_ref()
            .unwrap()
            .prepare_download_request(hash)
            .unwrap();
        self.prepare_response = self
            .card
            .es10(&Es10bRequest::PrepareDownload(Box::new(req)).encode());
    }

    /// ES9+ getBoundProfilePackage.
    pub fn get_bpp(&mut self) -> Result<Vec<u8>, Es9Fail> {
        let req = GetBoundProfilePackageRequest {
            header: None,
            transaction_id: self.tid(),
            prepare_download_response: self.prepare_response.clone(),
        };
        let ok: GetBoundProfilePackageOk = call(
            self.smdp,
            "getBoundProfilePackage",
            &json::encode_request(&req),
        )?;
        Ok(ok.bound_profile_package)
    }

    /// LoadBoundProfilePackage, cut as lpac cuts it; the PIR (BF37).
    pub fn load(&mut self, bpp: &[u8]) -> Vec<u8> {
        let mut last = Vec::new();
        for m in split_segments(bpp).unwrap() {
            last = self.card.es10(&m);
        }
        last
    }

    /// ES9+ handleNotification (204 expected).
    pub fn notify(&mut self, pending: &[u8]) {
        let req = HandleNotificationRequest {
            header: None,
            pending_notification: pending.to_vec(),
        };
        let out = InProcess(self.smdp)
            .call("handleNotification", &json::encode_request(&req))
            .unwrap();
        assert!(
            out.is_empty(),
            "handleNotification answers 204 without a body"
        );
    }

    /// ES10b CancelSession on the card, then ES9+ cancelSession.
    pub fn cancel(&mut self, reason: CancelSessionReason) -> Result<(), Es9Fail> {
        let tid = self.tid();
        let r = self.card.es10(
            &Es10bRequest::CancelSession(CancelSessionRequest {
                transaction_id: tid.as_bytes().to_vec(),
                reason,
            })
            .encode(),
        );
        let req = Es9Cancel {
            header: None,
            transaction_id: tid,
            cancel_session_response: r,
        };
        let _: CancelSessionOk = call(self.smdp, "cancelSession", &json::encode_request(&req))?;
        Ok(())
    }

    /// The whole download up to the install and its notification; the PIR.
    pub fn run(&mut self, code: Option<&str>) -> Result<Vec<u8>, Es9Fail> {
        self.initiate()?;
        self.authenticate_server();
        self.authenticate_client()?;
        self.prepare(code);
        let bpp = self.get_bpp()?;
        let pir = self.load(&bpp);
        self.notify(&pir);
        Ok(pir)
    }
}
