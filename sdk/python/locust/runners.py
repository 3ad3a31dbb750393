"""Locust's runner classes, so ``isinstance(environment.runner, MasterRunner)`` checks in
scripts work. A Stampede run has no Locust runner: ``environment.runner`` is a local
runner whose attributes say so when used."""


class Runner:
    def __getattr__(self, name):
        raise NotImplementedError(
            f"environment.runner.{name} is not available in Stampede (there is no Locust runner: the run's plan, "
            "--vus/--duration or stages, drives the users)"
        )


class LocalRunner(Runner):
    pass


class MasterRunner(Runner):
    pass


class WorkerRunner(Runner):
    pass
