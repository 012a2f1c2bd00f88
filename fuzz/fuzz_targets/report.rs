//! cargo-fuzz target `report`: see `rtkvm_fuzz::report`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rtkvm_fuzz::report(data);
});
