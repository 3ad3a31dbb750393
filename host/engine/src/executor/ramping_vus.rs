//! k6 `ramping-vus`: the number of looping VUs follows linear stages. A controller
//! publishes the wanted count; VU `id` loops while `id <= wanted` and parks otherwise
//! (finishing the iteration it is in), so ramping down never cuts a started iteration
//! short.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::closed::{self, Budget};
use super::segment::Segment;
use super::{Executor, Load, LoadCtx, LoadFuture, Plan, Requirements, fmt_d, stage_lines};

#[derive(Debug, Clone, PartialEq)]
pub struct RampingVus {
    pub stages: Vec<Stage>,
}

impl Executor for RampingVus {
    fn kind(&self) -> &'static str {
        "ramping-vus"
    }

    fn validate(&self) -> Result<(), String> {
        validate(&self.stages).map_err(|e| format!("--stages: {e}"))
    }

    fn default_vus(&self) -> Option<u32> {
        Some(max_vus(&self.stages))
    }

    fn describe(&self, plan: &Plan) -> Vec<String> {
        let stages = &self.stages;
        let mut out = vec![format!(
            "ramping-vus: up to {} VUs over {} in {} stages (graceful stop {})",
            plan.vus,
            fmt_d(total(stages)),
            stages.len(),
            plan.grace()
        )];
        let steps = stages.iter().map(|s| (s.duration, s.target as f64));
        out.extend(stage_lines(0.0, steps, |from, to| {
            if from == to {
                format!("hold {to} VUs")
            } else {
                format!("{from} → {to} VUs")
            }
        }));
        out
    }

    fn requirements(&self, _: &Plan) -> Requirements {
        Requirements {
            duration: Some(total(&self.stages)),
            iterations: None,
        }
    }

    /// Each stage's target is split as the VUs are.
    fn split(&self, seg: &Segment, _: &Plan) -> Load {
        Load::stages(
            self.stages
                .iter()
                .map(|s| Stage {
                    duration: s.duration,
                    target: seg.share(s.target as u64) as u32,
                })
                .collect(),
        )
    }

    fn weighted(&self, _: &[u64], _: usize) -> Option<Load> {
        None
    }

    fn run<'a>(&'a self, ctx: LoadCtx<'a>) -> LoadFuture<'a> {
        let budget = Arc::new(Budget::until_stopped());
        let (wanted_tx, wanted_rx) = watch::channel(0u32);
        Box::pin(closed::run(
            ctx,
            move |_| budget.clone(),
            Some(wanted_rx),
            move |start| async move { control(self.stages.clone(), start, &wanted_tx).await },
        ))
    }
}

/// Ramp linearly from the previous stage's target (0 before the first) to `target`
/// over `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    pub target: u32,
}

pub fn total(stages: &[Stage]) -> Duration {
    stages.iter().map(|s| s.duration).sum()
}

pub fn max_vus(stages: &[Stage]) -> u32 {
    stages.iter().map(|s| s.target).max().unwrap_or(0)
}

/// VUs wanted `t` into the run. Rounds down while ramping, so a VU starts once its
/// whole share of the ramp has elapsed; exact at stage boundaries.
pub fn vus_at(stages: &[Stage], t: Duration) -> u32 {
    let (mut at, mut from) = (Duration::ZERO, 0u32);
    for s in stages {
        let end = at + s.duration;
        if t < end {
            let frac = (t - at).as_secs_f64() / s.duration.as_secs_f64();
            let v = from as f64 + (s.target as f64 - from as f64) * frac;
            return if s.target >= from {
                v.floor() as u32
            } else {
                v.ceil() as u32
            };
        }
        (at, from) = (end, s.target);
    }
    from
}

/// Parses `--stages 10s:50,1m:50,10s:0`.
pub fn parse_stages(text: &str) -> Result<Vec<Stage>, String> {
    let err = |m: String| format!("--stages {text:?}: {m}; write it like 10s:50,1m:50,10s:0");
    let mut out = Vec::new();
    for part in text.split(',') {
        let (d, n) = part
            .trim()
            .split_once(':')
            .ok_or_else(|| err(format!("{part:?} is not DURATION:VUS")))?;
        let duration = crate::parse::parse_duration(d).map_err(err)?;
        let target = n
            .trim()
            .parse::<u32>()
            .map_err(|_| err(format!("{n:?} is not a VU count")))?;
        out.push(Stage { duration, target });
    }
    validate(&out).map_err(err)?;
    Ok(out)
}

/// A plan needs some time and some VUs.
pub fn validate(stages: &[Stage]) -> Result<(), String> {
    if stages.is_empty() {
        return Err("no stages".into());
    }
    if total(stages).is_zero() {
        return Err("the stages last no time".into());
    }
    if max_vus(stages) == 0 {
        return Err("no stage has any VUs".into());
    }
    Ok(())
}

/// Publishes the wanted VU count until the last stage ends. Wakes only when the count
/// changes (at most once per VU ramped).
pub async fn control(stages: Vec<Stage>, start: Instant, wanted: &watch::Sender<u32>) {
    let end = total(&stages);
    loop {
        let t = start.elapsed();
        let now = vus_at(&stages, t);
        wanted.send_if_modified(|w| std::mem::replace(w, now) != now);
        if t >= end {
            return;
        }
        // The next moment the count can change: scan ahead in small steps is wasteful
        // at high VU counts, so solve for it within the current stage instead.
        let next = next_change(&stages, t).unwrap_or(end);
        tokio::time::sleep_until(start + next.max(t + Duration::from_millis(1))).await;
    }
}

/// When `vus_at` next differs from its value at `t` (or the stage ends).
fn next_change(stages: &[Stage], t: Duration) -> Option<Duration> {
    let (mut at, mut from) = (Duration::ZERO, 0u32);
    for s in stages {
        let end = at + s.duration;
        if t < end {
            if s.target == from {
                return Some(end);
            }
            let cur = vus_at(stages, t) as f64;
            let step = if s.target > from {
                cur + 1.0
            } else {
                cur - 1.0
            };
            // v(x) = from + (target - from) * x / d; the ramp passes `step` at x.
            let x = (step - from as f64) / (s.target as f64 - from as f64);
            let when = at + s.duration.mul_f64(x.clamp(0.0, 1.0));
            return Some(when.min(end).max(t));
        }
        (at, from) = (end, s.target);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64, target: u32) -> Stage {
        Stage {
            duration: Duration::from_secs(secs),
            target,
        }
    }

    #[test]
    fn interpolates_between_stages() {
        let st = [s(10, 50), s(10, 50), s(10, 0)];
        let at = |ms: u64| vus_at(&st, Duration::from_millis(ms));
        assert_eq!(at(0), 0);
        assert_eq!(at(199), 0);
        assert_eq!(at(200), 1);
        assert_eq!(at(5_000), 25);
        assert_eq!(at(10_000), 50);
        assert_eq!(at(15_000), 50);
        assert_eq!(at(20_000), 50);
        // Ramping down rounds up: a VU leaves once its share has elapsed.
        assert_eq!(at(20_100), 50);
        assert_eq!(at(25_000), 25);
        assert_eq!(at(30_000), 0);
        assert_eq!(at(99_000), 0);
        assert_eq!(max_vus(&st), 50);
        assert_eq!(total(&st), Duration::from_secs(30));
    }

    #[test]
    fn next_change_finds_each_step() {
        let st = [s(10, 5), s(5, 5), s(10, 0)];
        let mut t = Duration::ZERO;
        let mut values = vec![vus_at(&st, t)];
        while let Some(n) = next_change(&st, t) {
            if n <= t {
                t += Duration::from_millis(1);
                continue;
            }
            t = n;
            values.push(vus_at(&st, t));
        }
        values.dedup();
        assert_eq!(values, vec![0, 1, 2, 3, 4, 5, 4, 3, 2, 1, 0]);
    }

    #[test]
    fn parses_the_command_line_form() {
        let st = parse_stages("10s:50, 1m:50,10s:0").unwrap();
        assert_eq!(st, vec![s(10, 50), s(60, 50), s(10, 0)]);
        for (bad, says) in [
            ("10s", "is not DURATION:VUS"),
            ("10x:5", "is not a duration"),
            ("10s:-1", "is not a VU count"),
            ("0s:5", "last no time"),
            ("10s:0", "no stage has any VUs"),
        ] {
            let e = parse_stages(bad).unwrap_err();
            assert!(e.contains(says) && e.contains("10s:50,1m:50"), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn the_controller_follows_the_stages() {
        let ms = Duration::from_millis;
        let st = vec![
            Stage {
                duration: ms(200),
                target: 4,
            },
            Stage {
                duration: ms(100),
                target: 4,
            },
            Stage {
                duration: ms(200),
                target: 0,
            },
        ];
        let (tx, mut rx) = watch::channel(0);
        let start = Instant::now();
        let ctl = tokio::spawn(async move {
            control(st.clone(), start, &tx).await;
            st
        });
        let mut seen = Vec::new();
        while rx.changed().await.is_ok() {
            seen.push((start.elapsed(), *rx.borrow_and_update()));
        }
        let st = ctl.await.unwrap();
        let values: Vec<u32> = seen.iter().map(|(_, v)| *v).collect();
        // A busy machine may coalesce steps, never reorder or skip the end points.
        assert!(values.windows(2).all(|w| w[0] != w[1]), "{values:?}");
        assert_eq!(values.iter().max(), Some(&4), "{values:?}");
        assert_eq!(values.last(), Some(&0), "{values:?}");
        // No count is published before the plan says so: going up, the plan is at
        // least there when it is seen; coming down, at most.
        let peak = values.iter().position(|v| *v == 4).unwrap();
        for (i, (t, v)) in seen.iter().enumerate() {
            let planned = vus_at(&st, *t);
            let early = if i <= peak {
                planned < *v
            } else {
                planned > *v
            };
            assert!(!early, "{v} VUs published at {t:?}, planned {planned}");
        }
    }
}
