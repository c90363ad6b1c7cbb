//! The instruction bytes both sides use, defined once: the card decodes them
//! (card-sim's `card/command.rs`, `transport/`), the client sends them (sm-cli's
//! `lpa/`, `reader/`, `terminal/`, `script/`). Each constant names the section that
//! defines it.

/// SELECT (ISO/IEC 7816-4 §11.2.2).
pub const SELECT: u8 = 0xA4;
/// GET RESPONSE (ISO/IEC 7816-4 §11.4.3; T=0 case 4, `61xx`).
pub const GET_RESPONSE: u8 = 0xC0;
/// READ BINARY (ISO/IEC 7816-4 §11.3.3).
pub const READ_BINARY: u8 = 0xB0;
/// UPDATE BINARY (ISO/IEC 7816-4 §11.3.5).
pub const UPDATE_BINARY: u8 = 0xD6;
/// READ RECORD (ISO/IEC 7816-4 §11.3.4).
pub const READ_RECORD: u8 = 0xB2;
/// UPDATE RECORD (ISO/IEC 7816-4 §11.3.7).
pub const UPDATE_RECORD: u8 = 0xDC;
/// VERIFY (ISO/IEC 7816-4 §11.5.6; ETSI TS 102 221 §11.1.9 VERIFY PIN).
pub const VERIFY: u8 = 0x20;
/// CHANGE REFERENCE DATA (ISO/IEC 7816-4 §11.5.7; ETSI TS 102 221 §11.1.10 CHANGE PIN).
pub const CHANGE_REFERENCE_DATA: u8 = 0x24;
/// DISABLE VERIFICATION REQUIREMENT (ISO/IEC 7816-4 §11.5.9; ETSI TS 102 221 §11.1.11
/// DISABLE PIN).
pub const DISABLE_VERIFICATION: u8 = 0x26;
/// ENABLE VERIFICATION REQUIREMENT (ISO/IEC 7816-4 §11.5.8; ETSI TS 102 221 §11.1.12
/// ENABLE PIN).
pub const ENABLE_VERIFICATION: u8 = 0x28;
/// RESET RETRY COUNTER (ISO/IEC 7816-4 §11.5.10; ETSI TS 102 221 §11.1.13 UNBLOCK PIN).
pub const UNBLOCK_PIN: u8 = 0x2C;
/// SEARCH RECORD (ISO/IEC 7816-4 §11.3.7; ETSI TS 102 221 §11.1.7).
pub const SEARCH_RECORD: u8 = 0xA2;
/// AUTHENTICATE (ETSI TS 102 221 §11.1.16; 3GPP TS 31.102 §7.1.2 in the USIM).
pub const AUTHENTICATE: u8 = 0x88;
/// MANAGE CHANNEL (ISO/IEC 7816-4 §11.1.2).
pub const MANAGE_CHANNEL: u8 = 0x70;
/// STATUS (ETSI TS 102 221 §11.1.2).
pub const STATUS: u8 = 0xF2;
/// TERMINAL CAPABILITY (ETSI TS 102 221 §11.1.19).
pub const TERMINAL_CAPABILITY: u8 = 0xAA;
/// TERMINAL PROFILE (ETSI TS 102 221 §11.2.1, TS 102 223 §5.2).
pub const TERMINAL_PROFILE: u8 = 0x10;
/// ENVELOPE (ETSI TS 102 221 §11.2.2, TS 102 223 §7).
pub const ENVELOPE: u8 = 0xC2;
/// FETCH (ETSI TS 102 221 §11.2.3, TS 102 223 §6.3).
pub const FETCH: u8 = 0x12;
/// TERMINAL RESPONSE (ETSI TS 102 221 §11.2.4, TS 102 223 §6.8).
pub const TERMINAL_RESPONSE: u8 = 0x14;
/// STORE DATA (GlobalPlatform Card Specification 2.3 §11.11; SGP.22 §5.7.2).
pub const STORE_DATA: u8 = 0xE2;

/// Whether `ins` is invalid in every class (ISO/IEC 7816-3 §10.3.2: `6x` and `9x` are
/// procedure bytes under T=0, so no command may use them).
pub fn is_invalid(ins: u8) -> bool {
    matches!(ins & 0xF0, 0x60 | 0x90)
}
