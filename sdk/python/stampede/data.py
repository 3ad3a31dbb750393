"""Test data from the run's data directory (``--data``), parsed once per run on the host
and shared by every VU: a feeder copies in only the row it hands out.

    from stampede.data import feeder

    USERS = feeder("users.csv", "unique")   # VU n gets row n, for its whole life

    class Shopper(HttpUser):
        def on_start(self):
            me = USERS.next()                # {"email": "...", "password": "..."}

Feeders may be made at module level (the build runs it): they reach the host only when
first used, at run time. The directory is also the instance's filesystem, read-only:
``open("users.csv")`` in ``on_start`` or a task reads it too (each VU then holds its own
copy); at module level, ``open`` reads the file beside the script when it is built.
Works the same in locustfiles.
"""

import json

from componentize_py_types import Err
from wit_world.imports import data as _data

from .client import _error_kind

ORDERS = {
    "sequential": _data.Order.SEQUENTIAL,
    "circular": _data.Order.CIRCULAR,
    "random": _data.Order.RANDOM,
    "unique": _data.Order.UNIQUE,
}


class DataError(Exception):
    """No row for this call (``kind`` ``exhausted``), or no such file, no ``--data``
    (``invalid``)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _call(f, *args):
    try:
        return f(*args)
    except Err as e:
        kind = _error_kind(e.value)
        raise DataError(kind, getattr(e.value, "value", "") or kind) from None


class Feeder:
    """Rows of a CSV file (with a header line) or a JSON array of objects, as dicts.
    ``order``: ``sequential`` (each row once, across the run's VUs), ``circular``,
    ``random``, or ``unique`` (one row of its own per VU)."""

    def __init__(self, file: str, order: str = "sequential"):
        if order not in ORDERS:
            raise ValueError(f"feeder({file!r}): order must be one of {', '.join(ORDERS)}")
        self.file = file
        self.order = order
        self._info = None

    def _describe(self):
        if self._info is None:
            self._info = _call(_data.table, self.file)
        return self._info

    def _row(self, cells):
        info = self._describe()
        if info.json:
            return {c: json.loads(v) for c, v in zip(info.columns, cells)}
        return dict(zip(info.columns, cells))

    def next(self) -> dict:
        return self._row(_call(_data.next_row, self.file, ORDERS[self.order]))

    def __next__(self):
        # `for row in feeder`: a sequential feeder's loop ends with its rows.
        try:
            return self.next()
        except DataError as e:
            if e.kind == "exhausted":
                raise StopIteration from None
            raise

    def __iter__(self):
        return self

    def row(self, index: int) -> dict:
        return self._row(_call(_data.row, self.file, index))

    def __len__(self):
        return self._describe().rows

    @property
    def columns(self):
        return list(self._describe().columns)


def feeder(file: str, order: str = "sequential") -> Feeder:
    return Feeder(file, order)


def read(file: str) -> bytes:
    """A whole file of the data directory, read once per run on the host."""
    return bytes(_call(_data.read, file))
