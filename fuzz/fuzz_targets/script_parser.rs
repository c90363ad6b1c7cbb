//! cargo-fuzz target `script_parser`: see `euicc_fuzz::codecs::script_parser` for what it checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| euicc_fuzz::codecs::script_parser(data));
