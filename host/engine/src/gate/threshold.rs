//! Parsing `METRIC[{TAG:VALUE}]: AGG OP NUMBER[UNIT][, AGG OP NUMBER...]`, e.g.
//! `http_req_duration{name:POST /api/v1/auth/login}: p(95)<300ms`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Agg {
    Avg,
    Min,
    Max,
    Med,
    /// Percentile 0..=100.
    P(f64),
    Count,
    Rate,
    Value,
}

impl fmt::Display for Agg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Agg::Avg => write!(f, "avg"),
            Agg::Min => write!(f, "min"),
            Agg::Max => write!(f, "max"),
            Agg::Med => write!(f, "med"),
            Agg::P(p) => write!(f, "p({p})"),
            Agg::Count => write!(f, "count"),
            Agg::Rate => write!(f, "rate"),
            Agg::Value => write!(f, "value"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

/// What kind of values a metric holds, which decides the aggregations it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Durations in milliseconds.
    Trend,
    /// Fraction of true samples.
    Rate,
    /// A count, also as a rate per second.
    Counter,
    /// A scenario-defined metric; its kind is known only from the run.
    Custom,
}

pub const BUILTIN: &[(&str, Kind)] = &[
    ("http_req_duration", Kind::Trend),
    ("http_req_waiting", Kind::Trend),
    ("http_req_connecting", Kind::Trend),
    ("http_req_tls_handshaking", Kind::Trend),
    ("iteration_duration", Kind::Trend),
    ("http_req_failed", Kind::Rate),
    ("iterations_failed", Kind::Rate),
    ("checks", Kind::Rate),
    ("http_reqs", Kind::Counter),
    ("iterations", Kind::Counter),
    ("data_sent", Kind::Counter),
    ("data_received", Kind::Counter),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The expression as written, for reports.
    pub source: String,
    pub metric: String,
    pub kind: Kind,
    /// `(key, value)` of a `{key:value}` filter.
    pub tag: Option<(String, String)>,
    /// The filter's further pairs (k6's `{type:API,method:GET}`: requests and checks).
    pub more_tags: Vec<(String, String)>,
    pub agg: Agg,
    pub op: Op,
    /// In the metric's unit (milliseconds for trends).
    pub value: f64,
}

/// The request metrics a tag other than `name` filters (from the run's tagged
/// requests, [`crate::metrics::summary::TaggedSummary`]).
const TAGGED_REQUEST_METRICS: &[&str] = &[
    "http_req_duration",
    "http_req_waiting",
    "http_req_failed",
    "http_reqs",
];

impl Threshold {
    /// Every `(key, value)` of the filter, in the order written.
    fn tags(&self) -> Vec<(String, String)> {
        self.tag.iter().chain(&self.more_tags).cloned().collect()
    }

    /// The pairs this threshold filters requests by, when the run must keep the
    /// requests carrying them apart (all but a lone `name` or `scenario`, which the
    /// summary has already).
    pub fn request_tags(&self) -> Option<Vec<(String, String)>> {
        let (k, _) = self.tag.as_ref()?;
        let lone = self.more_tags.is_empty() && matches!(k.as_str(), "name" | "scenario");
        (TAGGED_REQUEST_METRICS.contains(&self.metric.as_str()) && !lone).then(|| self.tags())
    }

    /// The pairs this threshold filters checks by, when the run must keep the checks
    /// carrying them apart (all but a lone `check`, `group` or `scenario`, which checks'
    /// names and the summary have already).
    pub fn check_tags(&self) -> Option<Vec<(String, String)>> {
        let (k, _) = self.tag.as_ref()?;
        let lone =
            self.more_tags.is_empty() && matches!(k.as_str(), "check" | "group" | "scenario");
        (self.metric == "checks" && !lone).then(|| self.tags())
    }

    /// The unit of the value this threshold observes: `ms` for durations, `/s` for
    /// a count per second, none for a fraction or a count.
    pub fn unit(&self) -> Option<&'static str> {
        match (self.kind, self.agg) {
            (_, Agg::Count) => None,
            (Kind::Trend, _) => Some("ms"),
            (Kind::Counter, Agg::Rate) => Some("/s"),
            _ => None,
        }
    }

    /// `metric{tag}: agg op value`, the canonical form of one expression.
    pub fn describe(&self) -> String {
        let tag = match &self.tag {
            Some(_) => format!("{{{}}}", crate::metrics::tags::label(&self.tags())),
            None => String::new(),
        };
        let unit = if self.kind == Kind::Trend && !matches!(self.agg, Agg::Count) {
            "ms"
        } else {
            ""
        };
        format!(
            "{}{tag}: {}{}{}{unit}",
            self.metric,
            self.agg,
            self.op.as_str(),
            fmt_num(self.value)
        )
    }
}

pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Parses one `--threshold` or config entry into its expressions. An error is one line,
/// whatever the text holds.
pub fn parse(text: &str) -> Result<Vec<Threshold>, String> {
    parse_text(text).map_err(|e| {
        e.chars()
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_default().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect()
    })
}

fn parse_text(text: &str) -> Result<Vec<Threshold>, String> {
    let err = |msg: String| format!("threshold {text:?}: {msg}");
    let (head, exprs) = split_head(text).ok_or_else(|| {
        err("expected METRIC: EXPRESSION, e.g. 'http_req_duration: p(95)<500ms'".into())
    })?;
    let (metric, mut pairs) = match head.find('{') {
        Some(open) => {
            let close = head
                .rfind('}')
                .filter(|&c| c > open && head[c + 1..].trim().is_empty())
                .ok_or_else(|| err("unclosed '{' in the tag filter".into()))?;
            let inner = &head[open + 1..close];
            let pair = |p: &str| {
                p.split_once(':')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            };
            // k6's `{a:x,b:y}` when every part is a pair; else one pair whose value may
            // hold commas (`{name:GET /a,b}`).
            let parts: Vec<&str> = inner.split(',').collect();
            let pairs: Vec<(String, String)> =
                if parts.len() > 1 && parts.iter().all(|p| p.contains(':')) {
                    parts.iter().filter_map(|p| pair(p)).collect()
                } else {
                    vec![pair(inner).ok_or_else(|| {
                        err("a tag filter is {key:value}, e.g. {name:GET /api/v1/products}".into())
                    })?]
                };
            (head[..open].trim(), pairs)
        }
        None => (head.trim(), Vec::new()),
    };
    let more_tags = if pairs.len() > 1 {
        pairs.split_off(1)
    } else {
        Vec::new()
    };
    let tag = pairs.pop();
    if metric.is_empty()
        || !metric
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Err(err(format!("{metric:?} is not a metric name")));
    }
    let kind = BUILTIN
        .iter()
        .find(|(n, _)| *n == metric)
        .map(|(_, k)| *k)
        .unwrap_or(Kind::Custom);
    // A name this close to a built-in one is a typo, not a custom metric: said now,
    // not after the whole run as a threshold with no samples.
    if kind == Kind::Custom
        && let Some((near, _)) = BUILTIN
            .iter()
            .find(|(n, _)| strsim::damerau_levenshtein(n, metric) <= 2)
    {
        return Err(err(format!(
            "unknown metric {metric:?}; did you mean {near}?"
        )));
    }
    // A custom metric's tag names the series the scenario recorded with it (k6's
    // `trend.add(v, { tag: value })`); the built-in metrics have these.
    // Requests carry any tag (the host's, the script's); the other built-in metrics
    // the ones their records have.
    if let Some((k, _)) = &tag
        && kind != Kind::Custom
        && !TAGGED_REQUEST_METRICS.contains(&metric)
        && metric != "checks"
        && !matches!(k.as_str(), "name" | "check" | "group" | "task" | "scenario")
    {
        return Err(err(format!(
            "unknown tag {k:?}; filter requests by any tag (name, method, status, expected_response, group or the script's own), checks by check, group or the script's own, iterations by task, and any metric by scenario"
        )));
    }
    // Several pairs filter only what the run keeps apart by tag: requests, and checks
    // by the tags a script gives them (a check's name and group are in its name).
    if !more_tags.is_empty() {
        let all = || tag.iter().chain(&more_tags);
        let checks_ok =
            metric == "checks" && !all().any(|(k, _)| matches!(k.as_str(), "check" | "group"));
        if !(TAGGED_REQUEST_METRICS.contains(&metric) || checks_ok) {
            return Err(err(
                "only requests, and checks by their own tags, filter by several tags; write one threshold per tag".into(),
            ));
        }
    }
    let mut out = Vec::new();
    for expr in exprs.split(',') {
        let expr = expr.trim();
        if expr.is_empty() {
            return Err(err("empty expression".into()));
        }
        let (agg, rest) = parse_agg(expr).map_err(err)?;
        let (op, rest) = parse_op(rest.trim_start()).map_err(err)?;
        let value = parse_value(rest.trim(), kind).map_err(err)?;
        check_agg(metric, kind, agg).map_err(err)?;
        out.push(Threshold {
            source: text.trim().to_string(),
            metric: metric.to_string(),
            kind,
            tag: tag.clone(),
            more_tags: more_tags.clone(),
            agg,
            op,
            value,
        });
    }
    Ok(out)
}

/// Splits at the first ':' outside the tag braces.
fn split_head(text: &str) -> Option<(&str, &str)> {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ':' if depth == 0 => return Some((&text[..i], &text[i + 1..])),
            _ => {}
        }
    }
    None
}

fn parse_agg(expr: &str) -> Result<(Agg, &str), String> {
    let word_end = expr
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(expr.len());
    let word = &expr[..word_end];
    let rest = &expr[word_end..];
    let simple = match word {
        "avg" => Some(Agg::Avg),
        "min" => Some(Agg::Min),
        "max" => Some(Agg::Max),
        "med" => Some(Agg::Med),
        "count" => Some(Agg::Count),
        "rate" => Some(Agg::Rate),
        "value" => Some(Agg::Value),
        _ => None,
    };
    if let Some(a) = simple {
        return Ok((a, rest));
    }
    if word == "p" {
        let inner_end = rest
            .find(')')
            .ok_or("p( needs a closing parenthesis, e.g. p(95)")?;
        let inner = rest
            .strip_prefix('(')
            .map(|r| &r[..inner_end - 1])
            .ok_or("write percentiles as p(N), e.g. p(95)")?;
        let p: f64 = inner
            .trim()
            .parse()
            .map_err(|_| format!("p({inner}): the percentile must be a number"))?;
        if !(0.0..=100.0).contains(&p) {
            return Err(format!(
                "p({inner}): the percentile must be between 0 and 100"
            ));
        }
        return Ok((Agg::P(p), &rest[inner_end + 1..]));
    }
    Err(format!(
        "unknown aggregation {word:?}; use avg, min, max, med, p(N), count, rate or value"
    ))
}

fn parse_op(s: &str) -> Result<(Op, &str), String> {
    for (tok, op) in [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ] {
        if let Some(rest) = s.strip_prefix(tok) {
            return Ok((op, rest));
        }
    }
    Err(format!(
        "expected a comparison (<, <=, >, >=, ==, !=) before {s:?}"
    ))
}

fn parse_value(s: &str, kind: Kind) -> Result<f64, String> {
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .unwrap_or(s.len());
    let (num, unit) = (&s[..num_end], s[num_end..].trim());
    let v: f64 = num.parse().map_err(|_| format!("{s:?} is not a number"))?;
    let scale = match unit {
        "" => 1.0,
        "ms" if kind != Kind::Rate => 1.0,
        "s" if kind != Kind::Rate => 1000.0,
        "us" | "µs" if kind != Kind::Rate => 0.001,
        "%" if kind == Kind::Rate => 0.01,
        u => {
            return Err(format!(
                "unknown unit {u:?}; durations take ms, s or us, rates %"
            ));
        }
    };
    Ok(v * scale)
}

fn check_agg(metric: &str, kind: Kind, agg: Agg) -> Result<(), String> {
    let ok = match kind {
        Kind::Trend => matches!(
            agg,
            Agg::Avg | Agg::Min | Agg::Max | Agg::Med | Agg::P(_) | Agg::Count
        ),
        Kind::Rate => matches!(agg, Agg::Rate),
        Kind::Counter => matches!(agg, Agg::Count | Agg::Rate),
        Kind::Custom => true,
    };
    if ok {
        Ok(())
    } else {
        let allowed = match kind {
            Kind::Trend => "avg, min, max, med, p(N) or count",
            Kind::Rate => "rate",
            Kind::Counter => "count or rate",
            Kind::Custom => "",
        };
        Err(format!("{metric} cannot be judged by {agg}: use {allowed}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_builtin_metric_is_refused_with_a_suggestion() {
        let e = parse("http_req_duraton: p(95)<500").unwrap_err();
        assert!(e.contains("did you mean http_req_duration?"), "{e}");
        let e = parse("iteration_failed: rate<0.1").unwrap_err();
        assert!(e.contains("did you mean iterations_failed?"), "{e}");
        // A custom metric of its own name is taken as it is.
        assert_eq!(
            parse("orders_placed: count>10").unwrap()[0].kind,
            Kind::Custom
        );
    }

    #[test]
    fn parses_the_common_forms() {
        let t = &parse("http_req_duration: p(95)<500").unwrap()[0];
        assert_eq!(
            (t.metric.as_str(), t.agg, t.op, t.value),
            ("http_req_duration", Agg::P(95.0), Op::Lt, 500.0)
        );
        let t =
            &parse("http_req_duration{name:POST /api/v1/auth/login}: p(99.9) <= 1.5s").unwrap()[0];
        assert_eq!(
            t.tag,
            Some(("name".into(), "POST /api/v1/auth/login".into()))
        );
        assert_eq!((t.agg, t.op, t.value), (Agg::P(99.9), Op::Le, 1500.0));
        let t = &parse("http_req_failed: rate<0.01").unwrap()[0];
        assert_eq!((t.kind, t.agg, t.value), (Kind::Rate, Agg::Rate, 0.01));
        assert_eq!(parse("http_req_failed: rate<1%").unwrap()[0].value, 0.01);
        assert_eq!(parse("checks: rate>0.99").unwrap()[0].op, Op::Gt);
        assert_eq!(parse("http_reqs: rate>100").unwrap()[0].kind, Kind::Counter);
        let two = parse("iteration_duration: avg<200, max<2s").unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].value, 2000.0);
        assert_eq!(parse("cart_size: value>=3").unwrap()[0].kind, Kind::Custom);
        assert_eq!(parse("http_req_duration: med<300us").unwrap()[0].value, 0.3);
        assert_eq!(
            parse("http_req_duration{name:GET /a}: p(95)<500").unwrap()[0].describe(),
            "http_req_duration{name:GET /a}: p(95)<500ms"
        );
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        let e = |s: &str| parse(s).unwrap_err();
        assert!(e("http_req_duration p(95)<500").contains("expected METRIC: EXPRESSION"));
        assert!(e("http_req_duration: p95<500").contains("unknown aggregation \"p95\""));
        assert!(e("http_req_duration: p(95)~500").contains("expected a comparison"));
        assert!(e("http_req_duration: p(95)<fast").contains("\"fast\" is not a number"));
        assert!(e("http_req_duration: p(120)<5").contains("between 0 and 100"));
        assert!(
            e("http_req_failed: p(95)<0.1")
                .contains("http_req_failed cannot be judged by p(95): use rate")
        );
        assert!(e("http_req_duration{name GET}: p(95)<5").contains("{key:value}"));
        assert!(e("http_req_connecting{host:x}: p(95)<5").contains("unknown tag \"host\""));
        assert!(e("iterations{type:API}: count>1").contains("unknown tag \"type\""));
        // Requests take any tag (k6's sub-metrics); the run keeps those apart.
        let pairs = |v: &[(&str, &str)]| {
            Some(
                v.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>(),
            )
        };
        let t = &parse("http_req_duration{type:API}: p(95)<5").unwrap()[0];
        assert_eq!(t.request_tags(), pairs(&[("type", "API")]));
        let t = &parse("http_reqs{group:::shop::cart}: count>0").unwrap()[0];
        assert_eq!(t.request_tags(), pairs(&[("group", "::shop::cart")]));
        let t = &parse("http_req_failed{name:GET /}: rate<0.1").unwrap()[0];
        assert_eq!(t.request_tags(), None, "names are in the summary already");
        let t = &parse("checks{myTag:hola}: rate>0.9").unwrap()[0];
        assert_eq!(t.check_tags(), pairs(&[("myTag", "hola")]));
        let t = &parse("checks{group:::shop}: rate>0.9").unwrap()[0];
        assert_eq!(t.check_tags(), None, "a check's group is in its name");
        // k6's several pairs, all of which a record must carry.
        let t = &parse("http_req_duration{type:API, method:GET}: p(95)<5").unwrap()[0];
        assert_eq!(
            t.request_tags(),
            pairs(&[("type", "API"), ("method", "GET")])
        );
        assert_eq!(
            t.describe(),
            "http_req_duration{type:API,method:GET}: p(95)<5ms"
        );
        let t = &parse("http_reqs{name:POST /a, scenario:pay}: count>0").unwrap()[0];
        assert_eq!(
            t.request_tags(),
            pairs(&[("name", "POST /a"), ("scenario", "pay")])
        );
        // A value with a comma that is not another pair stays one value.
        let t = &parse("http_reqs{name:GET /a,b}: count>0").unwrap()[0];
        assert_eq!(t.tag, Some(("name".into(), "GET /a,b".into())));
        assert!(e("iterations{task:a,scenario:b}: count>1").contains("one threshold per tag"));
        assert!(e("checks{group:::a,myTag:x}: rate>0").contains("one threshold per tag"));
        // A custom metric takes any tag: it names the series recorded with it.
        assert_eq!(
            parse("orders{type:express}: count>1").unwrap()[0].tag,
            Some(("type".into(), "express".into()))
        );
        assert!(
            e("http_req_duration{name:x: p(95)<5").contains("expected METRIC")
                || e("http_req_duration{name:x: p(95)<5").contains("unclosed")
        );
        assert!(e("http_req_duration: p(95)<5min").contains("unknown unit \"min\""));
        assert!(e("http_req_duration:").contains("empty expression"));
        // Every message names the expression it is about.
        assert!(e("checks: avg>1").starts_with("threshold \"checks: avg>1\":"));
    }

    #[test]
    fn errors_are_one_line_whatever_the_text_holds() {
        // Found by the fuzzer: a control character inside the percentile.
        let e = parse("ht_io: p(cY\0\nses:48)<10000000hs").unwrap_err();
        assert!(
            !e.contains('\n') && e.contains("the percentile must be a number"),
            "{e}"
        );
    }
}
