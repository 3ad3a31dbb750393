"""catch_response's paths: the block judges the request, the task goes on."""
from locust import HttpUser, constant, task
from locust.exception import ResponseError


class Judge(HttpUser):
    wait_time = constant(0)

    @task
    def judged(self):
        with self.client.get("/status/404", name="404 passed", catch_response=True) as r:
            if r.status_code == 404:
                r.success()
        with self.client.get("/ok", name="200 failed", catch_response=True) as r:
            r.failure("body was not what we wanted")
        with self.client.get("/status/503", name="503 unmarked", catch_response=True):
            pass
        with self.client.get("/ok", name="200 unmarked", catch_response=True):
            pass
        with self.client.get("/ok", name="raised", catch_response=True):
            raise ResponseError("wrong shape")
        # Without a block: a 4xx is a failure, and the task goes on.
        self.client.get("/status/400", name="plain 400")
        self.client.get("/slow/2000", name="no response", timeout=0.2)
