//! cargo-fuzz target `es10_decode`: see `euicc_fuzz::codecs::es10_decode` for what it checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| euicc_fuzz::codecs::es10_decode(data));
