//! cargo-fuzz target `link`: see `rtkvm_fuzz::link`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rtkvm_fuzz::link(data);
});
