//! The generated host traits of the simple imports (`timing`, `metrics`, `log`, `vu`),
//! on a VU's context.

use std::time::Duration;

use super::ctx::VuCtx;
use crate::bindings::{log, metrics, timing, vu};
use crate::metrics::Event;
use crate::metrics::event::CustomValue;

impl timing::Host for VuCtx {
    fn now_us(&mut self) -> u64 {
        self.run_start.elapsed().as_micros() as u64
    }

    async fn sleep_ms(&mut self, ms: u32) {
        // Anything buffered is sent before a pause, so live figures stay current.
        self.recorder.flush_if_stale();
        tokio::time::sleep(Duration::from_millis(ms as u64)).await;
    }
}

impl metrics::Host for VuCtx {
    fn counter_add(&mut self, name: String, value: f64) {
        let name = self.names.intern(&name);
        self.recorder.record(Event::Custom {
            name,
            value: CustomValue::Counter(value),
        });
    }

    fn trend_add(&mut self, name: String, value: f64) {
        let name = self.names.intern(&name);
        self.recorder.record(Event::Custom {
            name,
            value: CustomValue::Trend(value),
        });
    }

    fn rate_add(&mut self, name: String, ok: bool) {
        let name = self.names.intern(&name);
        self.recorder.record(Event::Custom {
            name,
            value: CustomValue::Rate(ok),
        });
    }

    fn gauge_set(&mut self, name: String, value: f64) {
        let name = self.names.intern(&name);
        self.recorder.record(Event::Custom {
            name,
            value: CustomValue::Gauge(value),
        });
    }

    fn set_tags(&mut self, tags: Vec<(String, String)>) -> Result<(), String> {
        // Interned apart from names, so tags with ids cannot crowd out request names.
        self.tags = crate::metrics::tags::encode(&tags)?.map(|set| self.tag_sets.intern(&set));
        Ok(())
    }
}

impl log::Host for VuCtx {
    fn log(&mut self, level: log::Level, message: String) {
        if self.logs.allow(self.run_start.elapsed().as_secs()) {
            let level = match level {
                log::Level::Debug => "debug",
                log::Level::Info => "info",
                log::Level::Warn => "warn",
                log::Level::Error => "error",
            };
            let msg: String = message.chars().take(1000).collect();
            eprintln!("[{} vu {}] {level}: {msg}", self.scenario, self.id);
        }
    }
}

impl vu::Host for VuCtx {
    fn id(&mut self) -> u32 {
        self.id
    }

    fn iteration(&mut self) -> u64 {
        self.iteration
    }

    fn env(&mut self, key: String) -> Option<String> {
        self.env.get(&key).cloned()
    }

    fn scenario(&mut self) -> String {
        self.scenario.to_string()
    }

    fn schedule(&mut self, next: vu::Next) {
        self.next = Some(next);
    }

    fn setup_data(&mut self) -> Option<String> {
        self.setup_data
            .get()
            .cloned()
            .flatten()
            .map(|d| d.to_string())
    }
}
