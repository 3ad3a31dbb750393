"""The task mix the cross-check compares with Locust itself: three weighted tasks, a short
wait, named requests."""
from locust import HttpUser, constant, task


class Mix(HttpUser):
    wait_time = constant(0.01)

    @task(5)
    def often(self):
        self.client.get("/ok", name="often")

    @task(3)
    def sometimes(self):
        self.client.get("/status/204", name="sometimes")

    @task(2)
    def rarely(self):
        with self.client.get("/status/404", name="rarely", catch_response=True) as r:
            if r.status_code == 404:
                r.success()
