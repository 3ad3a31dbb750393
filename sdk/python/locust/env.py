"""``environment``: what users, TaskSets and event listeners see of the run."""

import os
import types

from .runners import LocalRunner


class _Parser:
    """The parser ``init_command_line_parser`` listeners add arguments to: each argument
    takes its default, or the value of ``LOCUST_<NAME>`` passed with ``--env``."""

    def __init__(self, options):
        self._options = options

    def add_argument(self, *flags, **kw):
        long = [f for f in flags if f.startswith("--")] or list(flags)
        dest = kw.get("dest") or long[0].lstrip("-").replace("-", "_")
        value = kw.get("default")
        env = kw.get("env_var") or "LOCUST_" + dest.upper()
        if env in os.environ:
            value = os.environ[env]
            conv = kw.get("type")
            if callable(conv):
                value = conv(value)
            elif kw.get("action") == "store_true":
                value = value.lower() in ("1", "true", "yes", "on")
        setattr(self._options, dest, value)
        return None

    def add_argument_group(self, *a, **kw):
        return self


def _tags(name):
    v = os.environ.get(name, "").strip()
    return {t.strip() for t in v.split(",") if t.strip()} or None


class Environment:
    def __init__(self, events, user_classes=()):
        self.events = events
        self.user_classes = list(user_classes)
        self.host = os.environ.get("LOCUST_HOST") or None
        self.catch_exceptions = True
        self.tags = _tags("LOCUST_TAGS")
        self.exclude_tags = _tags("LOCUST_EXCLUDE_TAGS")
        self.parsed_options = types.SimpleNamespace(
            host=self.host, tags=self.tags, exclude_tags=self.exclude_tags,
        )
        self.runner = LocalRunner()
        self.stats = None
        self.web_ui = None

    def parser(self):
        return _Parser(self.parsed_options)
