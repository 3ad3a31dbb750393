//! W3C trace context on a VU's requests (`--trace-context`): one trace id per
//! iteration, one span id per request, so the target's tracing ties a slow request
//! reported here to its trace. A `traceparent` the scenario set itself is sent as it is
//! and recorded instead.

use crate::metrics::event::TraceIds;

pub(super) struct Tracer {
    /// `Some(sampled)` when the run adds trace context.
    run: Option<bool>,
    /// What the next requests get: the run's, or what the scenario asked
    /// (`http.trace-context`).
    mode: Option<bool>,
    /// The iteration the current trace id belongs to.
    iteration: u64,
    trace_id: [u8; 16],
    rng: fastrand::Rng,
}

impl Tracer {
    pub fn new(mode: Option<bool>) -> Tracer {
        Tracer {
            run: mode,
            mode,
            iteration: u64::MAX,
            trace_id: [0; 16],
            rng: fastrand::Rng::new(),
        }
    }

    /// The scenario's own choice (`None`: no trace context), until set again or
    /// [`Self::reset`].
    pub fn set(&mut self, mode: Option<bool>) {
        self.mode = mode;
    }

    /// Back to the run's setting.
    pub fn reset(&mut self) {
        self.mode = self.run;
    }

    /// The ids `headers` carry, adding a `traceparent` when the run asks for one and the
    /// scenario did not set its own.
    pub fn ids_for(
        &mut self,
        iteration: u64,
        headers: &mut Vec<(String, String)>,
    ) -> Option<TraceIds> {
        if let Some((_, own)) = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("traceparent"))
        {
            return TraceIds::parse(own);
        }
        let sampled = self.mode?;
        if iteration != self.iteration || self.trace_id == [0; 16] {
            self.iteration = iteration;
            self.trace_id = self.nonzero::<16>();
        }
        let ids = TraceIds {
            trace_id: self.trace_id,
            span_id: self.nonzero::<8>(),
        };
        headers.push(("traceparent".to_string(), ids.traceparent(sampled)));
        Some(ids)
    }

    /// Random bytes, not all zero (the spec's invalid id).
    fn nonzero<const N: usize>(&mut self) -> [u8; N] {
        loop {
            let mut b = [0u8; N];
            self.rng.fill(&mut b);
            if b != [0; N] {
                return b;
            }
        }
    }
}
