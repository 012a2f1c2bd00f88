//! cargo-fuzz target `exports`: see `rtkvm_fuzz::exports`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rtkvm_fuzz::exports(data);
});
