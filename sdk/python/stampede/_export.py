"""Makes a scenario module's ``HttpUser`` subclass the component's ``user`` export (the
build tool's generated entry module calls ``export``)."""

import inspect
import random

from componentize_py_types import Err
from wit_world.exports import user as wit

from ._cwd import at_run_time
from .client import Failure, HttpError
from .user import HttpUser


def _message(e: BaseException) -> str:
    if isinstance(e, (Failure, HttpError)):
        return str(e)
    return f"{type(e).__name__}: {e}"


def _find_user(module):
    users = [
        c for c in vars(module).values()
        if inspect.isclass(c) and issubclass(c, HttpUser) and c is not HttpUser
        and c.__module__ == module.__name__
    ]
    if len(users) != 1:
        names = ", ".join(c.__name__ for c in users) or "none"
        raise TypeError(f"{module.__name__}: expected one HttpUser subclass, found {names}")
    return users[0]


def _wait(spec):
    if callable(spec):
        spec = spec()
    if spec is None:
        return wit.WaitTime_None_()
    if spec[0] == "constant":
        return wit.WaitTime_Constant(round(spec[1] * 1000))
    return wit.WaitTime_Between((round(spec[1] * 1000), round(spec[2] * 1000)))


def export(module):
    """The class componentize-py exports as ``user``, driving one user object."""
    cls = _find_user(module)
    tasks = cls.stampede_tasks()
    if not tasks:
        raise TypeError(f"{cls.__name__} has no @task methods")
    state = {"user": None}

    def guarded(f):
        try:
            f()
        except Err:
            raise
        except BaseException as e:
            raise Err(_message(e))

    class User:
        def describe(self):
            at_run_time()
            # The build's snapshot holds one random state for every instance: each user
            # draws its own.
            random.seed()
            return wit.UserSpec(
                tasks=[wit.Task(name=n, weight=w) for n, w, _ in tasks],
                wait=_wait(cls.wait_time),
            )

        def on_start(self):
            def start():
                state["user"] = cls()
                state["user"].on_start()

            guarded(start)

        def run_task(self, index):
            if state["user"] is None:
                raise Err("on_start has not completed")
            if not 0 <= index < len(tasks):
                raise Err(f"no task {index}")
            fn = tasks[index][2]
            guarded(lambda: fn(state["user"]))

        def on_stop(self):
            if state["user"] is not None:
                guarded(state["user"].on_stop)
            state["user"] = None

    return User
