//! The caps every part of the parser checks against, in one place (each bounds the
//! memory one script can make the parser or the replay hold).

use std::time::Duration;

/// Largest script file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// Longest line accepted, in characters (a 65 536-byte response fits in hex without spaces).
pub const MAX_LINE_CHARS: usize = 256 * 1024;
/// Longest command, in bytes, as written or rendered (extended APDU: 4 + 3 + 65 535 + 2).
pub const MAX_COMMAND_BYTES: usize = 65_544;
/// Longest value a variable may hold (a captured response data field of Ne = 65 536).
pub const MAX_VALUE_BYTES: usize = 65_536;
/// Most distinct variable names in one script, and most entries in one [`Vars`].
pub const MAX_VARIABLES: usize = 256;
/// Longest variable name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Most `#<` alternatives after one command.
pub const MAX_ALTERNATIVES: usize = 16;
/// Longest `#! pause`.
pub const MAX_PAUSE: Duration = Duration::from_secs(600);
/// Highest logical channel (ISO/IEC 7816-4 §5.4.1: further interindustry CLA, 4-19).
pub const MAX_CHANNEL: u8 = 19;
