//! cargo-fuzz target `es9p_requests`: the SM-DP+'s ES9+ request handling, the ES9+ JSON
//! parsers and the activation-code parser (input format and checks: `euicc_fuzz::es9p`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| euicc_fuzz::es9p::es9p_requests(data));
