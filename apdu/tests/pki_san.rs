//! The SM-DP+ OID of a real CERT.DPauth: the certificate osmocom pySim's
//! `generate_smdpp_certs.py` made for osmo-smdpp (public test material, SAN registeredID
//! `2.999.10`, as `openssl x509 -ext subjectAltName` shows it).

use apdu::sgp22::pki::cert::registered_id_in_san;
use apdu::sgp22::pki::Cert;

#[test]
fn dpauth_registered_id() {
    let cert = Cert::from_der(include_bytes!("data/osmo_smdpp_dpauth_nist.der")).unwrap();
    // 2.999.10: first subidentifier 2*40+999 = 1079 = 0x88 0x37 (base 128), then 0x0A.
    assert_eq!(
        cert.first_subject_alt_registered_id(),
        Some(vec![0x88, 0x37, 0x0A])
    );
    // A SAN with a dNSName only, and one with the registeredID second.
    assert_eq!(registered_id_in_san(&[0x30, 0x03, 0x82, 0x01, b'a']), None);
    assert_eq!(
        registered_id_in_san(&[0x30, 0x08, 0x82, 0x01, b'a', 0x88, 0x03, 0x88, 0x37, 0x0A]),
        Some(vec![0x88, 0x37, 0x0A])
    );
    assert_eq!(registered_id_in_san(&[0x04, 0x00]), None);
}
