"""Locust's runner classes, so ``isinstance(environment.runner, MasterRunner)`` checks in
scripts work. A Stampede run has no Locust runner: ``environment.runner`` is a local
runner whose attributes say so when used."""


class Unavailable(AttributeError, NotImplementedError):
    """An attribute a Stampede run does not have: ``getattr(runner, name, default)`` and
    ``hasattr`` work, a plain use says why."""


class Runner:
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise Unavailable(
            f"environment.runner.{name} is not available in Stampede (there is no Locust runner: the run's plan, "
            "--vus/--duration or stages, drives the users)"
        )


class LocalRunner(Runner):
    pass


class MasterRunner(Runner):
    pass


class WorkerRunner(Runner):
    pass
