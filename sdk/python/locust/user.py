"""Locust's user model: ``User``/``HttpUser``, ``TaskSet``/``SequentialTaskSet``, ``@task``,
``@tag`` and the wait time functions, with Locust's meaning. Which task runs next and how
long to wait is decided here (``locust._runner``) and handed to the host, which waits."""

import random
import time

from .clients import HttpSession
from .exception import InterruptTaskSet


def task(weight=1):
    """``@task`` or ``@task(3)``: a task, picked with this weight."""

    def mark(f):
        if getattr(f, "__name__", "") == "run":
            raise TypeError("a task must not be called run (Locust reserves User.run)")
        f.locust_task_weight = weight
        return f

    if callable(weight):
        f, weight = weight, 1
        return mark(f)
    return mark


def tag(*tags):
    """``@tag('a', 'b')``: the task (or TaskSet) runs when ``LOCUST_TAGS`` names one of its
    tags and ``LOCUST_EXCLUDE_TAGS`` none."""
    if not tags or callable(tags[0]):
        raise ValueError("No tag name was supplied")

    def mark(decorated):
        if hasattr(decorated, "tasks"):
            decorated.tasks = [tag(*tags)(t) for t in decorated.tasks]
        else:
            if "locust_tag_set" not in decorated.__dict__:
                decorated.locust_tag_set = set()
            decorated.locust_tag_set |= set(tags)
        return decorated

    return mark


def _collect(bases, class_dict):
    """Tasks of a class and its bases, each repeated by its weight (Locust's list)."""
    out = []
    for base in bases:
        out += getattr(base, "tasks", None) or []
    tasks = class_dict.get("tasks")
    if tasks is not None:
        for t in tasks.items() if isinstance(tasks, dict) else tasks:
            if isinstance(t, tuple):
                out += [t[0]] * t[1]
            else:
                out.append(t)
    for item in class_dict.values():
        weight = getattr(item, "locust_task_weight", None)
        if weight is not None:
            out += [item] * weight
    return out


class TaskSetMeta(type):
    def __new__(mcs, name, bases, class_dict):
        class_dict["tasks"] = _collect(bases, class_dict)
        return super().__new__(mcs, name, bases, class_dict)


class UserMeta(type):
    def __new__(mcs, name, bases, class_dict):
        class_dict["tasks"] = _collect(bases, class_dict)
        class_dict.setdefault("abstract", False)
        return super().__new__(mcs, name, bases, class_dict)


def between(min_wait, max_wait):
    """Waits a uniformly random time between ``min_wait`` and ``max_wait`` seconds."""
    return lambda instance: min_wait + random.random() * (max_wait - min_wait)


def constant(wait_time):
    return lambda instance: wait_time


def constant_pacing(wait_time):
    """Waits so that each task starts ``wait_time`` seconds after the previous one (no
    wait when a task took longer)."""

    def pacing(instance):
        now = time.time()
        ran = now - instance._cp_last_run - instance._cp_last_wait_time
        instance._cp_last_wait_time = max(0.0, wait_time - ran)
        instance._cp_last_run = now
        return instance._cp_last_wait_time

    return pacing


def constant_throughput(task_runs_per_second):
    """At most ``task_runs_per_second`` tasks a second for each user."""
    return constant_pacing(1 / task_runs_per_second)


class User(metaclass=UserMeta):
    host = None
    wait_time = constant(0)
    tasks = []
    weight = 1
    fixed_count = 0
    abstract = True

    def __init__(self, environment):
        self.environment = environment
        self._cp_last_run = time.time()
        self._cp_last_wait_time = 0.0

    def on_start(self):
        pass

    def on_stop(self):
        pass

    def context(self):
        return {}

    def wait(self):
        """Sleeps this user's wait time now (the host suspends only this user)."""
        time.sleep(self.wait_time())

    @classmethod
    def fullname(cls):
        return f"{cls.__module__}.{cls.__qualname__}"


class HttpUser(User):
    """A user with ``self.client``, a ``requests``-like session on the host's client.
    Relative URLs go to the run's ``--target`` (Locust's ``--host``)."""

    abstract = True

    def __init__(self, environment):
        super().__init__(environment)
        # The run's target (-H/--target) over the class's `host`, as in Locust.
        if environment.host:
            self.host = environment.host
        self.client = HttpSession(
            base_url="", request_event=environment.events.request, user=self
        )


class TaskSet(metaclass=TaskSetMeta):
    tasks = []

    def __init__(self, parent):
        self._task_queue = []
        self._user = parent.user if isinstance(parent, TaskSet) else parent
        self._parent = parent
        self._cp_last_run = time.time()
        self._cp_last_wait_time = 0.0

    @property
    def user(self):
        return self._user

    @property
    def parent(self):
        return self._parent

    @property
    def client(self):
        return self._user.client

    def on_start(self):
        pass

    def on_stop(self):
        pass

    def wait_time(self):
        return self._user.wait_time()

    def wait(self):
        time.sleep(self.wait_time())

    def interrupt(self, reschedule=True):
        raise InterruptTaskSet(reschedule)

    def schedule_task(self, task_callable, first=False):
        if first:
            self._task_queue.insert(0, task_callable)
        else:
            self._task_queue.append(task_callable)

    def get_next_task(self):
        if not self.tasks:
            raise Exception(f"No tasks defined on {type(self).__name__}: use @task or set tasks")
        return random.choice(self.tasks)


class SequentialTaskSet(TaskSet):
    """Runs its tasks in the order they are declared, then again from the first."""

    def __init__(self, parent):
        super().__init__(parent)
        self._at = 0

    def get_next_task(self):
        if not self.tasks:
            raise Exception(f"No tasks defined on {type(self).__name__}: use @task or set tasks")
        t = self.tasks[self._at % len(self.tasks)]
        self._at += 1
        return t


class MarkovTaskSet(TaskSet):
    """Not supported by Stampede."""


class LoadTestShape:
    """Not supported by Stampede: a scenario's load comes from its plan (``--stage``,
    stages in ``stampede.toml``)."""

    def tick(self):
        return None
