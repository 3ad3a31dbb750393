//! Requests filtered by their tags (k6's sub-metrics: `http_req_duration{type:API}`,
//! `http_reqs{status:201}`). Only the filters the run's thresholds name are kept, so a
//! run without them pays nothing past two fields of each sample.
//!
//! A request's tags are the host's own (`name`, `method`, `status`,
//! `expected_response`), the ones its VU set (`metrics.set-tags`: k6's `params.tags`
//! and group), then the scenario's configured tags (k6's `options.tags`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::event::RequestSample;
use super::names::{MAX_NAME_BYTES, NameId, Names};
use super::summary::{TaggedChecks, TaggedSummary, TrendSummary};
use super::trend::Trend;

/// A threshold's filter: its `key:value` pairs, all of which a record must carry.
pub type TagFilter = Vec<(String, String)>;

/// Distinct tag sets a run keeps apart, in a registry of their own: a scenario that
/// tags each request with an id cannot crowd out its request names. Past the cap a
/// set is folded into one that matches no filter, and the summary says so.
pub const MAX_TAG_SETS: usize = 1000;

/// Tags the host sets on every request; a scenario cannot set them.
pub const HOST_TAGS: &[&str] = &["name", "method", "status", "expected_response", "scenario"];

/// Between a key and its value, and between pairs, in a tag set's interned form.
const KV: char = '\u{1f}';
const PAIR: char = '\u{1e}';

/// A request's method, as its `method` tag reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    #[default]
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
    /// Any other: no `method` filter matches it.
    Other,
}

impl Method {
    pub fn of(method: &str) -> Method {
        match method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Other => "",
        }
    }
}

/// The interned form of a VU's tags (sorted by key), or why they are refused. `None`
/// for no tags.
pub fn encode(tags: &[(String, String)]) -> Result<Option<String>, String> {
    if tags.is_empty() {
        return Ok(None);
    }
    let mut sorted: Vec<&(String, String)> = tags.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (i, (k, v)) in sorted.iter().enumerate() {
        if k.is_empty() {
            return Err("a tag's key is empty".into());
        }
        if HOST_TAGS.contains(&k.as_str()) {
            return Err(format!(
                "the tag {k:?} is the host's own (name a request with its name)"
            ));
        }
        if k.chars().chain(v.chars()).any(char::is_control) {
            return Err(format!("the tag {k:?} holds a control character"));
        }
        if i > 0 && sorted[i - 1].0 == *k {
            return Err(format!("the tag {k:?} is given twice"));
        }
        if i > 0 {
            out.push(PAIR);
        }
        out.push_str(k);
        out.push(KV);
        out.push_str(v);
    }
    if out.len() > MAX_NAME_BYTES {
        return Err(format!(
            "tags of {} bytes in all; at most {MAX_NAME_BYTES}",
            out.len()
        ));
    }
    Ok(Some(out))
}

/// The value of `key` in an interned tag set.
fn lookup<'a>(set: &'a str, key: &str) -> Option<&'a str> {
    set.split(PAIR)
        .filter_map(|p| p.split_once(KV))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// One filter (its `key:value` pairs) and the requests it matched.
#[derive(Debug)]
struct Filter {
    pairs: TagFilter,
    requests: u64,
    failed: u64,
    duration: Trend,
    waiting: Trend,
}

/// One filter on checks, and the outcomes it matched.
#[derive(Debug)]
struct CheckFilter {
    pairs: TagFilter,
    passes: u64,
    fails: u64,
}

/// The filtered requests and checks of one aggregator.
#[derive(Debug, Default)]
pub struct Tagged {
    filters: Vec<Filter>,
    checks: Vec<CheckFilter>,
    /// The scenario's name and configured tags (k6's `options.tags`), matched last.
    scenario_tags: BTreeMap<String, String>,
    /// The run's tag sets (`None`: no filter, so no tag is ever read).
    registry: Option<Arc<Names>>,
    /// Tag sets and request names read from their registries, once each.
    sets: HashMap<NameId, Arc<str>>,
    names: HashMap<NameId, Arc<str>>,
}

impl Tagged {
    /// Keeps the requests matching each filter; their tag sets are interned in
    /// `registry`; `scenario_tags` (with `scenario`, its name) are every request's.
    pub fn new(
        filters: &[TagFilter],
        scenario_tags: BTreeMap<String, String>,
        registry: Arc<Names>,
    ) -> Self {
        let mut kept: Vec<Filter> = Vec::new();
        for pairs in filters {
            if !kept.iter().any(|f| f.pairs == *pairs) {
                kept.push(Filter {
                    pairs: pairs.clone(),
                    requests: 0,
                    failed: 0,
                    duration: Trend::new(),
                    waiting: Trend::new(),
                });
            }
        }
        Tagged {
            filters: kept,
            checks: Vec::new(),
            scenario_tags,
            registry: Some(registry),
            sets: HashMap::new(),
            names: HashMap::new(),
        }
    }

    /// The interned form of the tag set `id`.
    fn set(&mut self, id: Option<NameId>) -> Option<Arc<str>> {
        let (id, registry) = (id?, self.registry.as_ref()?);
        Some(
            self.sets
                .entry(id)
                .or_insert_with(|| registry.get(id))
                .clone(),
        )
    }

    /// Whether some tag set was folded for want of room.
    pub fn overflowed(&self) -> bool {
        self.registry.as_ref().is_some_and(|r| r.overflowed())
    }

    /// Also keeps the checks matching each filter.
    pub fn keep_checks(&mut self, filters: &[TagFilter]) {
        for pairs in filters {
            if !self.checks.iter().any(|f| f.pairs == *pairs) {
                self.checks.push(CheckFilter {
                    pairs: pairs.clone(),
                    passes: 0,
                    fails: 0,
                });
            }
        }
    }

    /// Adds a check's outcome to the filters it matches: by the tags its VU set, then
    /// the scenario's.
    pub fn add_check(&mut self, tags: Option<NameId>, ok: bool) {
        if self.checks.is_empty() {
            return;
        }
        let set = self.set(tags);
        let scenario = &self.scenario_tags;
        for f in &mut self.checks {
            let hit = f.pairs.iter().all(|(k, v)| {
                set.as_deref()
                    .and_then(|t| lookup(t, k))
                    .or(scenario.get(k).map(String::as_str))
                    == Some(v.as_str())
            });
            if hit {
                if ok { f.passes += 1 } else { f.fails += 1 }
            }
        }
    }

    /// The summary's `tagged_checks`: every check filter, matched or not.
    pub fn check_summaries(&self) -> Vec<TaggedChecks> {
        let mut out: Vec<TaggedChecks> = self
            .checks
            .iter()
            .map(|f| TaggedChecks {
                tag: label(&f.pairs),
                passes: f.passes,
                fails: f.fails,
            })
            .collect();
        out.sort_by(|a, b| a.tag.cmp(&b.tag));
        out
    }

    /// Adds `s` to the filters it matches.
    pub fn add(&mut self, s: &RequestSample, names: &Names) {
        if self.filters.is_empty() {
            return;
        }
        let set = self.set(s.tags);
        let name = self
            .names
            .entry(s.name)
            .or_insert_with(|| names.get(s.name))
            .clone();
        let failed = s.failed();
        let scenario = &self.scenario_tags;
        let one = |key: &str, value: &str| match key {
            "name" => *name == *value,
            "method" => s.method.as_str() == value,
            "status" => value.parse() == Ok(s.status),
            "expected_response" => (if failed { "false" } else { "true" }) == value,
            key => {
                set.as_deref()
                    .and_then(|t| lookup(t, key))
                    .or(scenario.get(key).map(String::as_str))
                    == Some(value)
            }
        };
        for f in &mut self.filters {
            if f.pairs.iter().all(|(k, v)| one(k, v)) {
                f.requests += 1;
                f.failed += failed as u64;
                f.duration.record(s.duration_us);
                f.waiting.record(s.waiting_us);
            }
        }
    }

    /// The summary's `tagged`: every filter, matched or not.
    pub fn summaries(&self) -> Vec<TaggedSummary> {
        let mut out: Vec<TaggedSummary> = self
            .filters
            .iter()
            .map(|f| TaggedSummary {
                tag: label(&f.pairs),
                requests: f.requests,
                failed: f.failed,
                duration: TrendSummary::from_trend(&f.duration, 1e-3, "us"),
                waiting: TrendSummary::from_trend(&f.waiting, 1e-3, "us"),
            })
            .collect();
        out.sort_by(|a, b| a.tag.cmp(&b.tag));
        out
    }
}

/// `key:value[,key:value...]`: how a threshold writes a filter, and how the summary's
/// `tagged` and `tagged_checks` name it.
pub fn label(pairs: &[(String, String)]) -> String {
    let parts: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::event::Verdict;

    fn sample(
        names: &Names,
        sets: &Names,
        name: &str,
        status: u16,
        tags: Option<&str>,
    ) -> RequestSample {
        RequestSample {
            name: names.intern(name),
            method: Method::Get,
            tags: tags.map(|t| sets.intern(t)),
            status,
            error: None,
            at_ms: 0,
            duration_us: 1000,
            waiting_us: 500,
            connecting_us: 0,
            tls_us: 0,
            bytes_sent: 0,
            bytes_received: 0,
            verdict: Verdict::ByStatus,
            trace: None,
        }
    }

    #[test]
    fn tags_are_encoded_sorted_and_bounded() {
        let t = |v: &[(&str, &str)]| {
            encode(
                &v.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>(),
            )
        };
        let set = t(&[("type", "API"), ("group", "::shop")]).unwrap().unwrap();
        assert_eq!(lookup(&set, "type"), Some("API"));
        assert_eq!(lookup(&set, "group"), Some("::shop"));
        assert_eq!(lookup(&set, "other"), None);
        assert_eq!(
            set,
            t(&[("group", "::shop"), ("type", "API")]).unwrap().unwrap()
        );
        assert_eq!(t(&[]).unwrap(), None);
        assert!(t(&[("status", "200")]).unwrap_err().contains("host's own"));
        assert!(t(&[("", "x")]).unwrap_err().contains("empty"));
        assert!(t(&[("a", "x\ny")]).unwrap_err().contains("control"));
        assert!(t(&[("a", "x"), ("a", "y")]).unwrap_err().contains("twice"));
        let long = "v".repeat(300);
        assert!(t(&[("a", &long)]).unwrap_err().contains("at most 256"));
    }

    #[test]
    fn each_filter_keeps_the_requests_it_matches() {
        let names = Names::new(100);
        let tags = [("type", "API"), ("status", "404"), ("method", "GET")]
            .iter()
            .chain(&[("expected_response", "true"), ("env", "staging")])
            .chain(&[("group", "::shop"), ("name", "home")])
            .map(|(k, v)| vec![(k.to_string(), v.to_string())])
            .chain([vec![
                ("type".to_string(), "API".to_string()),
                ("status".to_string(), "404".to_string()),
            ]])
            .collect::<Vec<_>>();
        let scenario = BTreeMap::from([("env".to_string(), "staging".to_string())]);
        let sets = Arc::new(Names::new(100));
        let mut t = Tagged::new(&tags, scenario, sets.clone());
        let api = encode(&[("type".into(), "API".into())]).unwrap().unwrap();
        let shop = encode(&[("group".into(), "::shop".into())])
            .unwrap()
            .unwrap();
        t.add(&sample(&names, &sets, "products", 200, Some(&api)), &names);
        t.add(&sample(&names, &sets, "products", 404, Some(&api)), &names);
        t.add(&sample(&names, &sets, "home", 200, Some(&shop)), &names);
        t.add(&sample(&names, &sets, "home", 200, None), &names);
        // A set past the registry's cap is folded, matches nothing, and is said.
        let full = Arc::new(Names::new(1));
        let mut f = Tagged::new(&tags, BTreeMap::new(), full.clone());
        f.add(&sample(&names, &full, "x", 200, Some(&api)), &names);
        assert!(f.overflowed());
        assert_eq!(
            f.summaries().iter().map(|s| s.requests).sum::<u64>(),
            2,
            "method and expected_response only"
        );
        let got: BTreeMap<String, (u64, u64)> = t
            .summaries()
            .into_iter()
            .map(|s| (s.tag, (s.requests, s.failed)))
            .collect();
        assert_eq!(got["type:API"], (2, 1));
        assert_eq!(got["status:404"], (1, 1));
        assert_eq!(got["method:GET"], (4, 1));
        assert_eq!(got["expected_response:true"], (3, 0));
        assert_eq!(
            got["env:staging"],
            (4, 1),
            "the scenario's tags apply to all"
        );
        assert_eq!(got["group:::shop"], (1, 0));
        assert_eq!(got["name:home"], (2, 0));
        assert_eq!(got["type:API,status:404"], (1, 1), "every pair of a filter");
        assert_eq!(t.summaries()[0].duration.count, t.summaries()[0].requests);
    }
}
