package stampede

import (
	"time"

	"stampede.dev/sdk/imports/stampede_scenario_checks"
	"stampede.dev/sdk/imports/stampede_scenario_log"
	"stampede.dev/sdk/imports/stampede_scenario_metrics"
	"stampede.dev/sdk/imports/stampede_scenario_timing"
	"stampede.dev/sdk/imports/stampede_scenario_vu"
)

// Check records a named pass/fail check and returns ok.
func Check(name string, ok bool) bool {
	stampede_scenario_checks.Check(name, ok)
	return ok
}

// Sleep suspends only this virtual user.
func Sleep(d time.Duration) {
	stampede_scenario_timing.SleepMs(uint32(min(max(d.Milliseconds(), 0), int64(^uint32(0)))))
}

// Now is the monotonic time since the run started.
func Now() time.Duration {
	return time.Duration(stampede_scenario_timing.NowUs()) * time.Microsecond
}

// Env is a value passed with --env KEY=VALUE (never the host's environment), or def.
func Env(key, def string) string {
	return stampede_scenario_vu.Env(key).SomeOr(def)
}

// VUID is this virtual user's id, unique in the run, from 1.
func VUID() uint32 { return stampede_scenario_vu.Id() }

// Iteration is the iteration this VU is running, from 0.
func Iteration() uint64 { return stampede_scenario_vu.Iteration() }

// Scenario is the scenario's name in this run.
func Scenario() string { return stampede_scenario_vu.Scenario() }

// Counter adds to a custom counter.
func Counter(name string, value float64) { stampede_scenario_metrics.CounterAdd(name, value) }

// Trend records a value into a custom trend (percentiles, min, max).
func Trend(name string, value float64) { stampede_scenario_metrics.TrendAdd(name, value) }

// Rate records an outcome into a custom rate.
func Rate(name string, ok bool) { stampede_scenario_metrics.RateAdd(name, ok) }

// Gauge sets a custom gauge.
func Gauge(name string, value float64) { stampede_scenario_metrics.GaugeSet(name, value) }

// Log writes a message (rate-limited by the host); level is "debug", "info", "warn" or "error".
func Log(level, msg string) {
	l := stampede_scenario_log.Level_Info
	switch level {
	case "debug":
		l = stampede_scenario_log.Level_Debug
	case "warn":
		l = stampede_scenario_log.Level_Warn
	case "error":
		l = stampede_scenario_log.Level_Error
	}
	stampede_scenario_log.Log(l, msg)
}
