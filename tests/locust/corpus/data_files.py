"""Test data as Locust scripts read it: a CSV beside the script at module level, the
run's data directory (--data) at run time, and a shared feeder for rows of one's own."""
import csv

from locust import HttpUser, constant, task
from stampede.data import feeder

# Module level: read when the script is built, from its own folder.
BESIDE = [row["name"] for row in csv.DictReader(open("beside.csv"))]
# One row per user, handed out by the host (parsed once for the whole run).
USERS = feeder("users.csv", "unique")


class Reader(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        # Run time: the data directory is the working folder.
        with open("users.csv", newline="") as f:
            self.everyone = [row["user"] for row in csv.DictReader(f)]
        self.me = USERS.next()

    @task
    def report(self):
        self.client.get(
            f"/echo/locust-data?beside={BESIDE[0]}&mine={self.me['user']}&runtime={','.join(self.everyone)}",
            name="data",
        )
