"""Locust's client API (requests' arguments), each call checked by the test against what
the server saw at /echo."""
import io
import os

from locust import HttpUser, constant, task


class ApiUser(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.client.headers.update({"X-Team": os.environ["TEAM"], "Accept": "application/json"})
        self.client.cookies["pref"] = "dark"
        self.client.auth = ("svc", "s3cret")

    @task
    def calls(self):
        c = self.client
        r = c.get("/echo/get", params={"q": ["a b", "c"], "n": 1}, name="echo get")
        seen = r.json()
        assert seen["headers"]["x-team"] == os.getenv("TEAM"), seen
        c.post("/echo/form", data={"grant_type": "password", "username": "u@x.io"})
        c.post("/echo/json", json={"items": [1, 2], "ok": True}, headers={"X-Trace": "t-1"})
        c.put("/echo/raw", data=b"\x00\x01raw", headers={"Content-Type": "application/octet-stream"})
        c.patch("/echo/text", data="plain text")
        files = {"file": ("c.csv", io.BytesIO(b"email\na@x.io\n"), "text/csv")}
        c.post("/echo/upload", files=files, data={"importType": "full"})
        c.delete("/echo/item", cookies={"one": "1"}, auth=("other", "pw"))
        c.options("/echo/opts")
        c.head("/echo/head")
        r = c.get("/redirect", allow_redirects=False, name="no redirect")
        assert r.status_code == 302 and r.headers["Location"] == "/ok", r.status_code
        r = c.get("/redirect", name="redirect")
        assert r.status_code == 200 and r.url.endswith("/ok"), r.url
        r = c.request("GET", os.environ["TARGET"] + "/ok", name="absolute", timeout=(1, 2))
        assert r.ok and r.text == "ok" and r.reason == "OK" and r.elapsed.total_seconds() > 0
        with c.rename_request("renamed"):
            c.get("/ok")
        # The server's cookie is in client.cookies and sent back; clearing removes it
        # from the jar that sends it.
        c.get("/cookie/set", name="cookie set")
        assert c.cookies["session"] == "abc123", dict(c.cookies)
        assert c.get("/cookie/check", name="cookie kept").status_code == 200
        c.cookies.clear()
        with c.get("/cookie/check", name="cookie cleared", catch_response=True) as r:
            if r.status_code == 400:
                r.success()
            else:
                r.failure(f"a cleared cookie was sent: {r.status_code}")
        c.get("/echo/after-clear")
