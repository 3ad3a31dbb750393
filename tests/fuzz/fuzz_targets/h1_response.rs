//! An HTTP/1.1 response of any bytes, in reads of any size: head parsing, framing and
//! chunked decoding never panic, loop or grow without bound.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    stampede::client::fuzz_h1_response(data);
});
