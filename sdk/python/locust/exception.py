"""Locust's exceptions, with Locust's meaning in a Stampede run."""


class LocustError(Exception):
    pass


class ResponseError(Exception):
    pass


class CatchResponseError(Exception):
    pass


class MissingWaitTimeError(LocustError):
    pass


class InterruptTaskSet(Exception):
    """Leaves the running TaskSet (``TaskSet.interrupt()``); with ``reschedule`` the
    parent runs its next task at once, else after its wait time."""

    def __init__(self, reschedule=True):
        super().__init__(reschedule)
        self.reschedule = reschedule


class StopUser(Exception):
    """Ends this user: its TaskSets' and its own ``on_stop`` run, and it runs no more
    tasks."""


class StopTest(Exception):
    """Not supported by Stampede: a run stops by its plan or a threshold's abort."""


class RescheduleTask(Exception):
    """Ends the task; the next one comes after the wait time."""


class RescheduleTaskImmediately(Exception):
    """Ends the task; the next one comes at once."""
