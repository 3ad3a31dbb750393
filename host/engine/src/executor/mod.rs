//! Load models (k6's executors). A plan is computed up front from the configuration;
//! each model is one unit behind [`Executor`]: it validates its settings, describes
//! its plan, says what it needs, splits itself for a segment, and runs the load on
//! the shared VU loops of [`closed`] and [`arrival`].

pub mod arrival;
pub mod closed;
mod constant_arrival_rate;
mod constant_vus;
mod per_vu_iterations;
mod ramping_arrival_rate;
pub mod ramping_vus;
pub mod segment;
mod shared_iterations;
pub mod user;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

pub use arrival::RateStage;
pub use constant_arrival_rate::ConstantArrivalRate;
pub use constant_vus::ConstantVus;
pub use per_vu_iterations::PerVuIterations;
pub use ramping_arrival_rate::RampingArrivalRate;
pub use ramping_vus::{RampingVus, Stage};
pub use segment::Segment;
pub use shared_iterations::SharedIterations;

/// How much work a run does, and in which model: the settings of one executor.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    /// Closed: VUs loop until the duration is over.
    ConstantVus(ConstantVus),
    /// Closed: VUs share a fixed number of iterations.
    SharedIterations(SharedIterations),
    /// Closed: each VU runs this many iterations.
    PerVuIterations(PerVuIterations),
    /// Closed: the number of looping VUs follows the stages.
    RampingVus(RampingVus),
    /// Open: iterations start at a fixed rate whether or not the target keeps up;
    /// with no VU free, an iteration is dropped.
    ConstantArrivalRate(ConstantArrivalRate),
    /// Open: the arrival rate follows linear stages.
    RampingArrivalRate(RampingArrivalRate),
}

impl Load {
    pub fn duration(duration: Duration) -> Load {
        Load::ConstantVus(ConstantVus { duration })
    }

    pub fn iterations(iterations: u64) -> Load {
        Load::SharedIterations(SharedIterations {
            iterations,
            max_duration: None,
        })
    }

    pub fn per_vu_iterations(iterations: u64) -> Load {
        Load::PerVuIterations(PerVuIterations {
            iterations,
            max_duration: None,
        })
    }

    /// An iteration-bound load that ends after `d` even with iterations left (k6's
    /// `maxDuration`); other loads are bound by time already and stay as they are.
    pub fn with_max_duration(self, d: Duration) -> Load {
        match self {
            Load::SharedIterations(e) => Load::SharedIterations(SharedIterations {
                max_duration: Some(d),
                ..e
            }),
            Load::PerVuIterations(e) => Load::PerVuIterations(PerVuIterations {
                max_duration: Some(d),
                ..e
            }),
            other => other,
        }
    }

    pub fn stages(stages: Vec<Stage>) -> Load {
        Load::RampingVus(RampingVus { stages })
    }

    pub fn rate(per_sec: f64, duration: Duration) -> Load {
        Load::ConstantArrivalRate(ConstantArrivalRate { per_sec, duration })
    }

    pub fn ramping_rate(start_rate: f64, stages: Vec<RateStage>) -> Load {
        Load::RampingArrivalRate(RampingArrivalRate { start_rate, stages })
    }

    /// The model behind these settings: the one place the load is dispatched on.
    pub fn executor(&self) -> &dyn Executor {
        match self {
            Load::ConstantVus(e) => e,
            Load::SharedIterations(e) => e,
            Load::PerVuIterations(e) => e,
            Load::RampingVus(e) => e,
            Load::ConstantArrivalRate(e) => e,
            Load::RampingArrivalRate(e) => e,
        }
    }

    pub fn is_open(&self) -> bool {
        self.executor().is_open()
    }
}

/// What a plan asks of the run, for progress and fingerprints.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Requirements {
    /// How long the load lasts, when time-bound.
    pub duration: Option<Duration>,
    /// Iterations planned, when the load is a count.
    pub iterations: Option<u64>,
}

/// How the load phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LoadEnd {
    /// Every VU ended on its own (its iterations spent): nothing is left to drain.
    pub finished: bool,
    /// Iterations the open model could not start (no VU free).
    pub dropped_iterations: u64,
    /// An iteration-bound load ran out of time (k6's `maxDuration`) before its
    /// iterations were spent.
    pub max_duration_reached: Option<Duration>,
}

/// What an executor runs its load with.
pub struct LoadCtx<'a> {
    pub plan: &'a Plan,
    pub shared: &'a Arc<user::VuShared>,
    /// Where VU tasks go: the caller drains and aborts them after the load.
    pub vus: &'a mut JoinSet<()>,
    /// Turns true after the load: VUs stop between iterations.
    pub vu_stop: watch::Receiver<bool>,
    /// Turns true when the load must end at once (Ctrl-C, an abort, a VU that could
    /// not start): the executor returns promptly.
    pub cut: watch::Receiver<bool>,
    /// Set by the executor when its clock starts (after the VUs it sets up in advance).
    pub load_start: &'a OnceLock<tokio::time::Instant>,
}

pub type LoadFuture<'a> = Pin<Box<dyn Future<Output = LoadEnd> + Send + 'a>>;

/// One load model. Settings are checked by `validate` before a plan is made from
/// them; everything else takes the plan (its VUs and graceful stop).
pub trait Executor: Send + Sync {
    /// k6's name for the model.
    fn kind(&self) -> &'static str;

    /// Open models start iterations on a schedule; closed ones loop their VUs.
    fn is_open(&self) -> bool {
        false
    }

    /// Whether the settings make a plan; the error names the flag to change.
    fn validate(&self) -> Result<(), String>;

    /// The VUs the model sets up by itself when `--vus` is not given (the peak of
    /// ramping stages; an arrival rate's peak per second).
    fn default_vus(&self) -> Option<u32> {
        None
    }

    /// The plan as printed before the run starts: one line, then one per stage.
    fn describe(&self, plan: &Plan) -> Vec<String>;

    fn requirements(&self, plan: &Plan) -> Requirements;

    /// This segment's part of the load (the VUs are split by [`Segment::split`]).
    fn split(&self, seg: &Segment, plan: &Plan) -> Load;

    /// Share `i` of the load by `weights`, for scenarios sharing one `[load]`;
    /// `None` when the model cannot be shared that way.
    fn weighted(&self, weights: &[u64], i: usize) -> Option<Load>;

    /// Sets up the VUs and runs the load until the plan is done or `cut` says so.
    fn run<'a>(&'a self, ctx: LoadCtx<'a>) -> LoadFuture<'a>;
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// VUs set up at the start (for ramping VUs: the most any stage wants).
    pub vus: u32,
    /// VUs instantiated at most: the open model may set up more than `vus` when none
    /// is idle (the pooling allocator is sized from it).
    pub max_vus: u32,
    pub load: Load,
    /// How long running iterations may take to finish once the load is over.
    pub graceful_stop: Duration,
    /// Open model split over segments: start only this segment's stripe of the
    /// schedule.
    pub stripe: Option<Segment>,
}

impl Plan {
    /// A plan with the default graceful stop (10 s) and no VUs beyond `vus`.
    pub fn new(vus: u32, load: Load) -> Self {
        Plan {
            vus,
            max_vus: vus,
            load,
            graceful_stop: Duration::from_secs(10),
            stripe: None,
        }
    }

    pub fn executor(&self) -> &dyn Executor {
        self.load.executor()
    }

    /// The plan as printed before the run starts: one line, then one per step.
    pub fn describe(&self) -> Vec<String> {
        self.executor().describe(self)
    }

    pub fn requirements(&self) -> Requirements {
        self.executor().requirements(self)
    }

    fn vus_text(&self) -> String {
        if self.max_vus > self.vus {
            format!("{} VUs set up, up to {}", self.vus, self.max_vus)
        } else {
            format!("{} VUs", self.vus)
        }
    }

    fn grace(&self) -> humantime::FormattedDuration {
        fmt_d(self.graceful_stop)
    }
}

/// `  stage 2: 10s → 1m10s: hold 50 VUs`, one line per stage, ramping from `start`.
fn stage_lines(
    start: f64,
    stages: impl Iterator<Item = (Duration, f64)>,
    what: impl Fn(f64, f64) -> String,
) -> Vec<String> {
    let (mut at, mut from) = (Duration::ZERO, start);
    stages
        .enumerate()
        .map(|(i, (duration, to))| {
            let end = at + duration;
            let line = format!(
                "  stage {}: {} → {}: {}",
                i + 1,
                fmt_d(at),
                fmt_d(end),
                what(from, to)
            );
            (at, from) = (end, to);
            line
        })
        .collect()
}

fn fmt_d(d: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn each_model_says_what_it_needs() {
        let stages = vec![
            Stage {
                duration: secs(10),
                target: 5,
            },
            Stage {
                duration: secs(5),
                target: 0,
            },
        ];
        let rate_stages = vec![RateStage {
            duration: secs(4),
            target: 12.5,
        }];
        let cases = [
            (
                Load::duration(secs(30)),
                "constant-vus",
                Some(secs(30)),
                None,
            ),
            (Load::iterations(9), "shared-iterations", None, Some(9)),
            (
                Load::per_vu_iterations(3),
                "per-vu-iterations",
                None,
                Some(12),
            ),
            (Load::stages(stages), "ramping-vus", Some(secs(15)), None),
            (
                Load::rate(7.5, secs(2)),
                "constant-arrival-rate",
                Some(secs(2)),
                None,
            ),
            (
                Load::ramping_rate(0.0, rate_stages),
                "ramping-arrival-rate",
                Some(secs(4)),
                None,
            ),
        ];
        for (load, kind, duration, iterations) in cases {
            let plan = Plan::new(4, load);
            let e = plan.executor();
            assert_eq!(e.kind(), kind);
            assert_eq!(e.validate(), Ok(()), "{kind}");
            assert!(
                plan.describe()[0].starts_with(kind),
                "{:?}",
                plan.describe()
            );
            assert_eq!(
                plan.requirements(),
                Requirements {
                    duration,
                    iterations
                },
                "{kind}"
            );
            assert_eq!(e.is_open(), kind.ends_with("arrival-rate"), "{kind}");
        }
        // The models that size themselves: the peak of the stages, one VU per
        // iteration per second at the peak rate.
        assert_eq!(Load::rate(7.5, secs(2)).executor().default_vus(), Some(8));
        assert_eq!(
            Load::ramping_rate(1.0, vec![]).executor().default_vus(),
            Some(1)
        );
        assert_eq!(Load::iterations(3).executor().default_vus(), None);
    }

    #[test]
    fn each_model_names_its_own_bad_settings() {
        let bad = [
            (Load::duration(Duration::ZERO), "--duration 0s"),
            (Load::iterations(0), "--iterations 0"),
            (Load::per_vu_iterations(0), "--iterations-per-vu 0"),
            (Load::stages(vec![]), "--stages: no stages"),
            (Load::rate(0.0, secs(1)), "--rate 0"),
            (Load::rate(f64::NAN, secs(1)), "--rate NaN"),
            (Load::ramping_rate(0.0, vec![]), "plan no iterations"),
            (Load::ramping_rate(-1.0, vec![]), "rates must be 0 or more"),
        ];
        for (load, says) in bad {
            let e = load.executor().validate().unwrap_err();
            assert!(e.contains(says), "{load:?}: {e}");
        }
    }

    #[test]
    fn weights_share_counts_and_rates_but_not_stages() {
        let w = [3, 1];
        assert_eq!(
            Load::iterations(10).executor().weighted(&w, 0),
            Some(Load::iterations(8))
        );
        assert_eq!(
            Load::rate(100.0, secs(1)).executor().weighted(&w, 1),
            Some(Load::rate(25.0, secs(1)))
        );
        assert_eq!(
            Load::duration(secs(1)).executor().weighted(&w, 1),
            Some(Load::duration(secs(1)))
        );
        assert_eq!(Load::stages(vec![]).executor().weighted(&w, 0), None);
        assert_eq!(
            Load::ramping_rate(1.0, vec![]).executor().weighted(&w, 0),
            None
        );
    }
}
