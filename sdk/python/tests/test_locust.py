"""Unit tests of the Locust layer (``sdk/python/locust``) against the real generated
bindings, the host functions replaced by recorders: the scheduler's picks and waits
(TaskSets, SequentialTaskSet, interrupt, StopUser, pacing, tags, user classes), and the
session's requests and catch_response verdicts."""

import os
import types
import unittest

from componentize_py_types import Err
from wit_world.imports import http, log, timing, vu

import locust
from locust import (
    HttpUser,
    SequentialTaskSet,
    TaskSet,
    User,
    between,
    constant,
    constant_pacing,
    events,
    tag,
    task,
)
from locust._runner import _pick_class, export
from locust.exception import InterruptTaskSet, RescheduleTask, StopUser
from packing import packed

sent = []
settled = []
scheduled = []
replies = []
logged = []
VU_ID = [1]


def fake_send(req, deferred=False):
    sent.append((req, deferred))
    r = replies.pop(0) if replies else {"status": 200}
    if "error" in r:
        raise Err(r["error"])
    t = http.Timings(connect_us=0, tls_us=0, send_us=0, wait_us=1000, receive_us=0, total_us=1500)
    return http.HttpResponse(status=r["status"], headers=r.get("headers", []), body=r.get("body", b""),
                             body_size=len(r.get("body", b"")), final_url=None, timings=t)


def install():
    """The host functions as recorders (in each test: other test modules install theirs)."""
    http.send = fake_send
    http.send_packed = lambda req, deferred: packed(fake_send(req, deferred))
    http.send_deferred = lambda req: fake_send(req, True)
    http.settle = lambda ok, message: settled.append((ok, message)) or True
    http.follow_redirects = lambda follow: sent.append(("follow", follow))
    vu.schedule = scheduled.append
    vu.id = lambda: VU_ID[0]
    log.log = lambda level, msg: logged.append(msg)
    timing.sleep_ms = lambda ms: None


def module(*classes):
    m = types.ModuleType("locustfile")
    for c in classes:
        c.__module__ = "locustfile"
        setattr(m, c.__name__, c)
    return m


def reset():
    install()
    for xs in (sent, settled, scheduled, replies, logged):
        xs.clear()
    VU_ID[0] = 1


def next_task(names):
    """The task the last schedule named, and its wait."""
    n = scheduled[-1]
    assert isinstance(n, vu.Next_Task), n
    return names[n.value.task], n.value.wait_ms


class Scheduler(unittest.TestCase):
    def setUp(self):
        reset()

    def test_tasksets_nest_interrupt_and_hand_back(self):
        log_ = []

        class Browse(TaskSet):
            def on_start(self):
                log_.append("enter")

            def on_stop(self):
                log_.append("leave")

            @task
            def view(self):
                log_.append(("view", type(self.parent).__name__, type(self.user).__name__))
                self.interrupt()

        class Shopper(HttpUser):
            wait_time = constant(2)
            tasks = {Browse: 1}

        User_, _ = export(module(Shopper))
        u = User_()
        spec = u.describe()
        names = [t.name for t in spec.tasks]
        self.assertEqual(names, ["Browse", "view"])
        self.assertEqual([t.weight for t in spec.tasks], [1, 0])
        u.on_start()
        self.assertEqual(next_task(names), ("Browse", 0))
        # Entering Browse runs its on_start and its first task in the same host task;
        # interrupt() (reschedule) leaves it and the next task comes at once.
        u.run_task(0)
        self.assertEqual(log_, ["enter", ("view", "Shopper", "Shopper"), "leave"])
        self.assertEqual(next_task(names), ("Browse", 0))

    def test_the_user_classes_host_is_the_runs_target_when_it_has_none(self):
        class Shop(HttpUser):
            host = "http://127.0.0.1:8089"

            @task
            def t(self):
                pass

        class Admin(HttpUser):
            @task
            def t(self):
                pass

        _, Run = export(module(Shop, Admin))
        self.assertEqual(Run().options(), '{"host": "http://127.0.0.1:8089"}')
        _, Run = export(module(Admin))
        self.assertIsNone(Run().options())

        class Other(Admin):
            host = "http://127.0.0.1:9000"

        _, Run = export(module(Shop, Other))
        with self.assertRaises(Err) as e:
            Run().options()
        self.assertIn("name different hosts (Shop.host = 'http://127.0.0.1:8089', Other.host = 'http://127.0.0.1:9000')", e.exception.value)

    def test_schedule_task_takes_bound_methods_and_any_callable(self):
        ran = []

        class Checkout(TaskSet):
            def on_start(self):
                # A listed task as a bound method, then a callable no table lists.
                self.schedule_task(self.pay, first=True)
                self.schedule_task(lambda ts: ran.append(("extra", type(ts).__name__)))

            @task
            def pay(self):
                ran.append("pay")

            @task
            def done(self):
                ran.append("done")
                self.interrupt()

        class U(HttpUser):
            tasks = [Checkout]

        User_, _ = export(module(U))
        u = User_()
        names = [t.name for t in u.describe().tasks]
        u.on_start()
        u.run_task(names.index("Checkout"))
        self.assertEqual(ran, ["pay"])
        # The unlisted callable counts as the TaskSet's.
        self.assertEqual(next_task(names)[0], "Checkout")
        u.run_task(names.index("Checkout"))
        self.assertEqual(ran, ["pay", ("extra", "Checkout")])

    def test_sequential_taskset_keeps_its_order_and_waits_its_own_time(self):
        order = []

        class Flow(SequentialTaskSet):
            wait_time = constant(0.5)

            @task
            def first(self):
                order.append(1)

            @task(2)
            def second(self):
                order.append(2)

            @task
            def third(self):
                order.append(3)

        class U(HttpUser):
            wait_time = constant(9)
            tasks = [Flow]

        User_, _ = export(module(U))
        u = User_()
        names = [t.name for t in u.describe().tasks]
        u.on_start()
        for _ in range(8):
            name, _ = next_task(names)
            u.run_task(names.index(name))
        self.assertEqual(order, [1, 2, 2, 3, 1, 2, 2, 3])
        # Inside the TaskSet, its own wait time.
        self.assertEqual(next_task(names)[1], 500)

    def test_stop_user_ends_the_user_and_its_tasksets(self):
        stopped = []

        class Inner(TaskSet):
            def on_stop(self):
                stopped.append("inner")

            @task
            def quit(self):
                raise StopUser()

        class U(HttpUser):
            tasks = [Inner]

            def on_stop(self):
                stopped.append("user")

        User_, _ = export(module(U))
        u = User_()
        u.describe()
        u.on_start()
        u.run_task(0)
        self.assertIsInstance(scheduled[-1], vu.Next_Stop)
        self.assertEqual(stopped, ["inner"])
        u.on_stop()
        self.assertEqual(stopped, ["inner", "user"])

    def test_a_task_error_fails_that_task_and_the_user_goes_on(self):
        class U(HttpUser):
            wait_time = constant(1)

            @task
            def broken(self):
                {}["missing"]

        errors = []
        events.user_error.add_listener(lambda **kw: errors.append(type(kw["exception"]).__name__))
        try:
            User_, _ = export(module(U))
            u = User_()
            u.describe()
            u.on_start()
            with self.assertRaises(Err) as e:
                u.run_task(0)
            self.assertRegex(e.exception.value, r"^KeyError: 'missing' \(test_locust.py:\d+\)$")
            self.assertEqual(errors, ["KeyError"])
            # The next task is still scheduled, after the wait.
            self.assertEqual(scheduled[-1].value.wait_ms, 1000)
        finally:
            events.user_error._handlers.clear()

    def test_reschedule_and_pacing(self):
        class U(HttpUser):
            wait_time = constant(3)

            @task
            def again(self):
                raise RescheduleTask()

        User_, _ = export(module(U))
        u = User_()
        u.describe()
        u.on_start()
        u.run_task(0)
        self.assertEqual(scheduled[-1].value.wait_ms, 3000)

        class P(User):
            wait_time = constant_pacing(10)

            @task
            def t(self):
                pass

        p = P(types.SimpleNamespace(events=events))
        first = p.wait_time()
        self.assertTrue(9.0 < first <= 10.0, first)

    def test_tags_filter_the_tasks(self):
        class U(HttpUser):
            @tag("checkout")
            @task
            def buy(self):
                pass

            @tag("browse")
            @task(3)
            def look(self):
                pass

            @task
            def untagged(self):
                pass

        os.environ["LOCUST_TAGS"] = "checkout"
        try:
            User_, _ = export(module(U))
            weights = {t.name: t.weight for t in User_().describe().tasks}
        finally:
            del os.environ["LOCUST_TAGS"]
        self.assertEqual(weights, {"buy": 1, "look": 0, "untagged": 0})

    def test_user_classes_spread_by_fixed_count_then_weight(self):
        class A(HttpUser):
            weight = 3

            @task
            def a(self):
                pass

        class B(HttpUser):
            weight = 1

            @task
            def b(self):
                pass

        class Admin(HttpUser):
            fixed_count = 1

            @task
            def admin(self):
                pass

        classes = [A, B, Admin]
        picks = [_pick_class(classes, n).__name__ for n in range(1, 10)]
        self.assertEqual(picks, ["Admin", "A", "A", "B", "A", "A", "A", "B", "A"])
        # Several classes: tasks are named by class.
        User_, _ = export(module(A, B, Admin))
        VU_ID[0] = 4
        spec = User_().describe()
        self.assertEqual({t.name: t.weight for t in spec.tasks}, {"A.a": 0, "B.b": 1, "Admin.admin": 0})

    def test_each_instance_draws_its_own_random_numbers(self):
        import random

        class U(HttpUser):
            @task
            def t(self):
                pass

        User_, _ = export(module(U))
        random.seed(7)
        frozen = random.getstate()
        User_().describe()
        self.assertNotEqual(random.getstate(), frozen)

    def test_a_taskset_whose_on_start_fails_is_not_entered(self):
        class Broken(TaskSet):
            def on_start(self):
                raise ValueError("no session")

            @task
            def inner(self):
                pass

        class U(HttpUser):
            tasks = [Broken]

        User_, _ = export(module(U))
        u = User_()
        names = [t.name for t in u.describe().tasks]
        u.on_start()
        with self.assertRaises(Err) as e:
            u.run_task(names.index("Broken"))
        self.assertTrue(e.exception.value.startswith("ValueError: no session"), e.exception.value)
        # Still at the user's level: the next pick is the TaskSet again, not its task.
        self.assertEqual(next_task(names)[0], "Broken")

    def test_a_listener_that_raises_does_not_stop_the_others(self):
        hook = locust.event.EventHook()
        seen = []
        hook.add_listener(lambda **kw: 1 / 0)
        hook.add_listener(lambda **kw: seen.append(kw["x"]))
        hook.fire(x=1)
        self.assertEqual(seen, [1])

    def test_unsupported_apis_are_named(self):
        class Shape(locust.LoadTestShape):
            pass

        class U(HttpUser):
            @task
            def t(self):
                pass

        with self.assertRaisesRegex(TypeError, "LoadTestShape is not supported"):
            export(module(U, Shape))
        with self.assertRaisesRegex(TypeError, "no user class"):
            export(module())
        env = locust.env.Environment(events)
        with self.assertRaisesRegex(NotImplementedError, r"environment.runner.quit is not available"):
            env.runner.quit()


class Session(unittest.TestCase):
    def setUp(self):
        reset()
        self.client = locust.clients.HttpSession()

    def test_requests_arguments_become_one_host_call(self):
        c = self.client
        c.headers.update({"Authorization": "Bearer t", "content-type": "application/json"})
        c.cookies["pref"] = "dark"
        replies.append({"status": 201, "body": b'{"id": 7}', "headers": [("Set-Cookie", "sid=abc; Path=/")]})
        r = c.post("/carts", json={"a": 1}, params={"q": ["x", "y"]}, name="POST /carts", timeout=2)
        req, deferred = sent[-1]
        self.assertFalse(deferred)
        self.assertEqual((req.method, req.url, req.name, req.timeout_ms), ("POST", "/carts?q=x&q=y", "POST /carts", 2000))
        h = dict(req.headers)
        self.assertEqual(h["Authorization"], "Bearer t")
        self.assertEqual(h["content-type"], "application/json")
        self.assertEqual(h["Cookie"], "pref=dark")
        self.assertEqual(req.body, b'{"a": 1}')
        self.assertEqual((r.status_code, r.json()["id"], r.ok, r.reason), (201, 7, True, "Created"))
        self.assertEqual((r.headers["set-cookie"], r.cookies["sid"], c.cookies["sid"]), ("sid=abc; Path=/", "abc", "abc"))
        # The server's cookie is the host's to send; only the script's goes in the header.
        c.get("/again")
        self.assertEqual(dict(sent[-1][0].headers)["Cookie"], "pref=dark")
        self.assertEqual(r.elapsed.total_seconds(), 0.0015)

    def test_requests_details(self):
        c = self.client
        c.get("/q", params={"a": 1, "skip": None}, headers={"X-Raw": b"v"}, timeout=(None, None))
        req = sent[-1][0]
        self.assertEqual((req.url, dict(req.headers)["X-Raw"], req.timeout_ms), ("/q?a=1", "v", None))
        c.get("/q", params=b"x=1")
        self.assertEqual(sent[-1][0].url, "/q?x=1")
        env = locust.env.Environment(events)
        self.assertEqual(getattr(env.runner, "worker_index", 0), 0)
        self.assertFalse(hasattr(env.runner, "user_count"))

    def test_session_headers_can_be_removed(self):
        h = self.client.headers
        h["Authorization"] = "Bearer x"
        self.assertEqual(h.pop("authorization"), "Bearer x")
        self.assertIsNone(h.pop("Authorization", None))
        with self.assertRaises(KeyError):
            h.pop("Authorization")

    def test_session_headers_are_sent_as_they_are_now(self):
        # The session caches the pairs it sends: every way of changing them must show.
        c = self.client

        def sent_headers():
            return dict(sent[-1][0].headers)

        c.get("/0")
        self.assertEqual(sent_headers(), {})
        c.headers["X-A"] = "1"
        c.get("/1")
        self.assertEqual(sent_headers(), {"X-A": "1"})
        c.headers.update({"x-a": "2", "X-B": "b"})
        c.get("/2", headers={"X-C": "c"})
        self.assertEqual(sent_headers(), {"x-a": "2", "X-B": "b", "X-C": "c"})
        c.get("/3")
        self.assertEqual(sent_headers(), {"x-a": "2", "X-B": "b"})
        del c.headers["X-B"]
        c.headers |= {"X-D": "d"}
        r = c.post("/4", json={})
        self.assertEqual(sent_headers(), {"x-a": "2", "X-D": "d", "Content-Type": "application/json"})
        self.assertEqual(r.request.headers["content-type"], "application/json")
        self.assertEqual((r.request.method, r.request.url, r.request.body), ("POST", "/4", b"{}"))
        c.headers = {"Only": "this"}
        c.get("/5", headers={"only": None})
        self.assertEqual(sent_headers(), {})
        c.get("/6")
        self.assertEqual(sent_headers(), {"Only": "this"})
        c.headers.clear()
        c.auth = ("u", "p")
        c.get("/7")
        self.assertEqual(sent_headers(), {"Authorization": "Basic dTpw"})

    def test_forms_files_auth_and_redirects(self):
        c = self.client
        c.post("/f", data={"grant_type": "password"}, auth=("id", "secret"))
        req = sent[-1][0]
        self.assertEqual(req.body, b"grant_type=password")
        self.assertEqual(dict(req.headers)["Authorization"], "Basic aWQ6c2VjcmV0")
        import io

        c.post("/u", data={"importType": "x"}, files={"file": ("c.csv", io.BytesIO(b"a,b\n"), "text/csv")})
        body = sent[-1][0].body
        self.assertIn(b'filename="c.csv"\r\nContent-Type: text/csv\r\n\r\na,b\n', body)
        # requests' list form: repeated names, and a None filename for a plain field.
        c.post("/u", data=[("tag", "a"), ("tag", "b")],
               files=[("doc", ("a.txt", b"A")), ("doc", ("b.txt", b"B")), ("note", (None, "hi"))])
        body = sent[-1][0].body
        self.assertEqual(body.count(b'name="tag"\r\n\r\n'), 2)
        self.assertIn(b'name="doc"; filename="b.txt"\r\nContent-Type: application/octet-stream\r\n\r\nB\r\n', body)
        self.assertIn(b'name="note"\r\n\r\nhi\r\n', body)
        c.get("/r", allow_redirects=False)
        self.assertEqual([x for x in sent if x[0] == "follow"], [("follow", False), ("follow", True)])

    def test_fast_http_users_rest_judges_json_in_its_block(self):
        from locust import FastHttpUser

        class U(FastHttpUser):
            pass

        u = U(locust.env.Environment(events))
        replies.extend([
            {"status": 200, "body": b'{"id": 7}'},
            {"status": 200, "body": b"<html>"},
            {"status": 200, "body": b'{"id": 8}'},
            {"status": 200, "body": b'{"id": 9}'},
        ])
        with u.rest("POST", "/orders", json={"a": 1}) as r:
            self.assertEqual(r.js, {"id": 7})
        self.assertEqual(dict(sent[-1][0].headers)["Accept"], "application/json")
        with u.rest("GET", "/page") as r:
            self.assertIsNone(r.js)
        with u.rest("GET", "/x") as r:
            assert r.js["id"] == 7, "wrong id,"
        with u.rest("GET", "/y") as r:
            r.js["missing"]
        self.assertEqual(settled[0], (True, None))
        self.assertTrue(settled[1][1].startswith("Could not parse response as JSON. <html>"), settled[1])
        self.assertEqual(settled[2], (False, 'wrong id, response was {"id": 8}'))
        self.assertEqual(settled[3], (False, "KeyError: 'missing'"))

    def test_catch_response_verdicts(self):
        c = self.client
        replies.append({"status": 200})
        with c.get("/a", catch_response=True) as r:
            r.failure("bad body")
        replies.append({"status": 404})
        with c.get("/b", catch_response=True) as r:
            r.success()
        replies.append({"status": 500})
        with c.get("/c", catch_response=True):
            pass
        replies.append({"status": 200})
        with c.get("/d", catch_response=True) as r:
            raise locust.exception.ResponseError("wrong shape")
        self.assertEqual(settled, [(False, "bad body"), (True, None), (False, "500 Internal Server Error"),
                                   (False, "wrong shape")])
        self.assertTrue(all(d for _, d in sent))
        with self.assertRaisesRegex(locust.exception.LocustError, "catch_response=True"):
            c.get("/e").failure("x")

    def test_a_request_that_got_no_response_is_a_response_with_status_0(self):
        replies.append({"error": http.HttpError_Connect("refused")})
        r = self.client.get("http://127.0.0.1:1/")
        self.assertEqual((r.status_code, r.ok, str(r.error)), (0, False, "connect: refused"))
        with self.assertRaises(locust.clients.ConnectionError):
            r.raise_for_status()

    def test_request_event_listeners_see_each_request(self):
        seen = []
        events.request.add_listener(lambda **kw: seen.append((kw["request_type"], kw["name"], kw["response_length"])))
        try:
            c = locust.clients.HttpSession(request_event=events.request)
            replies.append({"status": 200, "body": b"12345"})
            c.get("/p", name="P")
        finally:
            events.request._handlers.clear()
        self.assertEqual(seen, [("GET", "P", 5)])

    def test_request_events_carry_the_verdict_once_it_is_known(self):
        seen = []

        def listener(**kw):
            e = kw["exception"]
            seen.append((kw["name"], type(e).__name__ if e else None, str(e) if e else None, list(settled)))

        events.request.add_listener(listener)
        try:
            c = locust.clients.HttpSession(request_event=events.request)
            replies.extend([{"status": 503}, {"status": 200}, {"status": 200}, {"status": 500}])
            c.get("/down", name="down")
            with c.get("/a", name="judged", catch_response=True) as r:
                # Not reported yet: the block has not judged it.
                self.assertEqual(seen[-1][0], "down")
                r.failure("bad body")
            with c.get("/b", name="fine", catch_response=True):
                pass
            with c.get("/c", name="unmarked", catch_response=True):
                pass
            replies.append({"status": 200})
            with c.get("/d", name="raised", catch_response=True):
                raise locust.exception.ResponseError("wrong shape")
        finally:
            events.request._handlers.clear()
        self.assertEqual([x[:3] for x in seen], [
            ("down", "HTTPError", "503 Server Error: Service Unavailable for url: /down"),
            ("judged", "CatchResponseError", "bad body"),
            ("fine", None, None),
            ("unmarked", "HTTPError", "500 Server Error: Internal Server Error for url: /c"),
            ("raised", "ResponseError", "wrong shape"),
        ])
        # Each reported after the host was told its verdict.
        self.assertEqual(len(seen[1][3]), 1)


if __name__ == "__main__":
    unittest.main()
