//! The SGP.22 PKI (SGP.22 §2.6, §4.5.2), shared by the card and the SM-DP+ side, no I/O:
//!
//! - [`key`]: EC keys on NIST P-256 and brainpoolP256r1, signatures in the SGP.22 plain
//!   `r || s` form and DER, ECKA-DH;
//! - [`cert`]: X.509 certificates (x509-cert), key identifiers, role policies, the EID,
//!   and [`verify_chain`];
//! - [`error`]: why something is refused ([`PkiError`]);
//! - [`role`]: the `id-rspRole` policy OIDs;
//! - [`gen`]: a deterministic test-PKI generator in the shape of SGP.26 / pySim's
//!   `contrib/generate_smdpp_certs.py`.

pub mod cert;
pub mod error;
pub mod gen;
pub mod key;
pub mod role;

pub use cert::{verify_chain, Cert};
pub use error::PkiError;
pub use key::{der_to_raw, raw_to_der, Curve, PrivateKey, PublicKey};
pub use role::Role;
