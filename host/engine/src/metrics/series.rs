//! The run's time series: counts, the VU gauge and a latency histogram per bucket of
//! time, held in bounded memory however long the run.
//!
//! Buckets start one second wide. When a run outgrows `MAX_POINTS` buckets, pairs of
//! neighbours are merged and every bucket doubles in width, so an hour-long soak holds
//! the same few hundred buckets as a ten-minute test instead of growing by a
//! histogram a second. Histograms merge losslessly, so a wide bucket's percentiles
//! are those of all its requests.

use super::summary::{SeriesPoint, TrendSummary};
use super::trend::Trend;

/// Most buckets kept; past this they are merged in pairs. At one-second buckets
/// this is a ten-minute run; a one-hour run ends with 8-second buckets.
pub const MAX_POINTS: usize = 600;

/// Buckets whose time is this many seconds past are sealed (late samples reopen them).
const SEAL_AFTER_S: u32 = 5;

#[derive(Debug, Default, Clone)]
struct Bucket {
    requests: u64,
    failed: u64,
    iterations: u64,
    /// The live VU gauge as last sampled in this bucket (none when no tick fell in
    /// it, as in a run's last, partial second).
    vus: Option<u32>,
    /// Request durations started in this bucket.
    duration: BucketTrend,
}

/// A bucket's histogram: open while samples may still arrive, then sealed into its
/// compact encoding (a few hundred bytes instead of a histogram's tens of KiB).
#[derive(Debug, Default, Clone)]
struct BucketTrend {
    open: Option<Trend>,
    sealed: Option<Box<[u8]>>,
}

impl BucketTrend {
    fn record(&mut self, v: u64) {
        self.open_mut().record(v);
    }

    fn open_mut(&mut self) -> &mut Trend {
        if self.open.is_none() {
            let reopened = self.sealed.take().and_then(|b| Trend::from_bytes(&b).ok());
            self.open = Some(reopened.unwrap_or_default());
        }
        self.open.as_mut().expect("opened above")
    }

    fn seal(&mut self) {
        if let Some(t) = self.open.take() {
            self.sealed = Some(t.to_bytes().into());
        }
    }

    fn trend(&self) -> Option<Trend> {
        match (&self.open, &self.sealed) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(b)) => Trend::from_bytes(b).ok(),
            (None, None) => None,
        }
    }

    fn absorb(&mut self, other: BucketTrend) {
        if let Some(t) = other.trend() {
            self.open_mut().merge(&t);
        }
    }
}

#[derive(Debug)]
pub struct Series {
    /// Seconds each bucket covers: 1, 2, 4, ...
    step: u32,
    buckets: Vec<Bucket>,
    /// Buckets before this index are sealed.
    sealed_upto: usize,
    /// Sealed buckets a late sample reopened (a long request is recorded at its
    /// start), sealed again at the next tick.
    reopened: Vec<usize>,
    /// Requests in the last few whole seconds, whatever the bucket width, for the
    /// live request rate: (second, requests).
    recent: [(u32, u64); 4],
}

impl Default for Series {
    fn default() -> Self {
        Series {
            step: 1,
            buckets: Vec::new(),
            sealed_upto: 0,
            reopened: Vec::new(),
            recent: [(u32::MAX, 0); 4],
        }
    }
}

impl Series {
    fn bucket(&mut self, at_ms: u32) -> &mut Bucket {
        let idx = (at_ms / 1000 / self.step) as usize;
        if self.buckets.len() <= idx {
            self.buckets.resize(idx + 1, Bucket::default());
        }
        &mut self.buckets[idx]
    }

    fn note_late(&mut self, at_ms: u32) {
        let idx = (at_ms / 1000 / self.step) as usize;
        if idx < self.sealed_upto && self.reopened.last() != Some(&idx) {
            self.reopened.push(idx);
        }
    }

    pub fn request(&mut self, at_ms: u32, duration_us: u64, failed: bool) {
        let sec = at_ms / 1000;
        let slot = &mut self.recent[sec as usize % 4];
        if slot.0 != sec {
            *slot = (sec, 0);
        }
        slot.1 += 1;
        self.note_late(at_ms);
        let b = self.bucket(at_ms);
        b.requests += 1;
        b.failed += failed as u64;
        b.duration.record(duration_us);
    }

    pub fn iteration(&mut self, at_ms: u32) {
        self.bucket(at_ms).iterations += 1;
    }

    /// Records the VU gauge `at_ms`, seals what is old enough and keeps the series
    /// within its bound.
    pub fn sample_vus(&mut self, at_ms: u32, vus: u32) {
        self.bucket(at_ms).vus = Some(vus);
        let done = (at_ms / 1000).saturating_sub(SEAL_AFTER_S) / self.step;
        let done = (done as usize).min(self.buckets.len());
        for i in std::mem::take(&mut self.reopened) {
            self.buckets[i].duration.seal();
        }
        for b in &mut self.buckets[self.sealed_upto.min(done)..done] {
            b.duration.seal();
        }
        self.sealed_upto = self.sealed_upto.max(done);
        if self.buckets.len() > MAX_POINTS {
            self.coarsen();
        }
    }

    /// Merges neighbours in pairs: half the buckets, each twice as wide.
    fn coarsen(&mut self) {
        let old = std::mem::take(&mut self.buckets);
        let mut pairs = old.into_iter();
        while let Some(mut a) = pairs.next() {
            if let Some(b) = pairs.next() {
                a.requests += b.requests;
                a.failed += b.failed;
                a.iterations += b.iterations;
                a.vus = b.vus.or(a.vus);
                a.duration.absorb(b.duration);
            }
            a.duration.seal();
            self.buckets.push(a);
        }
        self.step *= 2;
        self.sealed_upto /= 2;
        self.reopened.clear();
    }

    /// Requests in the whole second before `now_ms`.
    pub fn last_second_requests(&self, now_ms: u32) -> u64 {
        let Some(sec) = (now_ms / 1000).checked_sub(1) else {
            return 0;
        };
        let slot = self.recent[sec as usize % 4];
        if slot.0 == sec { slot.1 } else { 0 }
    }

    /// The points a summary shows, the VU gauge carried into buckets without a sample.
    pub fn points(&self, ms: impl Fn(&Trend) -> TrendSummary) -> Vec<SeriesPoint> {
        let mut vus = 0;
        self.buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                vus = b.vus.unwrap_or(vus);
                SeriesPoint {
                    t: i as u32 * self.step,
                    dt: self.step,
                    requests: b.requests,
                    failed: b.failed,
                    iterations: b.iterations,
                    vus,
                    duration: b.duration.trend().map(|t| ms(&t)),
                }
            })
            .collect()
    }

    #[cfg(test)]
    fn is_sealed(&self, idx: usize) -> bool {
        let d = &self.buckets[idx].duration;
        d.open.is_none() && d.sealed.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t: &Trend) -> TrendSummary {
        TrendSummary::from_trend(t, 1e-3, "us")
    }

    #[test]
    fn buckets_seal_reopen_for_late_samples_and_carry_the_vu_gauge() {
        let mut s = Series::default();
        s.request(100, 1000, false);
        s.sample_vus(999, 3);
        s.request(7_500, 5000, true);
        // Ten seconds in, second 0 is sealed; a late sample still lands in it.
        s.sample_vus(9_999, 2);
        assert!(s.is_sealed(0));
        s.request(200, 2000, false);
        let p = s.points(ms);
        let first = p[0].duration.as_ref().unwrap();
        assert_eq!((first.count, first.max.round()), (2, 2.0));
        assert_eq!((p[7].requests, p[7].failed), (1, 1));
        assert!(p[3].duration.is_none());
        let vus: Vec<u32> = p.iter().map(|p| p.vus).collect();
        assert_eq!(vus, [3, 3, 3, 3, 3, 3, 3, 3, 3, 2]);
        assert!(p.iter().all(|p| p.dt == 1));
        // The late sample is sealed again at the next tick.
        s.sample_vus(10_500, 2);
        assert!(s.is_sealed(0));
    }

    #[test]
    fn a_long_run_keeps_a_bounded_number_of_wider_buckets_and_loses_no_request() {
        let mut s = Series::default();
        let secs = 2_500u32;
        for sec in 0..secs {
            for k in 0..3u32 {
                s.request(sec * 1000 + k, u64::from(sec % 50 + 1) * 1000, k == 0);
            }
            s.iteration(sec * 1000);
            s.sample_vus(sec * 1000 + 999, sec % 7);
        }
        let p = s.points(ms);
        assert!(p.len() <= MAX_POINTS, "{} points", p.len());
        assert_eq!(s.step, 8, "2,500 s outgrow 600 buckets three times");
        assert_eq!(p.iter().map(|p| p.requests).sum::<u64>(), 3 * secs as u64);
        assert_eq!(p.iter().map(|p| p.failed).sum::<u64>(), secs as u64);
        assert_eq!(p.iter().map(|p| p.iterations).sum::<u64>(), secs as u64);
        let counted: u64 = p
            .iter()
            .filter_map(|p| p.duration.as_ref())
            .map(|d| d.count)
            .sum();
        assert_eq!(counted, 3 * secs as u64, "histograms merge losslessly");
        assert_eq!((p[1].t, p[1].dt), (8, 8));
        // The bucket's gauge is its last sample: second 15 of 8..16.
        assert_eq!(p[1].vus, 15 % 7);
        // Only the last few seconds stay open.
        assert!((0..p.len() - 2).all(|i| s.is_sealed(i)));
        assert_eq!(s.last_second_requests(secs * 1000), 3);
        assert_eq!(s.last_second_requests(secs * 1000 + 5_000), 0);
    }
}
