"""``locust.wait_time``."""

from .user import between, constant, constant_pacing, constant_throughput

__all__ = ("between", "constant", "constant_pacing", "constant_throughput")
