//! ISO/IEC 7816-4 (and the ETSI TS 102 221 additions a UICC uses): command and response
//! APDUs, the class byte, status words, and BER-TLV with caps checked before parsing.

pub mod command;
pub mod ins;
pub mod response;
pub mod sw;
pub mod tlv;
