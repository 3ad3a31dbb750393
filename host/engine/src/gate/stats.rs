//! The statistics of the noise-aware gate: how sure a change between two runs is, from
//! what the histograms hold (order-statistic intervals for quantiles, score intervals
//! for proportions) and from the spread of past runs (run-to-run noise), so a rule
//! fails only on a change it can tell from noise, and says when it cannot.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::metrics::trend::Trend;

/// A statistic of one run (or of a history) with its uncertainty on a log scale: the
/// standard deviation of `ln(value)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub log_sd: f64,
    /// Samples behind it.
    pub n: u64,
}

/// Relative resolution of the histograms (3 significant digits): no interval is
/// narrower than this.
const RESOLUTION: f64 = 1e-3;

/// The `p`th percentile (0..100) of `trend`, with its sampling spread from an
/// order-statistic interval: the ranks `nq ± sqrt(nq(1-q))` bound the quantile at about
/// one standard deviation, whatever the distribution. `None` without samples.
pub fn quantile(trend: &Trend, p: f64) -> Option<Estimate> {
    let n = trend.count();
    if n == 0 {
        return None;
    }
    let q = (p / 100.0).clamp(0.0, 1.0);
    let nf = n as f64;
    let se = (nf * q * (1.0 - q)).sqrt().max(0.5);
    let at = |rank: f64| trend.percentile((rank / nf).clamp(0.0, 1.0) * 100.0).max(1) as f64;
    let value = at(nf * q);
    let (lo, hi) = (at(nf * q - se), at(nf * q + se));
    let log_sd = ((hi.ln() - lo.ln()) / 2.0).max(RESOLUTION);
    Some(Estimate { value, log_sd, n })
}

/// The run-to-run spread of a statistic over past runs: the standard deviation of
/// `ln(value)`. `None` with fewer than two runs.
pub fn spread(values: &[f64]) -> Option<f64> {
    let logs: Vec<f64> = values
        .iter()
        .filter(|v| **v > 0.0)
        .map(|v| v.ln())
        .collect();
    if logs.len() < 2 {
        return None;
    }
    let mean = logs.iter().sum::<f64>() / logs.len() as f64;
    let var = logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (logs.len() - 1) as f64;
    Some(var.sqrt())
}

/// Run-to-run noise learned from past runs: the spread of `ln(value)` and how many runs
/// it was measured over (its own uncertainty: intervals use Student's t with
/// `runs - 1` degrees of freedom, so two or three runs widen them a lot).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Noise {
    pub log_sd: f64,
    pub runs: usize,
}

/// A baseline from several past runs' estimates: their geometric mean. Its uncertainty
/// is the spread between the runs over the square root of their number: that spread
/// already holds each run's sampling error (and everything else that moves a run), so
/// sampling is not counted again, though never less than the runs' own sampling says.
/// The spread is also the noise one new run carries. With one run, the noise is
/// unknown (`None`) and the run's sampling is all there is.
pub fn baseline(runs: &[Estimate]) -> Option<(Estimate, Option<Noise>)> {
    if runs.is_empty() {
        return None;
    }
    let k = runs.len() as f64;
    let value = (runs.iter().map(|e| e.value.ln()).sum::<f64>() / k).exp();
    let sampling = runs.iter().map(|e| e.log_sd.powi(2)).sum::<f64>() / k;
    let values: Vec<f64> = runs.iter().map(|e| e.value).collect();
    let noise = spread(&values).map(|log_sd| Noise {
        log_sd,
        runs: values.iter().filter(|v| **v > 0.0).count(),
    });
    let per_run = noise.map_or(sampling, |s| s.log_sd.powi(2).max(sampling));
    let log_sd = (per_run / k).sqrt();
    let n = runs.iter().map(|e| e.n).sum();
    Some((Estimate { value, log_sd, n }, noise))
}

/// A change with its interval at some confidence, in the rule's unit (% or pp).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub lo: f64,
    pub est: f64,
    pub hi: f64,
}

/// The relative change from `base` to `cur`, in percent, with its two-sided interval at
/// `confidence` (0..1): both sides' sampling spread, and `noise` (a new run's
/// run-to-run spread, when known).
pub fn relative_change(
    base: &Estimate,
    cur: &Estimate,
    noise: Option<Noise>,
    confidence: f64,
) -> Interval {
    let d = (cur.value / base.value).ln();
    let sd = spread_of_change(base, cur, noise);
    let z = critical(confidence, noise);
    let pct = |x: f64| (x.exp() - 1.0) * 100.0;
    Interval {
        lo: pct(d - z * sd),
        est: pct(d),
        hi: pct(d + z * sd),
    }
}

/// The smallest relative change (percent) an interval this wide can tell from none:
/// what a run "was too short to detect less than".
pub fn detectable(base: &Estimate, cur: &Estimate, noise: Option<Noise>, confidence: f64) -> f64 {
    let sd = spread_of_change(base, cur, noise);
    ((critical(confidence, noise) * sd).exp() - 1.0) * 100.0
}

/// How far a new run may fall from the baseline by chance: the baseline's own
/// uncertainty, and the new run's deviation, which is the learned noise (it holds a
/// run's sampling error) or, when the new run samples more coarsely than the history
/// (a shorter run), its own sampling. A prediction interval for one new run.
fn spread_of_change(base: &Estimate, cur: &Estimate, noise: Option<Noise>) -> f64 {
    let new_run = noise.map_or(cur.log_sd, |n| n.log_sd.max(cur.log_sd));
    (base.log_sd.powi(2) + new_run.powi(2)).sqrt()
}

/// The interval's multiplier: a normal z when only sampling counts (thousands of
/// samples), Student's t when the noise was estimated from a handful of runs.
fn critical(confidence: f64, noise: Option<Noise>) -> f64 {
    match noise {
        Some(n) if n.runs >= 2 => t_two_sided(confidence, (n.runs - 1) as f64),
        _ => z_two_sided(confidence),
    }
}

/// Wilson's score interval for a proportion of `k` in `n`, at `z`.
pub fn wilson(k: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The change of a proportion from `kb` in `nb` to `kc` in `nc`, in percentage points,
/// with Newcombe's hybrid score interval at `confidence` (sound at small counts, where
/// a normal approximation is not).
pub fn proportion_change(kb: u64, nb: u64, kc: u64, nc: u64, confidence: f64) -> Interval {
    let z = z_two_sided(confidence);
    let (pb, pc) = (kb as f64 / nb.max(1) as f64, kc as f64 / nc.max(1) as f64);
    let (lb, ub) = wilson(kb, nb, z);
    let (lc, uc) = wilson(kc, nc, z);
    let d = pc - pb;
    let lo = d - ((pc - lc).powi(2) + (ub - pb).powi(2)).sqrt();
    let hi = d + ((uc - pc).powi(2) + (pb - lb).powi(2)).sqrt();
    Interval {
        lo: lo * 100.0,
        est: d * 100.0,
        hi: hi * 100.0,
    }
}

/// What the evidence says of a rule's limit.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The change is within the limit at the stated confidence.
    Within,
    /// The change is past the limit at the stated confidence.
    Past,
    /// The interval reaches both sides of the limit: this run cannot tell.
    Inconclusive,
}

/// Judges `iv` against a signed `limit` (in its unit): a positive limit bounds growth
/// (`p(95) +20%`), a negative one a drop (`rps -15%`).
pub fn decide(iv: &Interval, limit: f64) -> Decision {
    let (past, within) = if limit >= 0.0 {
        (iv.lo > limit, iv.hi <= limit)
    } else {
        (iv.hi < limit, iv.lo >= limit)
    };
    match (past, within) {
        (true, _) => Decision::Past,
        (_, true) => Decision::Within,
        _ => Decision::Inconclusive,
    }
}

/// z of a two-sided interval at `confidence` (0.95: 1.96).
pub fn z_two_sided(confidence: f64) -> f64 {
    Normal::standard().inverse_cdf(0.5 + confidence.clamp(0.0, 0.999_999) / 2.0)
}

/// Student's t of a two-sided interval at `confidence` with `df` degrees of freedom
/// (0.95 and 2: 4.30).
pub fn t_two_sided(confidence: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df.max(1.0)) {
        Ok(t) => t.inverse_cdf(0.5 + confidence.clamp(0.0, 0.999_999) / 2.0),
        Err(_) => z_two_sided(confidence),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log-normal sample (median `median` ms, log-SD `sigma`) in µs, seeded.
    fn lognormal(rng: &mut fastrand::Rng, median: f64, sigma: f64) -> u64 {
        // Box-Muller.
        let (u1, u2) = (rng.f64().max(1e-12), rng.f64());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (median * 1000.0 * (sigma * z).exp()) as u64
    }

    fn run(rng: &mut fastrand::Rng, n: usize, median: f64) -> Trend {
        let mut t = Trend::new();
        for _ in 0..n {
            t.record(lognormal(rng, median, 0.6));
        }
        t
    }

    #[test]
    fn critical_values_match_the_tables() {
        for (c, z) in [(0.95, 1.959_964), (0.90, 1.644_854), (0.998, 3.090_232)] {
            assert!((z_two_sided(c) - z).abs() < 1e-5, "{c}: {}", z_two_sided(c));
        }
        for (df, t) in [
            (1.0, 12.706_2),
            (2.0, 4.302_7),
            (7.0, 2.364_6),
            (30.0, 2.042_3),
        ] {
            let got = t_two_sided(0.95, df);
            assert!((got - t).abs() < 1e-3, "df {df}: {got}");
        }
    }

    #[test]
    fn quantile_intervals_cover_the_true_change_at_their_stated_rate() {
        // The current run is 20% slower at every quantile; over many seeded pairs of
        // runs, the 95% interval of the p95 change holds +20% about 95% of the time.
        let mut rng = fastrand::Rng::with_seed(7);
        let trials = 300;
        let mut covered = 0;
        for _ in 0..trials {
            let (b, c) = (run(&mut rng, 2000, 50.0), run(&mut rng, 2000, 60.0));
            let (b, c) = (quantile(&b, 95.0).unwrap(), quantile(&c, 95.0).unwrap());
            let iv = relative_change(&b, &c, None, 0.95);
            if iv.lo <= 20.0 && 20.0 <= iv.hi {
                covered += 1;
            }
        }
        let rate = covered as f64 / trials as f64;
        assert!((0.90..=0.99).contains(&rate), "coverage {rate}");
    }

    #[test]
    fn noise_learned_from_history_widens_the_interval_to_cover_it() {
        // Runs whose p95 moves ±10% from run to run (beyond sampling): a baseline of 8
        // past runs and the spread between them still cover a new run of the same build
        // at about the stated rate, where sampling alone would not.
        let mut rng = fastrand::Rng::with_seed(11);
        let draw = |rng: &mut fastrand::Rng| {
            let shift = lognormal(rng, 1.0, 0.1) as f64 / 1000.0;
            quantile(&run(rng, 2000, 50.0 * shift), 95.0).unwrap()
        };
        let (trials, mut covered, mut covered_naive) = (200, 0, 0);
        for _ in 0..trials {
            let history: Vec<Estimate> = (0..8).map(|_| draw(&mut rng)).collect();
            let cur = draw(&mut rng);
            let (base, noise) = baseline(&history).unwrap();
            let n = noise.unwrap();
            assert!((0.03..0.3).contains(&n.log_sd) && n.runs == 8, "{n:?}");
            let iv = relative_change(&base, &cur, noise, 0.95);
            covered += usize::from(iv.lo <= 0.0 && 0.0 <= iv.hi);
            let naive = relative_change(&history[7], &cur, None, 0.95);
            covered_naive += usize::from(naive.lo <= 0.0 && 0.0 <= naive.hi);
        }
        let rate = covered as f64 / trials as f64;
        assert!((0.88..=1.0).contains(&rate), "coverage {rate}");
        assert!(
            covered_naive < covered * 8 / 10,
            "{covered_naive} vs {covered}"
        );
    }

    #[test]
    fn a_short_history_widens_the_interval_by_students_t() {
        // Three past runs estimate the noise poorly: with t (2 degrees of freedom) the
        // interval still covers a same-build run at about the stated rate; trusting
        // that estimate as if exact (z) covers it markedly less often.
        let mut rng = fastrand::Rng::with_seed(13);
        let draw = |rng: &mut fastrand::Rng| {
            let shift = lognormal(rng, 1.0, 0.1) as f64 / 1000.0;
            quantile(&run(rng, 2000, 50.0 * shift), 95.0).unwrap()
        };
        let (trials, mut with_t, mut with_z) = (400, 0, 0);
        for _ in 0..trials {
            let history: Vec<Estimate> = (0..3).map(|_| draw(&mut rng)).collect();
            let cur = draw(&mut rng);
            let (base, noise) = baseline(&history).unwrap();
            let iv = relative_change(&base, &cur, noise, 0.95);
            with_t += usize::from(iv.lo <= 0.0 && 0.0 <= iv.hi);
            let as_if_exact = noise.map(|n| Noise { runs: 10_000, ..n });
            let iv = relative_change(&base, &cur, as_if_exact, 0.95);
            with_z += usize::from(iv.lo <= 0.0 && 0.0 <= iv.hi);
        }
        let rate = with_t as f64 / trials as f64;
        assert!((0.92..=1.0).contains(&rate), "coverage with t {rate}");
        assert!(with_z + trials / 20 < with_t, "z {with_z} vs t {with_t}");
    }

    #[test]
    fn proportion_intervals_cover_the_true_difference() {
        let mut rng = fastrand::Rng::with_seed(3);
        let (trials, n) = (400, 3000u64);
        let (pb, pc) = (0.01, 0.02);
        let mut covered = 0;
        for _ in 0..trials {
            let kb = (0..n).filter(|_| rng.f64() < pb).count() as u64;
            let kc = (0..n).filter(|_| rng.f64() < pc).count() as u64;
            let iv = proportion_change(kb, n, kc, n, 0.95);
            covered += usize::from(iv.lo <= 1.0 && 1.0 <= iv.hi);
        }
        let rate = covered as f64 / trials as f64;
        assert!((0.92..=0.99).contains(&rate), "coverage {rate}");
        // No failures on either side: an interval around 0, not a division by zero.
        let iv = proportion_change(0, 100, 0, 100, 0.95);
        assert!(iv.lo < 0.0 && iv.est == 0.0 && iv.hi > 0.0, "{iv:?}");
    }

    #[test]
    fn decisions_need_the_whole_interval_on_one_side() {
        let iv = |lo, hi| Interval {
            lo,
            est: (lo + hi) / 2.0,
            hi,
        };
        assert_eq!(decide(&iv(23.0, 31.0), 20.0), Decision::Past);
        assert_eq!(decide(&iv(-5.0, 12.0), 20.0), Decision::Within);
        assert_eq!(decide(&iv(12.0, 29.0), 20.0), Decision::Inconclusive);
        // A drop limit: past when the whole interval is below it.
        assert_eq!(decide(&iv(-30.0, -20.0), -15.0), Decision::Past);
        assert_eq!(decide(&iv(-10.0, 5.0), -15.0), Decision::Within);
        assert_eq!(decide(&iv(-20.0, -10.0), -15.0), Decision::Inconclusive);
    }

    #[test]
    fn short_runs_say_how_small_a_change_they_could_see() {
        let mut rng = fastrand::Rng::with_seed(5);
        let short = |rng: &mut fastrand::Rng| quantile(&run(rng, 50, 50.0), 95.0).unwrap();
        let long = |rng: &mut fastrand::Rng| quantile(&run(rng, 20000, 50.0), 95.0).unwrap();
        let (a, b) = (short(&mut rng), short(&mut rng));
        let (c, d) = (long(&mut rng), long(&mut rng));
        let (coarse, fine) = (
            detectable(&a, &b, None, 0.95),
            detectable(&c, &d, None, 0.95),
        );
        assert!(coarse > 3.0 * fine, "{coarse} vs {fine}");
        assert!(fine < 10.0, "{fine}");
    }
}
