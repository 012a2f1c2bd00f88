//! cargo-fuzz target `pipeline`: see `rtkvm_fuzz::pipeline`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rtkvm_fuzz::pipeline(data);
});
