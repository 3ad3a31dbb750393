"""Locust's scripting API on Stampede: ``from locust import HttpUser, task, between`` scripts
run unchanged with ``stampede run locustfile.py``. What Locust has and Stampede does not
(its web UI and runners, ``LoadTestShape``, ``MarkovTaskSet``, ``StopTest``, gevent) is
refused with a message naming it; the README's "Coming from Locust" lists them."""

from . import wait_time
from .contrib.fasthttp import FastHttpUser
from .event import Events
from .user import (
    HttpUser,
    LoadTestShape,
    MarkovTaskSet,
    SequentialTaskSet,
    TaskSet,
    User,
    between,
    constant,
    constant_pacing,
    constant_throughput,
    tag,
    task,
)

__version__ = "2.43.0+stampede"

events = Events()


def run_single_user(*_a, **_kw):
    raise NotImplementedError("run_single_user is not supported by Stampede: run the file with `stampede run`")


__all__ = (
    "Events",
    "FastHttpUser",
    "HttpUser",
    "LoadTestShape",
    "MarkovTaskSet",
    "SequentialTaskSet",
    "TaskSet",
    "User",
    "between",
    "constant",
    "constant_pacing",
    "constant_throughput",
    "events",
    "run_single_user",
    "tag",
    "task",
    "wait_time",
)
