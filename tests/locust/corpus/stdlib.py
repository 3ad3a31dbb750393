"""The standard library locustfiles use, inside the sandbox."""
import base64
import csv
import datetime
import hashlib
import io
import json
import os
import random
import time
import uuid

from locust import User, constant, task


class Plain(User):
    wait_time = constant(0)

    @task
    def uses(self):
        t0 = time.time()
        time.sleep(0.01)
        assert time.time() - t0 >= 0.009
        assert len(str(uuid.uuid4())) == 36
        assert hashlib.sha256(b"x").hexdigest().startswith("2d711642")
        assert base64.b64decode(base64.b64encode(b"ok")) == b"ok"
        rows = list(csv.DictReader(io.StringIO("a,b\n1,2\n")))
        assert rows == [{"a": "1", "b": "2"}]
        assert json.loads(json.dumps({"k": [1]})) == {"k": [1]}
        assert datetime.datetime.now().year >= 2024
        assert 0 <= random.random() < 1
        assert os.environ.get("MODE") == "stdlib" and "HOME" not in os.environ
