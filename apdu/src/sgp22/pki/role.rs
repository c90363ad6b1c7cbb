//! The SGP.22 certificate roles (SGP.22 §4.5.2.1.0.1, certificate policies `id-rspRole`).

/// id-rspRole (SGP.22 §4.5.2.1.0.1: `2.23.146.1.2.1`), the certificate policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Ci,
    Euicc,
    Eum,
    DpTls,
    DpAuth,
    DpPb,
}

impl Role {
    /// The policy OID `2.23.146.1.2.1.n` (pySim's generate_smdpp_certs.py agrees).
    pub fn oid(self) -> der::asn1::ObjectIdentifier {
        use der::asn1::ObjectIdentifier as O;
        match self {
            Role::Ci => O::new_unwrap("2.23.146.1.2.1.0"),
            Role::Euicc => O::new_unwrap("2.23.146.1.2.1.1"),
            Role::Eum => O::new_unwrap("2.23.146.1.2.1.2"),
            Role::DpTls => O::new_unwrap("2.23.146.1.2.1.3"),
            Role::DpAuth => O::new_unwrap("2.23.146.1.2.1.4"),
            Role::DpPb => O::new_unwrap("2.23.146.1.2.1.5"),
        }
    }
}
