//! cargo-fuzz target `sm_answers`: the SM's and LPA's parsing of card answers (input
//! format and checks: `euicc_fuzz::answers`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| euicc_fuzz::answers::sm_answers(data));
