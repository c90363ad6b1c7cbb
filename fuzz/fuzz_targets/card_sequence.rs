//! cargo-fuzz target `card_sequence`: card-sim's dispatcher fed a sequence of APDUs and
//! power/reset events (input format: `euicc_fuzz::sequence`; checks:
//! `euicc_fuzz::harness`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| euicc_fuzz::harness::card_sequence(data));
