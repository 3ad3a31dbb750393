"""The user model: ``HttpUser`` subclasses with ``@task(weight)`` methods, ``wait_time``,
``on_start`` and ``on_stop``, as in Locust."""

from .client import Client


def task(weight=1):
    """``@task`` or ``@task(3)``: marks a method as a task with a weight."""
    if callable(weight):
        weight.stampede_weight = 1
        return weight

    def mark(f):
        f.stampede_weight = int(weight)
        return f

    return mark


def between(min_wait: float, max_wait: float):
    """Waits uniformly between ``min_wait`` and ``max_wait`` seconds between tasks."""
    return ("between", float(min_wait), float(max_wait))


def constant(wait: float):
    """Waits ``wait`` seconds between tasks."""
    return ("constant", float(wait))


class HttpUser:
    """Base class of a scenario's user. One instance per virtual user."""

    wait_time = None

    def __init__(self):
        self.client = Client()

    def on_start(self):
        pass

    def on_stop(self):
        pass

    @classmethod
    def stampede_tasks(cls):
        """(name, weight, function) of the class's tasks, in definition order."""
        seen, tasks = set(), []
        for klass in reversed(cls.__mro__):
            for name, f in vars(klass).items():
                if callable(f) and hasattr(f, "stampede_weight"):
                    if name in seen:
                        tasks = [t for t in tasks if t[0] != name]
                    seen.add(name)
                    tasks.append((name, f.stampede_weight, f))
        return tasks
