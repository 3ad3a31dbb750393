"""Unit tests of the Python SDK against the real generated bindings (componentize-py
`bindings`), with the host functions replaced by recorders. Run with the bindings and
sdk/python on PYTHONPATH; the cargo test suite does."""

import types
import unittest

from componentize_py_types import Err
from wit_world.exports import user as wit_user
from wit_world.imports import checks, http, timing, vu

import stampede
from stampede import HttpError, HttpUser, Failure, between, check, constant, env, sleep, task
from stampede._export import export
from packing import packed

calls = []
replies = []


settled = []


def fake_send(req, deferred=False):
    req.deferred = deferred
    calls.append(req)
    r = replies.pop(0) if replies else {"status": 200}
    if "error" in r:
        raise Err(r["error"])
    t = http.Timings(connect_us=1000, tls_us=0, send_us=0, wait_us=2500, receive_us=0, total_us=4000)
    # As the host answers: headers and body only when asked for, a final URL only after
    # redirects.
    headers = r.get("headers", []) if req.read & http.ReadFlags.HEADERS else None
    body = r.get("body", b"") if req.read & http.ReadFlags.BODY else None
    return http.HttpResponse(status=r["status"], headers=headers, body=body,
                             body_size=len(r.get("body", b"")), final_url=r.get("final_url"),
                             timings=t)


def install():
    """The host functions as recorders (in each test: other test modules install theirs)."""
    http.send = fake_send
    http.send_packed = lambda req, deferred: packed(fake_send(req, deferred))
    http.send_deferred = lambda req: fake_send(req, True)
    http.settle = lambda ok, message: settled.append((ok, message)) or True
    http.follow_redirects = lambda follow: calls.append(("follow", follow))
    http.trace_context = lambda mode: calls.append(("trace", mode))
    checks.check = lambda name, ok: calls.append(("check", name, ok))
    timing.sleep_ms = lambda ms: calls.append(("sleep", ms))
    timing.now_us = lambda: 1_500_000
    vu.env = ENV.get


ENV = {"K": "v"}
client = stampede.Client()


class Requests(unittest.TestCase):
    def setUp(self):
        install()
        calls.clear()
        replies.clear()
        settled.clear()

    def test_one_host_call_with_the_wit_fields(self):
        r = client.get("/api/v1/products", params={"page": 2, "q": "a b&c"}, name="list",
                       headers={"Authorization": "Bearer t"}, timeout=1.5)
        self.assertEqual(len(calls), 1)
        req = calls[0]
        self.assertEqual((req.method, req.url), ("GET", "/api/v1/products?page=2&q=a+b%26c"))
        self.assertEqual(req.headers, [("Authorization", "Bearer t")])
        self.assertEqual((req.name, req.timeout_ms, req.read), ("list", 1500, http.ReadFlags(0)))
        self.assertEqual((r.status_code, r.timings["wait"]), (200, 2.5))
        with self.assertRaisesRegex(Failure, "read=True"):
            r.json()

    def test_trace_context_is_set_around_the_one_request(self):
        client.get("/a", trace=True)
        client.get("/b")
        client.get("/c", trace="unsampled")
        client.get("/d", trace=False)
        seen = [c[1] if isinstance(c, tuple) else c.url for c in calls]
        T = http.TraceMode
        self.assertEqual(seen, [T.SAMPLED, "/a", T.RUN, "/b", T.UNSAMPLED, "/c", T.RUN, T.OFF, "/d", T.RUN])
        with self.assertRaises(ValueError):
            client.get("/e", trace="yes")

    def test_final_url_and_what_was_not_asked_for(self):
        replies.append({"status": 200, "final_url": "http://h/after"})
        r = client.get("/before")
        self.assertEqual(r.url, "http://h/after")
        self.assertEqual(r.headers, {})
        with self.assertRaisesRegex(Failure, "read=True"):
            r.content
        self.assertEqual(client.get("/plain").url, "/plain")

    def test_bodies(self):
        replies.append({"status": 201, "body": b'{"id": 5}'})
        r = client.post("/c", json={"a": [1, "x"]}, read=True)
        self.assertEqual(calls[-1].body, b'{"a":[1,"x"]}')
        self.assertEqual(calls[-1].read, http.ReadFlags.BODY | http.ReadFlags.HEADERS)
        self.assertEqual(r.json()["id"], 5)
        client.post("/f", data={"grant_type": "password", "username": "qa@example.com"})
        self.assertEqual(calls[-1].body, b"grant_type=password&username=qa%40example.com")
        self.assertIn(("Content-Type", "application/x-www-form-urlencoded"), calls[-1].headers)

    def test_multipart_has_a_boundary_in_no_part(self):
        client.post("/u", data={"importType": "full"}, files={"file": ("c.csv", "email\na@x.io\n", "text/csv")})
        ctype = dict(calls[-1].headers)["Content-Type"]
        boundary = ctype.split("boundary=")[1]
        parts = calls[-1].body.decode().split("--" + boundary)
        self.assertEqual(len(parts), 4)
        self.assertEqual(parts[3], "--\r\n")
        self.assertTrue(parts[1].endswith('name="importType"\r\n\r\nfull\r\n'))
        self.assertIn('name="file"; filename="c.csv"\r\nContent-Type: text/csv\r\n\r\nemail\na@x.io\n\r\n', parts[2])

    def test_http_errors_carry_the_wit_case(self):
        replies.append({"error": http.HttpError_Connect("refused")})
        with self.assertRaises(HttpError) as e:
            client.get("http://127.0.0.1:1/")
        self.assertEqual((e.exception.kind, str(e.exception)), ("connect", "connect: refused"))
        replies.append({"error": http.HttpError_InvalidUrl("x")})
        with self.assertRaises(HttpError) as e:
            client.get("::")
        self.assertEqual(e.exception.kind, "invalid-url")
        replies.append({"error": http.HttpError_Timeout()})
        with self.assertRaises(HttpError) as e:
            client.get("/slow")
        self.assertEqual(str(e.exception), "timeout")

    def test_catch_response_judges_the_request_not_the_task(self):
        # failure() on a 200 fails that request; success() on a 404 passes it; unmarked,
        # the status decides. The task goes on either way.
        replies.append({"status": 200})
        with client.get("/x", catch_response=True) as r:
            r.failure("not there")
        replies.append({"status": 404})
        with client.get("/x", catch_response=True) as r:
            r.failure("no")
            r.success()
        replies.append({"status": 503})
        with client.get("/x", catch_response=True):
            pass
        sent = [c for c in calls if not isinstance(c, tuple)]
        self.assertEqual([c.deferred for c in sent], [True, True, True])
        self.assertEqual(settled, [(False, "not there"), (True, None), (False, "status 503")])
        replies.append({"status": 500})
        with self.assertRaisesRegex(Failure, "expected status 200, got 500"):
            client.get("/x").expect_status(200)

    def test_helpers(self):
        self.assertTrue(check("ok", 1))
        sleep(0.25)
        self.assertEqual(calls, [("check", "ok", True), ("sleep", 250)])
        self.assertEqual((env("K"), env("MISSING", "d"), env("MISSING")), ("v", "d", None))
        self.assertEqual(stampede.now(), 1.5)


class Shopper(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self):
        self.started = True

    @task(3)
    def ok(self):
        self.ran = True

    @task
    def broken(self):
        stampede.fail("cart not created")

    @task(0)
    def typo(self):
        None.x


class Users(unittest.TestCase):
    def test_export_describes_and_maps_failures(self):
        mod = types.ModuleType("scenario_mod")
        Shopper.__module__ = "scenario_mod"
        mod.Shopper = Shopper
        u = export(mod)()
        spec = u.describe()
        self.assertEqual([(t.name, t.weight) for t in spec.tasks], [("ok", 3), ("broken", 1), ("typo", 0)])
        self.assertEqual(spec.wait, wit_user.WaitTime_Between((500, 1500)))
        with self.assertRaises(Err) as e:
            u.run_task(0)
        self.assertEqual(e.exception.value, "on_start has not completed")
        u.on_start()
        u.run_task(0)
        with self.assertRaises(Err) as e:
            u.run_task(1)
        self.assertEqual(e.exception.value, "cart not created")
        with self.assertRaises(Err) as e:
            u.run_task(2)
        self.assertTrue(e.exception.value.startswith("AttributeError: "), e.exception.value)
        with self.assertRaises(Err) as e:
            u.run_task(7)
        self.assertEqual(e.exception.value, "no task 7")
        u.on_stop()

    def test_wait_time_may_be_a_function_and_one_user_is_required(self):
        class Constant(HttpUser):
            @staticmethod
            def wait_time():
                return constant(2)

            @task
            def t(self):
                pass

        mod = types.ModuleType("m2")
        Constant.__module__ = "m2"
        mod.Constant = Constant
        self.assertEqual(export(mod)().describe().wait, wit_user.WaitTime_Constant(2000))
        with self.assertRaisesRegex(TypeError, "expected one HttpUser subclass, found none"):
            export(types.ModuleType("empty"))


class Feeders(unittest.TestCase):
    """stampede.data over the real bindings' types, the host's functions replaced."""

    def setUp(self):
        from wit_world.imports import data
        from stampede import data as sd

        self.sd, self.data = sd, data
        self.asked = []
        tables = {
            "users.csv": (["user", "pw"], [["a", "1"], ["b", "2"]], False),
            "p.json": (["id", "name"], [["7", '"x"']], True),
        }

        def table(file):
            if file not in tables:
                raise Err(data.DataError_Invalid(f"{file}: no such file in the data directory"))
            cols, rows, js = tables[file]
            return data.TableInfo(columns=cols, rows=len(rows), json=js)

        def next_row(file, order):
            self.asked.append((file, order))
            table(file)
            rows = tables[file][1]
            if len(self.asked) > len(rows):
                raise Err(data.DataError_Exhausted(f"{file}: all {len(rows)} rows were handed out"))
            return rows[len(self.asked) - 1]

        self.saved = (sd._data.table, sd._data.next_row)
        sd._data.table, sd._data.next_row = table, next_row

    def tearDown(self):
        self.sd._data.table, self.sd._data.next_row = self.saved

    def test_rows_are_dicts_json_cells_typed_and_the_loop_ends_with_the_rows(self):
        users = self.sd.feeder("users.csv", "sequential")
        self.assertEqual(self.asked, [])  # made at module level: no host call yet
        self.assertEqual([r["user"] for r in users], ["a", "b"])
        self.assertEqual(self.asked[0], ("users.csv", self.data.Order.SEQUENTIAL))
        self.assertEqual(len(users), 2)
        self.assertEqual(users.columns, ["user", "pw"])
        with self.assertRaises(self.sd.DataError) as e:
            users.next()
        self.assertEqual(e.exception.kind, "exhausted")
        self.asked.clear()
        self.assertEqual(self.sd.feeder("p.json", "unique").next(), {"id": 7, "name": "x"})

    def test_bad_orders_and_missing_files_are_named(self):
        with self.assertRaises(ValueError):
            self.sd.feeder("users.csv", "shuffle")
        with self.assertRaises(self.sd.DataError) as e:
            self.sd.feeder("nope.csv").next()
        self.assertEqual(e.exception.kind, "invalid")
        self.assertIn("nope.csv", str(e.exception))


if __name__ == "__main__":
    unittest.main()
