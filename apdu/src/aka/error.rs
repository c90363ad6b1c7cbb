//! [`AkaError`]: why an AKA input or configuration was refused. Authentication results
//! (MAC failure, synchronisation failure) are not errors but [`super::AuthOutcome`]s.

/// Why an AKA input or parameter was refused. Messages never contain key material.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AkaError {
    /// A key, OPc or constant of the wrong length or range (TS 35.206 §4.1, SAIP
    /// AlgoParameter).
    #[error("invalid algorithm parameter: {0}")]
    Parameter(&'static str),
    /// An SQN configuration out of range (TS 33.102 Annex C, SAIP PE-AKAParameter).
    #[error("invalid SQN configuration: {0}")]
    SqnConfig(&'static str),
    /// A stored SQN state that does not fit its configuration.
    #[error("invalid SQN state: {0}")]
    SqnState(&'static str),
    /// AUTHENTICATE with P1/P2 this USIM does not serve (TS 31.102 §7.1.2); the card
    /// answers 6A86.
    #[error("unsupported AUTHENTICATE P1/P2 {p1:02X}{p2:02X}")]
    UnsupportedContext { p1: u8, p2: u8 },
    /// AUTHENTICATE data not as TS 31.102 §7.1.2.1 lays it out; the card answers 6A80
    /// (or 6700 for a wrong length).
    #[error("malformed AUTHENTICATE data: {0}")]
    CommandData(&'static str),
    /// AUTS whose MAC-S does not verify (TS 33.102 §6.3.5): the network refuses the
    /// resynchronisation.
    #[error("AUTS does not verify")]
    AutsMac,
}
