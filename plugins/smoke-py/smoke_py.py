"""A basic authenticated smoke test, in Python: log in once per user, then browse the
catalogue (3), view a product (2) and check the profile (1) with a bearer token."""

import os

from stampede import HttpUser, between, check, env, fail, task


def seconds(key, default_ms):
    return int(env(key, str(default_ms))) / 1000


class SmokeUser(HttpUser):
    # A function, so --env is read when the run starts (class bodies run at build time).
    @staticmethod
    def wait_time():
        return between(seconds("WAIT_MIN_MS", 1000), seconds("WAIT_MAX_MS", 3000))

    def on_start(self):
        # The language's own environment API sees the run's --env, and only it.
        check("environment is --env", os.environ.get("WAIT_MIN_MS") == env("WAIT_MIN_MS"))
        r = self.client.post(
            "/api/v1/auth/login",
            name="POST /api/v1/auth/login",
            json={"email": env("EMAIL", "qa@example.com"), "password": env("PASSWORD", "demo-password"), "rememberMe": True},
            read=True,
        )
        if not check("login succeeded", r.status_code == 200):
            fail(f"login failed with status {r.status_code}")
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}

    @task(3)
    def list_products(self):
        with self.client.get(
            "/api/v1/products",
            params={"category": "electronics", "page": 1, "limit": 20},
            headers=self.headers,
            name="GET /api/v1/products",
            catch_response=True,
        ) as r:
            if not check("products listed", r.status_code == 200):
                r.failure(f"products: status {r.status_code}")

    @task(2)
    def view_product(self):
        r = self.client.get("/api/v1/products/SKU-104582", headers=self.headers, name="GET /api/v1/products/:sku")
        check("product found", r.status_code == 200)
        r.raise_for_status()

    @task(1)
    def my_profile(self):
        r = self.client.get("/api/v1/users/me", headers=self.headers, name="GET /api/v1/users/me")
        check("profile authorized", r.status_code == 200)
        r.raise_for_status()
