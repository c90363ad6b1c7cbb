//! cargo-fuzz target `apdu_command`: see `euicc_fuzz::codecs::apdu_command` for what it checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| euicc_fuzz::codecs::apdu_command(data));
