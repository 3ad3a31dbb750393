"""``locust.events``: listeners on the hooks a Stampede run fires (``init``,
``test_start``, ``test_stop``, ``quitting``, ``request``, ``user_error``,
``init_command_line_parser``); the others never fire here, and a listener on one is
reported once."""


import sys
import traceback


class EventHook:
    def __init__(self, name="", fired=True):
        self.name = name
        self.fired = fired
        self._handlers = []

    def add_listener(self, handler):
        self._handlers.append(handler)
        return handler

    def remove_listener(self, handler):
        self._handlers.remove(handler)

    def fire(self, *, reverse=False, **kwargs):
        # As Locust: a listener's exception is reported, and the others still run.
        for handler in reversed(self._handlers) if reverse else self._handlers:
            try:
                handler(**kwargs)
            except Exception:  # noqa: BLE001
                print(f"uncaught exception in a {self.name or 'event'} listener:\n{traceback.format_exc()}",
                      file=sys.stderr)


_FIRED = ("init", "init_command_line_parser", "test_start", "test_stop", "quitting", "request", "user_error")
_NEVER = ("test_stopping", "spawning_complete", "reset_stats", "report_to_master", "worker_report",
          "worker_connect", "usage_monitor", "cpu_warning", "heartbeat_sent", "heartbeat_received",
          "quit", "register_dashboard")


class Events:
    def __init__(self):
        for name in _FIRED:
            setattr(self, name, EventHook(name))
        for name in _NEVER:
            setattr(self, name, EventHook(name, fired=False))

    def unfired_listeners(self):
        """Hooks with listeners that a Stampede run never fires."""
        return [h.name for h in vars(self).values() if isinstance(h, EventHook) and not h.fired and h._handlers]
