//! Parsers of the values every layer reads (durations, target URLs): a leaf that
//! the config, the executors, the demo shop and the CLI share, so none of them reaches
//! up into another for them.

use std::time::Duration;

use url::Url;

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
