"""The working folder. The build runs a scenario's module level in the scenario's own
folder, so ``open("users.csv")`` there reads the file beside it (as Locust reads from
where it runs); the component's snapshot keeps that folder, which does not exist at run
time. At run time the working folder is ``/``, the run's data directory (``--data``)."""

import os

_done = False


def at_run_time():
    global _done
    if not _done:
        _done = True
        try:
            os.chdir("/")
        except OSError:
            pass  # no --data: no filesystem, and nothing relative to find
