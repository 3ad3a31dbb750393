//! Parsers of the values every layer reads (durations, target URLs): a leaf that
//! the config, the executors, the demo shop and the CLI share, so none of them reaches
//! up into another for them.

use std::time::Duration;

use url::Url;

/// A memory size: `8GiB`, `512MiB`, `2G`, `1.5 GiB` (binary units: K, M, G, T, with or
/// without `iB`/`B`); a bare number is MiB.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a size; write it like 8GiB or 512MiB");
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "m" | "mb" | "mib" => 20,
        "k" | "kb" | "kib" => 10,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(bad()),
    };
    let scale = (1u64 << shift) as f64;
    match num.parse::<f64>() {
        Ok(n) if n > 0.0 && n * scale < u64::MAX as f64 => Ok((n * scale) as u64),
        _ => Err(bad()),
    }
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration ({e}); write it like 30s, 1m30s or 500ms"))?;
    Ok(d)
}

/// An absolute http(s) URL with a host, or why not.
pub fn parse_target_url(t: &str) -> Result<Url, String> {
    let url = Url::parse(t).map_err(|e| {
        format!("not an absolute URL ({e}); write it like https://staging.example.com")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http:// or https:// URL with a host".into());
    }
    // Its path prefixes every relative request path; a query or fragment would be
    // dropped from every request, so it is refused rather than ignored.
    if url.query().is_some() || url.fragment().is_some() {
        return Err(
            "has a query or fragment, which requests would not carry; give the base URL only (a path is fine: it prefixes relative paths)"
                .into(),
        );
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_units_and_refuse_the_rest_in_one_line() {
        assert_eq!(parse_size("8GiB"), Ok(8 << 30));
        assert_eq!(parse_size("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("300"), Ok(300 << 20));
        for bad in ["", "0", "GiB", "-1GiB", "8 parsecs", "1e400"] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.contains("write it like 8GiB"), "{bad}: {e}");
        }
    }
}
