"""TaskSets (nested, interrupt), SequentialTaskSet, tags, StopUser, several user classes,
wait_time variants and the once-per-run events: what ran is in the summary's tasks and
what the server saw."""
from locust import (
    HttpUser, SequentialTaskSet, TaskSet, between, constant, constant_pacing,
    constant_throughput, events, tag, task,
)
from locust.clients import HttpSession
from locust.exception import StopUser


@events.test_start.add_listener
def started(environment, **kw):
    HttpSession().get("/echo/test-start")


@events.test_stop.add_listener
def stopped(environment, **kw):
    HttpSession().get("/echo/test-stop")


class Product(TaskSet):
    wait_time = constant_throughput(1000)

    @task(3)
    def view(self):
        self.client.get("/echo/product")

    @task
    def done(self):
        self.client.get("/echo/leave")
        self.interrupt()


class Browse(HttpUser):
    weight = 3
    wait_time = between(0, 0.001)
    tasks = {Product: 2}

    @tag("fast")
    @task
    def home(self):
        self.client.get("/echo/home")

    @tag("slow")
    @task
    def excluded(self):
        self.client.get("/echo/excluded")


class Flow(SequentialTaskSet):
    @task
    def first(self):
        self.client.get("/echo/step1")

    @task
    def second(self):
        self.client.get("/echo/step2")
        if self.user.rounds >= 2:
            raise StopUser()
        self.user.rounds += 1


class Buyer(HttpUser):
    weight = 1
    wait_time = constant_pacing(0.001)
    tasks = [Flow]

    def on_start(self):
        self.rounds = 0

    def on_stop(self):
        # self.host is the run's target (-H), as Locust sets it.
        self.client.get("/echo/buyer-stop", params={"host": self.host, "env": self.environment.host})
