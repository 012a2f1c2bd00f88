//! cargo-fuzz target `parse`: see `rtkvm_fuzz::parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rtkvm_fuzz::parse(data);
});
