//! The SM-DP+ checks of AuthenticateServer (SGP.22 §5.7.13) and PrepareDownload
//! (§5.7.14) as pure functions over `apdu::sgp22::pki`, so the card's functions only
//! add the session and the answer. Not yet called by the card: the card's persistent
//! state does not hold its PKI (trusted CIs, eUICC key and certificates) yet.

use apdu::sgp22::es10b::{
    signed_data, AuthenticateErrorCode, AuthenticateServerRequest, DownloadErrorCode,
    PrepareDownloadRequest,
};
use apdu::sgp22::pki::{verify_chain, Cert, PkiError, Role};

/// A 64-byte r||s signature, or `None`.
fn raw_signature(sig: &[u8]) -> Option<[u8; 64]> {
    sig.try_into().ok()
}

/// §5.7.13 steps on the server: CERT.DPauth parses and chains to one of `trusted` with
/// the dp-auth role (`invalidCertificate`, `invalidOid` for the wrong role),
/// serverSignature1 verifies over the serverSigned1 TLV (`invalidSignature`), and
/// euiccCiPKIdToBeUsed is one of `signing_ci_skis` (`ciPKUnknown`). Returns CERT.DPauth.
pub fn authenticate_server(
    req: &AuthenticateServerRequest,
    trusted: &[Cert],
    signing_ci_skis: &[Vec<u8>],
) -> Result<Cert, AuthenticateErrorCode> {
    let cert = Cert::from_der(&req.server_certificate)
        .map_err(|_| AuthenticateErrorCode::InvalidCertificate)?;
    verify_chain(&cert, &[], trusted, Role::DpAuth, None).map_err(|e| match e {
        PkiError::WrongRole { .. } => AuthenticateErrorCode::InvalidOid,
        _ => AuthenticateErrorCode::InvalidCertificate,
    })?;
    let key = cert
        .public_key()
        .map_err(|_| AuthenticateErrorCode::UnsupportedCurve)?;
    let sig =
        raw_signature(&req.server_signature1).ok_or(AuthenticateErrorCode::InvalidSignature)?;
    key.verify(req.server_signed1.der(), &sig)
        .map_err(|_| AuthenticateErrorCode::InvalidSignature)?;
    if !signing_ci_skis.contains(&req.ci_pkid) {
        return Err(AuthenticateErrorCode::CiPkUnknown);
    }
    Ok(cert)
}

/// §5.7.14 steps on the server: CERT.DPpb chains to one of `trusted` with the dp-pb
/// role (`invalidCertificate`), and smdpSignature2 verifies over `smdpSigned2 ||
/// euiccSignature1` (`invalidSignature`), `euicc_signature1` being the card's own from
/// AuthenticateServer. Returns CERT.DPpb.
pub fn prepare_download(
    req: &PrepareDownloadRequest,
    trusted: &[Cert],
    euicc_signature1: &[u8],
) -> Result<Cert, DownloadErrorCode> {
    let cert =
        Cert::from_der(&req.smdp_certificate).map_err(|_| DownloadErrorCode::InvalidCertificate)?;
    verify_chain(&cert, &[], trusted, Role::DpPb, None)
        .map_err(|_| DownloadErrorCode::InvalidCertificate)?;
    let key = cert
        .public_key()
        .map_err(|_| DownloadErrorCode::UnsupportedCurve)?;
    let sig = raw_signature(&req.smdp_signature2).ok_or(DownloadErrorCode::InvalidSignature)?;
    let signed = signed_data::smdp_signature2(req.smdp_signed2.der(), euicc_signature1);
    key.verify(&signed, &sig)
        .map_err(|_| DownloadErrorCode::InvalidSignature)?;
    Ok(cert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use apdu::sgp22::es10b::{CtxParams1, DeviceInfo, Encoded, ServerSigned1, SmdpSigned2};
    use apdu::sgp22::pki::gen::{test_pki, TestPki};
    use apdu::sgp22::pki::Curve;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn pki(seed: u64) -> TestPki {
        let eid = crate::state::new_card::derive_eid(Some(1), 0);
        test_pki(
            Curve::NistP256,
            eid,
            "smdp.example",
            &mut ChaCha20Rng::seed_from_u64(seed),
        )
        .unwrap()
    }

    fn auth_request(p: &TestPki, server_cert: &[u8]) -> AuthenticateServerRequest {
        let signed = Encoded::new(ServerSigned1 {
            transaction_id: vec![1; 16],
            euicc_challenge: [2; 16],
            server_address: "smdp.example".into(),
            server_challenge: [3; 16],
        });
        AuthenticateServerRequest {
            server_signature1: p.dp_auth.key.sign(signed.der()).to_vec(),
            server_signed1: signed,
            ci_pkid: p.ci.cert.subject_key_id().unwrap(),
            server_certificate: server_cert.to_vec(),
            ctx_params1: Encoded::new(CtxParams1 {
                matching_id: None,
                device_info: DeviceInfo {
                    tac: vec![0; 4],
                    capabilities: vec![],
                    imei: None,
                },
            }),
        }
    }

    #[test]
    fn authenticate_server_checks() {
        let p = pki(1);
        let trusted = vec![p.ci.cert.clone()];
        let skis = vec![p.ci.cert.subject_key_id().unwrap()];
        let ok = auth_request(&p, p.dp_auth.cert.der());
        assert!(authenticate_server(&ok, &trusted, &skis).is_ok());
        // Another CI: the chain does not end at a trusted one.
        let other = pki(2);
        let foreign = vec![other.ci.cert.clone()];
        assert_eq!(
            authenticate_server(&ok, &foreign, &skis).unwrap_err(),
            AuthenticateErrorCode::InvalidCertificate
        );
        // CERT.DPpb is not a DPauth certificate.
        let wrong_role = auth_request(&p, p.dp_pb.cert.der());
        assert_eq!(
            authenticate_server(&wrong_role, &trusted, &skis).unwrap_err(),
            AuthenticateErrorCode::InvalidOid
        );
        // A flipped bit in the signature; a signature over other bytes.
        let mut bad = ok.clone();
        bad.server_signature1[10] ^= 1;
        assert_eq!(
            authenticate_server(&bad, &trusted, &skis).unwrap_err(),
            AuthenticateErrorCode::InvalidSignature
        );
        // A CI the card cannot sign for.
        assert_eq!(
            authenticate_server(&ok, &trusted, &[vec![0; 20]]).unwrap_err(),
            AuthenticateErrorCode::CiPkUnknown
        );
    }

    #[test]
    fn prepare_download_checks() {
        let p = pki(1);
        let trusted = vec![p.ci.cert.clone()];
        let euicc_sig1 = [0x42u8; 64];
        let signed = Encoded::new(SmdpSigned2 {
            transaction_id: vec![1; 16],
            cc_required: false,
            bpp_euicc_otpk: None,
        });
        let sig = p
            .dp_pb
            .key
            .sign(&signed_data::smdp_signature2(signed.der(), &euicc_sig1));
        let ok = PrepareDownloadRequest {
            smdp_signed2: signed,
            smdp_signature2: sig.to_vec(),
            hash_cc: None,
            smdp_certificate: p.dp_pb.cert.der().to_vec(),
        };
        assert!(prepare_download(&ok, &trusted, &euicc_sig1).is_ok());
        // Signed over another euiccSignature1 (another session).
        assert_eq!(
            prepare_download(&ok, &trusted, &[0x43; 64]).unwrap_err(),
            DownloadErrorCode::InvalidSignature
        );
        let mut dpauth = ok.clone();
        dpauth.smdp_certificate = p.dp_auth.cert.der().to_vec();
        assert_eq!(
            prepare_download(&dpauth, &trusted, &euicc_sig1).unwrap_err(),
            DownloadErrorCode::InvalidCertificate
        );
    }
}
