//! cargo-fuzz target `sm_requests`: the remote SM's HTTP endpoints (startFlow, stepFlow,
//! admin/...) as `smdp serve` hands them bodies and Authorization headers (input format
//! and checks: `euicc_fuzz::sm_remote`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| euicc_fuzz::sm_remote::sm_requests(data));
