"""Runs a locustfile on the stampede:scenario lifecycle, as Locust runs a user:
``on_start``, then tasks picked from the running TaskSet with its wait time between them,
then ``on_stop``. Each host iteration is one task; this module picks the next one and its
wait, and hands both to the host (``vu.schedule``), which waits. The build's entry module
calls ``export``; a module-level error in it is a build error."""

import inspect
import json
import os
import random
import traceback

from componentize_py_types import Err
from wit_world.exports import user as wit
from wit_world.imports import log as _log
from wit_world.imports import vu as _vu

from stampede._cwd import at_run_time

from . import events
from .env import Environment
from .exception import (
    InterruptTaskSet,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
)
from .user import LoadTestShape, MarkovTaskSet, TaskSet, User

# A TaskSet whose tasks enter TaskSets without end would loop for ever within one task.
_MAX_DEPTH = 32
_MAX_WAIT_MS = 0xFFFF_FFFF


def _is_taskset(t):
    return inspect.isclass(t) and issubclass(t, TaskSet)


def _user_classes(module):
    found = [
        c for c in vars(module).values()
        if inspect.isclass(c) and issubclass(c, User) and not c.__dict__.get("abstract", False)
    ]
    for c in vars(module).values():
        if inspect.isclass(c) and issubclass(c, LoadTestShape) and c is not LoadTestShape:
            raise TypeError(
                f"{c.__name__}: LoadTestShape is not supported by Stampede; give the load as stages "
                "(--stage DURATION:TARGET, or stages in stampede.toml)"
            )
    if not found:
        raise TypeError(
            f"{module.__name__}: no user class (a non-abstract subclass of locust's User or HttpUser)"
        )
    return found


def _table(classes):
    """Every task reachable from the user classes (functions and TaskSet classes), in a
    stable order: the host's task list."""
    order, owners, seen = [], [], set()

    def walk(holder, depth):
        if depth > _MAX_DEPTH:
            raise TypeError(f"{holder.__name__}: TaskSets nested more than {_MAX_DEPTH} deep")
        for t in holder.tasks:
            if id(t) in seen:
                continue
            if inspect.isclass(t) and issubclass(t, MarkovTaskSet):
                raise TypeError(f"{t.__name__}: MarkovTaskSet is not supported by Stampede; use a TaskSet with weights")
            if not callable(t):
                raise TypeError(f"{holder.__name__}.tasks: {t!r} is neither a function nor a TaskSet")
            seen.add(id(t))
            order.append(t)
            owners.append(holder.__name__)
            if _is_taskset(t):
                walk(t, depth + 1)

    for c in classes:
        if not c.tasks:
            raise TypeError(f"{c.__name__} has no tasks: use @task or set tasks (or mark it abstract = True)")
        walk(c, 0)
    plain = [getattr(t, "__name__", repr(t)) for t in order]
    # Plain names, unless several classes or two tasks of one name: then by the class
    # that lists them.
    qualify = len(classes) > 1 or len(set(plain)) < len(plain)
    names = [
        f"{owner}.{name}" if qualify and not _is_taskset(t) else name
        for t, owner, name in zip(order, owners, plain)
    ]
    return order, names


def _filter(holder, tags, exclude, checked):
    """Locust's --tags/--exclude-tags filter, applied to this instance's classes."""
    kept = []
    for t in holder.tasks:
        if id(t) not in checked:
            if _is_taskset(t):
                _filter(t, tags, exclude, checked)
                passing = bool(t.tasks)
            else:
                mine = getattr(t, "locust_tag_set", set())
                passing = (tags is None or bool(mine & tags)) and (exclude is None or not (mine & exclude))
            checked[id(t)] = passing
        if checked[id(t)]:
            kept.append(t)
    holder.tasks = kept


def _pick_class(classes, n):
    """Locust's spread of users over classes: the `fixed_count` ones first, then by weight,
    each prefix of users as close to the weights as it can be."""
    k = max(n - 1, 0)
    fixed = [c for c in classes if c.fixed_count > 0]
    for c in fixed:
        if k < c.fixed_count:
            return c
        k -= c.fixed_count
    pool = [c for c in classes if c.fixed_count <= 0] or fixed
    weights = [max(float(c.weight if c.fixed_count <= 0 else c.fixed_count), 0.0) for c in pool]
    total = sum(weights) or 1.0
    current = [0.0] * len(pool)
    best = 0
    for _ in range(k + 1):
        for i, w in enumerate(weights):
            current[i] += w
        best = max(range(len(pool)), key=current.__getitem__)
        current[best] -= total
    return pool[best]


def _host_option(classes):
    """The options JSON naming the classes' one ``host``; ``None`` when none names one."""
    hosts = {}
    for c in classes:
        h = getattr(c, "host", None)
        if h:
            hosts.setdefault(str(h), c.__name__)
    if not hosts:
        return None
    if len(hosts) > 1:
        named = ", ".join(f"{c}.host = {h!r}" for h, c in hosts.items())
        raise Err(f"the user classes name different hosts ({named}): give the run one with --target")
    return json.dumps({"host": next(iter(hosts))})


def _where(e):
    frames = traceback.extract_tb(e.__traceback__)
    here = os.path.dirname(__file__)
    for f in reversed(frames):
        if not f.filename.startswith(here):
            return f" ({os.path.basename(f.filename)}:{f.lineno})"
    return ""


def _message(e):
    text = str(e)
    return f"{type(e).__name__}: {text}{_where(e)}" if text else f"{type(e).__name__}{_where(e)}"


class _State:
    """This instance's user: its class, environment, TaskSet stack and next task."""

    def __init__(self, classes, order, names):
        self.classes, self.order, self.names = classes, order, names
        self.index = {id(t): i for i, t in enumerate(order)}
        self.tasksets = {id(t) for t in order if _is_taskset(t)}
        # One schedule record, refilled per task: the host copies it.
        self.next_task = _vu.NextTask(task=0, wait_ms=0)
        self.scheduled = _vu.Next_Task(self.next_task)
        self.env = None
        self.cls = None
        self.user = None
        self.stack = []
        self.next = None

    def environment(self):
        if self.env is None:
            self.env = Environment(events, self.classes)
            parser = self.env.parser()
            events.init_command_line_parser.fire(parser=parser)
            events.init.fire(environment=self.env, runner=self.env.runner, web_ui=None)
            unfired = events.unfired_listeners()
            if unfired:
                _log.log(_log.Level.WARN, f"locust events never fired by Stampede have listeners: {', '.join(unfired)}")
        return self.env

    def holder(self):
        return self.stack[-1] if self.stack else self.user

    def pick(self):
        """The next task of the running TaskSet (or of the user)."""
        h = self.holder()
        if isinstance(h, TaskSet):
            if h._task_queue:
                return h._task_queue.pop(0)
            return h.get_next_task()
        return random.choice(self.user.tasks)

    def wait_ms(self):
        seconds = self.holder().wait_time()
        return min(max(0, round(float(seconds) * 1000)), _MAX_WAIT_MS)

    def schedule(self, wait_ms):
        self.next = self.pick()
        nt = self.next_task
        nt.task, nt.wait_ms = self.task_index(self.next), wait_ms
        _vu.schedule(self.scheduled)

    def task_index(self, t):
        """The host's number for `t`: a task of the table, the function behind a bound
        method (``schedule_task(self.step)``), else (a callable no table lists) the
        running TaskSet's, whose figures it then counts in."""
        i = self.index.get(id(t))
        if i is None:
            i = self.index.get(id(getattr(t, "__func__", None)))
        if i is None:
            i = self.index.get(id(type(self.holder())), 0)
        return i

    def leave(self):
        """Pops the running TaskSet, running its on_stop."""
        ts = self.stack.pop()
        ts.on_stop()

    def stop_all(self):
        while self.stack:
            try:
                self.leave()
            except Exception as e:  # noqa: BLE001 - reported, the user still stops
                _log.log(_log.Level.ERROR, f"on_stop of a TaskSet: {_message(e)}")
        _vu.schedule(_vu.Next_Stop())

    def run(self, task):
        """Runs `task` in the running TaskSet, entering TaskSets until a function runs."""
        for _ in range(_MAX_DEPTH + 1):
            # Tasks of the table are known; one a TaskSet schedules itself may be new.
            known = id(task) in self.index
            if not (id(task) in self.tasksets if known else _is_taskset(task)):
                h = self.stack[-1] if self.stack else self.user
                if getattr(task, "__self__", None) is h:
                    task()
                else:
                    task(h)
                return
            ts = task(self.holder())
            self.stack.append(ts)
            try:
                ts.on_start()
            except InterruptTaskSet as e:
                self.stack.pop()
                raise (RescheduleTaskImmediately if e.reschedule else RescheduleTask)() from e
            except BaseException:
                # Not entered: its parent records the error and goes on, as in Locust.
                self.stack.pop()
                raise
            task = self.pick()
        raise RuntimeError(f"TaskSets entered more than {_MAX_DEPTH} deep without a task")


def export(module):
    """The classes componentize-py exports as ``user`` and ``run``."""
    classes = _user_classes(module)
    order, names = _table(classes)
    st = _State(classes, order, names)

    class WitUser:
        def describe(self):
            at_run_time()
            # The build's snapshot holds one random state for every instance: each user
            # draws its own (task picks, waits, the script's random data).
            random.seed()
            env = st.environment()
            st.cls = _pick_class(classes, _vu.id())
            if env.tags is not None or env.exclude_tags is not None:
                _filter(st.cls, env.tags, env.exclude_tags, {})
                if not st.cls.tasks:
                    raise Err(f"{st.cls.__name__}: no task left after LOCUST_TAGS/LOCUST_EXCLUDE_TAGS")
            weights = [0] * len(order)
            for t in st.cls.tasks:
                weights[st.index[id(t)]] += 1
            return wit.UserSpec(
                tasks=[wit.Task(name=n, weight=w) for n, w in zip(names, weights)],
                wait=wit.WaitTime_None_(),
            )

        def on_start(self):
            st.user, st.stack = st.cls(st.environment()), []
            try:
                st.user.on_start()
            except StopUser:
                st.stop_all()
                return
            except Exception as e:  # noqa: BLE001 - the host retries the user's start
                st.user = None
                raise Err(_message(e))
            st.schedule(0)

        def run_task(self, index):
            if st.user is None:
                raise Err("on_start has not completed")
            task, st.next = st.next, None
            # The task scheduled last (the host hands back its number), else the table's.
            if task is None or st.task_index(task) != index:
                task = order[index]
            error = None
            wait = None
            try:
                st.run(task)
            except RescheduleTaskImmediately:
                wait = 0
            except RescheduleTask:
                pass
            except InterruptTaskSet as e:
                if not st.stack:
                    error = "InterruptTaskSet: interrupt() called outside a TaskSet"
                else:
                    try:
                        st.leave()
                    except Exception as inner:  # noqa: BLE001
                        error = f"on_stop: {_message(inner)}"
                    if e.reschedule:
                        wait = 0
            except StopUser:
                st.stop_all()
                return
            except StopTest:
                error = "StopTest is not supported by Stampede: a run ends by its plan, or by a threshold with abortOnFail"
            except Exception as e:  # noqa: BLE001 - counted, and the user goes on
                error = _message(e)
                events.user_error.fire(user_instance=st.user, exception=e, tb=e.__traceback__)
            try:
                st.schedule(st.wait_ms() if wait is None else wait)
            except Exception as e:  # noqa: BLE001
                raise Err(f"choosing the next task: {_message(e)}")
            if error is not None:
                raise Err(error)

        def on_stop(self):
            if st.user is None:
                return
            errors = []
            while st.stack:
                try:
                    st.leave()
                except Exception as e:  # noqa: BLE001
                    errors.append(_message(e))
            try:
                st.user.on_stop()
            except Exception as e:  # noqa: BLE001
                errors.append(_message(e))
            st.user = None
            if errors:
                raise Err("; ".join(errors))

    class WitRun:
        def setup(self):
            at_run_time()
            try:
                env = st.environment()
                events.test_start.fire(environment=env)
            except Exception as e:  # noqa: BLE001
                raise Err(f"events.test_start: {_message(e)}")
            return None

        def options(self):
            at_run_time()
            # A locustfile states its load on the command line, as Locust's does; its
            # user classes' `host` is the run's target when none is given (Locust's -H
            # over the class's).
            return _host_option(classes)

        def teardown(self, data):
            try:
                env = st.environment()
                events.test_stop.fire(environment=env)
                events.quitting.fire(environment=env, reverse=True)
            except Exception as e:  # noqa: BLE001
                raise Err(f"events.test_stop: {_message(e)}")

    return WitUser, WitRun
