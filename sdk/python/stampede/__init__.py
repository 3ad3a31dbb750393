"""Stampede scenarios in Python, with Locust's user model.

    from stampede import HttpUser, task, between, check, env

    class Shopper(HttpUser):
        wait_time = between(1, 3)

        def on_start(self):
            r = self.client.post("/api/v1/auth/login", json={"email": env("EMAIL", "qa@example.com"),
                                 "password": env("PASSWORD", "demo-password")}, read=True)
            self.token = r.json()["access_token"]

        @task(3)
        def list_products(self):
            self.client.get("/api/v1/products", params={"page": 1}, name="GET /api/v1/products")

One instance of the scenario runs per virtual user, so the user object is that VU's own
state. Every request is one host call; bodies are copied back only with ``read=True``.
Module and class bodies run once at build time (the component is pre-initialised): read
``env`` in ``on_start`` or in methods, not at import.
"""

from .client import Client, Failure, HttpError, Response, fail
from .user import HttpUser, between, constant, task
from .host import check, env, log, metrics, now, sleep, vu

__all__ = [
    "Client",
    "Failure",
    "HttpError",
    "HttpUser",
    "Response",
    "between",
    "check",
    "constant",
    "env",
    "fail",
    "log",
    "metrics",
    "now",
    "sleep",
    "task",
    "vu",
]
