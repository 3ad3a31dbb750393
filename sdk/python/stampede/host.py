"""Checks, time, --env values, VU context, custom metrics and logging: thin wrappers over
the stampede:scenario imports."""

from wit_world.imports import checks as _checks
from wit_world.imports import log as _log
from wit_world.imports import metrics as _metrics
from wit_world.imports import timing as _timing
from wit_world.imports import vu as _vu


def check(name: str, ok) -> bool:
    """Records a named pass/fail check; returns ``ok``."""
    ok = bool(ok)
    _checks.check(name, ok)
    return ok


def sleep(seconds: float) -> None:
    """Suspends only this virtual user."""
    _timing.sleep_ms(max(0, round(seconds * 1000)))


def now() -> float:
    """Seconds since the run started (monotonic)."""
    return _timing.now_us() / 1e6


def env(key: str, default=None):
    """A value passed with ``--env KEY=VALUE`` (never the host's environment)."""
    v = _vu.env(key)
    return default if v is None else v


class vu:
    """Who this virtual user is."""

    @staticmethod
    def id() -> int:
        return _vu.id()

    @staticmethod
    def iteration() -> int:
        return _vu.iteration()

    @staticmethod
    def scenario() -> str:
        return _vu.scenario()


class metrics:
    """Custom metrics, aggregated with the built-in ones."""

    @staticmethod
    def counter(name: str, value: float = 1.0) -> None:
        _metrics.counter_add(name, float(value))

    @staticmethod
    def trend(name: str, value: float) -> None:
        _metrics.trend_add(name, float(value))

    @staticmethod
    def rate(name: str, ok) -> None:
        _metrics.rate_add(name, bool(ok))

    @staticmethod
    def gauge(name: str, value: float) -> None:
        _metrics.gauge_set(name, float(value))


class log:
    """Logging, rate-limited by the host."""

    @staticmethod
    def debug(msg) -> None:
        _log.log(_log.Level.DEBUG, str(msg))

    @staticmethod
    def info(msg) -> None:
        _log.log(_log.Level.INFO, str(msg))

    @staticmethod
    def warn(msg) -> None:
        _log.log(_log.Level.WARN, str(msg))

    @staticmethod
    def error(msg) -> None:
        _log.log(_log.Level.ERROR, str(msg))
