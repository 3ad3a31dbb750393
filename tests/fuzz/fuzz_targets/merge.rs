//! Summaries given to `stampede merge`: two documents of any bytes (split at the first
//! NUL), read and merged, or refused; never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (a, b) = text.split_once('\0').unwrap_or((&text, &text));
    let parts: Vec<_> = [a, b]
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            stampede::gate::Judged::from_json(t)
                .ok()
                .map(|j| (format!("part{i}"), j.summary))
        })
        .collect();
    if !parts.is_empty() {
        let _ = stampede::metrics::segments::merge_segments(parts, true);
    }
});
