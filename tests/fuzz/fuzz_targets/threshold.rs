//! A threshold expression of any text: parsed to rules or a one-line error.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(e) = stampede::gate::threshold::parse(text)
    {
        assert!(!e.contains('\n'), "{e}");
    }
});
