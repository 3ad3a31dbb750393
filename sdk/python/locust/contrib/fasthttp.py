"""``FastHttpUser``: in Stampede every user's requests go through the host's client, so a
FastHttpUser is an HttpUser with FastHttpSession's name; the script's calls are the same."""

from contextlib import contextmanager

from ..clients import HttpSession, ResponseContextManager
from ..user import HttpUser


class FastHttpSession(HttpSession):
    pass


class FastResponse(ResponseContextManager):
    pass


class FastHttpUser(HttpUser):
    abstract = True
    # Locust's connection-pool knobs: the host's client has its own limits.
    network_timeout = 60.0
    connection_timeout = 60.0
    max_redirects = 5
    max_retries = 1
    insecure = True
    concurrency = 10
    client_pool = None

    def __init__(self, environment):
        super().__init__(environment)
        self.client = FastHttpSession(base_url="", request_event=environment.events.request, user=self)

    @contextmanager
    def rest(self, method, url, headers=None, **kwargs):
        """``with self.rest("POST", "/x", json=...) as r:``: a JSON request judged in the
        block, as Locust's: ``r.js`` is the parsed body (a body that is not JSON fails
        it), and an ``assert`` or another exception in the block fails it, not the task."""
        if headers is None:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
        with self.client.request(method, url, headers=headers, catch_response=True, **kwargs) as r:
            r.js = None
            if r.status_code == 0 and r.error is not None:
                r.failure(str(r.error))
            elif r.text:
                try:
                    r.js = r.json()
                except ValueError as e:
                    r.failure(f"Could not parse response as JSON. {r.text[:250]}, response code {r.status_code}, error {e}")
            try:
                yield r
            except AssertionError as e:
                msg = str(e.args[0]) if e.args else ""
                if msg.endswith(","):
                    r.failure(f"{msg[:-1]}, response was {r.text[:200]}")
                else:
                    r.failure(msg or "Assertion failed")
            except Exception as e:  # noqa: BLE001 - Locust fails the request, not the task
                r.failure(f"{type(e).__name__}: {e}")
