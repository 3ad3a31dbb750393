"""{{name}}: log in once per user, then browse the catalogue with a bearer token."""

from stampede import HttpUser, between, check, env, fail, task


def seconds(key, default_ms):
    return int(env(key, str(default_ms))) / 1000


class Shopper(HttpUser):
    # A function, so --env is read when the run starts (class bodies run at build time).
    @staticmethod
    def wait_time():
        return between(seconds("WAIT_MIN_MS", 1000), seconds("WAIT_MAX_MS", 3000))

    def on_start(self):
        r = self.client.post(
            "/api/v1/auth/login",
            name="POST /api/v1/auth/login",
            json={"email": env("EMAIL", "qa@example.com"), "password": env("PASSWORD", "demo-password")},
            read=True,
        )
        if not check("login succeeded", r.status_code == 200):
            fail(f"login failed with status {r.status_code}")
        self.headers = {"Authorization": "Bearer " + r.json()["access_token"]}

    @task(3)
    def list_products(self):
        r = self.client.get("/api/v1/products", params={"page": 1, "limit": 20},
                            headers=self.headers, name="GET /api/v1/products")
        check("products listed", r.status_code == 200)
        r.expect_status(200)

    @task(2)
    def view_product(self):
        r = self.client.get("/api/v1/products/SKU-104582", headers=self.headers, name="GET /api/v1/products/:sku")
        check("product found", r.status_code == 200)
        r.expect_status(200)

    @task(1)
    def my_profile(self):
        r = self.client.get("/api/v1/users/me", headers=self.headers, name="GET /api/v1/users/me")
        check("profile authorized", r.status_code == 200)
        r.expect_status(200)
