//! cargo-fuzz target `domain`: see `rtkvm_fuzz::domain`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rtkvm_fuzz::domain(data);
});
