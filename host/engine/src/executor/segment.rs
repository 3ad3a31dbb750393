//! Execution segments (k6's model): one run split over N processes. Counts split as
//! `floor((i+1)·X/N) − floor(i·X/N)`, so the N shares add up to X exactly; arrival
//! rates split by striping the one global schedule (segment i starts iterations k with
//! k mod N = i), so the union of the segments is the whole schedule, to the instant.

use super::Plan;

/// Segment `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub index: u32,
    pub count: u32,
}

impl Segment {
    /// `I/N` with I from 1 to N (as people count); Kubernetes' 0-based
    /// `JOB_COMPLETION_INDEX` goes through [`Segment::from_index`].
    pub fn parse(text: &str) -> Result<Segment, String> {
        let err = || format!("--segment {text:?}: write I/N with I from 1 to N, e.g. 2/3");
        let (i, n) = text.split_once('/').ok_or_else(err)?;
        let (i, n): (u32, u32) = (
            i.trim().parse().map_err(|_| err())?,
            n.trim().parse().map_err(|_| err())?,
        );
        if n == 0 || i == 0 || i > n {
            return Err(err());
        }
        Ok(Segment {
            index: i - 1,
            count: n,
        })
    }

    pub fn from_index(index: u32, count: u32) -> Result<Segment, String> {
        if count == 0 || index >= count {
            return Err(format!(
                "JOB_COMPLETION_INDEX {index} is not below --segments {count}"
            ));
        }
        Ok(Segment { index, count })
    }

    /// Where this segment's share of `total` starts.
    pub fn offset(&self, total: u64) -> u64 {
        total * self.index as u64 / self.count as u64
    }

    /// This segment's share of `total`.
    pub fn share(&self, total: u64) -> u64 {
        total * (self.index as u64 + 1) / self.count as u64 - self.offset(total)
    }

    /// Whether iteration `k` of the global arrival schedule is this segment's.
    pub fn owns(&self, k: u64) -> bool {
        k % self.count as u64 == self.index as u64
    }

    /// This segment's part of `plan`, and the VU id offset it uses: the VUs of the
    /// segments before it, so ids stay unique across segments.
    pub fn split(&self, plan: &Plan) -> (Plan, u32) {
        let offset = (0..self.index)
            .map(|i| {
                Segment {
                    index: i,
                    count: self.count,
                }
                .part(plan)
                .max_vus
            })
            .sum();
        (self.part(plan), offset)
    }

    fn part(&self, plan: &Plan) -> Plan {
        let share = |n: u32| self.share(n as u64) as u32;
        let mut p = plan.clone();
        p.vus = share(plan.vus);
        p.max_vus = share(plan.max_vus);
        p.load = plan.executor().split(self, plan);
        if p.load.is_open() {
            p.stripe = Some(*self);
            // A segment with iterations to start needs a VU to start them on.
            p.vus = p.vus.max(1);
        }
        p.max_vus = p.max_vus.max(p.vus);
        p
    }

    /// The 1-based form the summary records.
    pub fn info(&self) -> crate::metrics::summary::SegmentInfo {
        crate::metrics::summary::SegmentInfo {
            index: self.index + 1,
            count: self.count,
        }
    }
}

/// Splits `n` by `weights` so the shares add up to `n` (largest remainder).
pub fn split_by(n: u64, weights: &[u64]) -> Vec<u64> {
    let total: u128 = weights.iter().map(|w| *w as u128).sum::<u128>().max(1);
    let mut shares: Vec<u64> = weights
        .iter()
        .map(|w| (n as u128 * *w as u128 / total) as u64)
        .collect();
    let mut rest: Vec<(u128, usize)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| (n as u128 * *w as u128 % total, i))
        .collect();
    rest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let left = n - shares.iter().sum::<u64>();
    for (_, i) in rest.into_iter().take(left as usize) {
        shares[i] += 1;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{Load, SharedIterations, Stage};
    use std::time::Duration;

    fn seg(i: u32, n: u32) -> Segment {
        Segment::from_index(i, n).unwrap()
    }

    #[test]
    fn uneven_splits_add_up_exactly() {
        let shares: Vec<u64> = (0..3).map(|i| seg(i, 3).share(7)).collect();
        assert_eq!(shares, vec![2, 2, 3]);
        for (total, n) in [(100u64, 3u32), (1, 4), (0, 2), (1_000_003, 7)] {
            let sum: u64 = (0..n).map(|i| seg(i, n).share(total)).sum();
            assert_eq!(sum, total, "{total} over {n}");
        }
        // 100/s for 10 s over 3 segments: 334 + 333 + 333 of the 1,000.
        let owned: Vec<usize> = (0..3)
            .map(|i| (0..1000u64).filter(|k| seg(i, 3).owns(*k)).count())
            .collect();
        assert_eq!(owned, vec![334, 333, 333]);
    }

    #[test]
    fn plans_split_with_unique_vu_ids() {
        let plan = Plan::new(7, Load::iterations(100));
        let parts: Vec<(Plan, u32)> = (0..3).map(|i| seg(i, 3).split(&plan)).collect();
        assert_eq!(
            parts.iter().map(|(p, o)| (p.vus, *o)).collect::<Vec<_>>(),
            vec![(2, 0), (2, 2), (3, 4)]
        );
        let its: u64 = parts
            .iter()
            .map(|(p, _)| match p.load {
                Load::SharedIterations(SharedIterations { iterations, .. }) => iterations,
                _ => 0,
            })
            .sum();
        assert_eq!(its, 100);
        let stages = Plan::new(
            10,
            Load::stages(vec![Stage {
                duration: Duration::from_secs(5),
                target: 10,
            }]),
        );
        let targets: Vec<u32> = (0..4)
            .map(|i| match seg(i, 4).split(&stages).0.load {
                Load::RampingVus(r) => r.stages[0].target,
                _ => 0,
            })
            .collect();
        assert_eq!(targets.iter().sum::<u32>(), 10);
        let rate = Plan::new(3, Load::rate(100.0, Duration::from_secs(1)));
        let (p, _) = seg(2, 5).split(&rate);
        assert_eq!((p.vus, p.stripe), (1, Some(seg(2, 5))));
    }

    #[test]
    fn no_segment_is_left_iterations_without_vus_nor_shares_ids() {
        // One VU, 100 shared iterations, two segments: all 100 go where the VU is.
        let plan = Plan::new(1, Load::iterations(100));
        let parts: Vec<(Plan, u32)> = (0..2).map(|i| seg(i, 2).split(&plan)).collect();
        assert_eq!(parts[0].0.vus + parts[1].0.vus, 1);
        let its: Vec<u64> = parts
            .iter()
            .map(|(p, _)| match p.load {
                Load::SharedIterations(SharedIterations { iterations, .. }) => iterations,
                _ => 0,
            })
            .collect();
        assert_eq!(its.iter().sum::<u64>(), 100);
        assert!(
            parts
                .iter()
                .all(|(p, _)| p.vus > 0 || its.iter().sum::<u64>() == 100)
        );
        assert_eq!(
            parts
                .iter()
                .find(|(p, _)| p.vus == 0)
                .map(|(p, _)| p.load.clone()),
            Some(Load::iterations(0))
        );
        // An open model raises each segment to one VU: the id ranges must not overlap.
        let rate = Plan::new(1, Load::rate(1.0, Duration::from_secs(1)));
        let ranges: Vec<(u32, u32)> = (0..3)
            .map(|i| {
                let (p, o) = seg(i, 3).split(&rate);
                (o + 1, o + p.max_vus)
            })
            .collect();
        assert_eq!(ranges, vec![(1, 1), (2, 2), (3, 3)]);
    }

    #[test]
    fn the_flag_counts_from_one() {
        assert_eq!(Segment::parse("2/3"), Ok(seg(1, 3)));
        for bad in ["0/3", "4/3", "1/0", "x/3", "3"] {
            assert!(
                Segment::parse(bad).unwrap_err().contains("I from 1 to N"),
                "{bad}"
            );
        }
        assert!(Segment::from_index(3, 3).is_err());
    }
}
