//! A `stampede.toml` of any text: a config or a one-line error.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = stampede_cli::config::parse(text);
    }
});
