"""``FastHttpUser``: in Stampede every user's requests go through the host's client, so a
FastHttpUser is an HttpUser with FastHttpSession's name; the script's calls are the same."""

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

    def rest(self, method, url, headers=None, **kwargs):
        """``with self.rest("POST", "/x", json=...) as r:``: a JSON request whose response
        is judged in the block (``r.js`` is the parsed body)."""
        hs = {"Content-Type": "application/json", "Accept": "application/json"}
        hs.update(headers or {})
        r = self.client.request(method, url, headers=hs, catch_response=True, **kwargs)
        try:
            r.js = r.json() if r.content else None
        except ValueError:
            r.js = None
        return r
