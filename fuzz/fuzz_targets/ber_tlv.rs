//! cargo-fuzz target `ber_tlv`: see `euicc_fuzz::codecs::ber_tlv` for what it checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| euicc_fuzz::codecs::ber_tlv(data));
