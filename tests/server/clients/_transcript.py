"""The normalized transcript a client session script prints: one JSON line per step.

A session script (``etcd3_session.py``, ``aetcd_session.py``) drives a real etcd client against
one endpoint and records each step's result here. The same script runs against real etcd and
against ``etcdlite serve``, and ``test_clients.py`` compares the two transcripts line by line,
so everything that legitimately differs between two servers is normalized on the way out:

* response headers keep only ``revision`` (cluster id, member id and raft term are the
  server's own);
* lease ids become ``lease-1``, ``lease-2``, ... in order of first appearance (etcd makes them
  from the member id and a clock); member ids likewise become ``member-1``, ...;
* a remaining TTL becomes whether it is within ``(0, granted]`` (it counts down);
* ``127.0.0.1:<port>`` in URLs becomes ``<endpoint>``.

Protobuf messages are walked field by field (``ListFields``, so the fields a server sets are
compared, not only those a client exposes), and client-side value objects through their
``__slots__``. Only the standard library is imported here (and by the scripts at module level),
so pytest's doctest collection can import these modules without loading a client's protobuf
files into its process.

>>> t = Transcript()
>>> t.lease_id(7587869012405046276), t.lease_id(12), t.lease_id(7587869012405046276)
('lease-1', 'lease-2', 'lease-1')
>>> plain_bytes(b"a\\xff")
'a\\\\xff'
"""

from __future__ import annotations

import enum
import json
import re
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("Transcript", "main", "plain_bytes")

#: Fields holding a lease id, member id, or server identity, by message field name.
_LEASE_FIELDS = frozenset({"lease", "ID", "id", "lease_id", "leases"})
_MEMBER_FIELDS = frozenset({"member_id", "leader", "memberID"})
_DROPPED_HEADER_FIELDS = frozenset({"cluster_id", "member_id", "raft_term"})


def plain_bytes(value: bytes) -> str:
    """``value`` as text: UTF-8, other bytes escaped (so JSON can hold it)."""
    return value.decode("utf-8", "backslashreplace")


def _slots(obj: object) -> list[str]:
    names: list[str] = []
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in names:
                names.append(name)
    return names


class Transcript:
    """Records steps as normalized JSON lines on stdout."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, int], str] = {}
        self.steps = 0

    def _placeholder(self, kind: str, value: int) -> str | int:
        if value == 0:
            return 0
        key = (kind, value)
        if key not in self._ids:
            self._ids[key] = f"{kind}-{sum(1 for k in self._ids if k[0] == kind) + 1}"
        return self._ids[key]

    def lease_id(self, value: int) -> str | int:
        """A lease id's placeholder (0, no lease, stays 0)."""
        return self._placeholder("lease", value)

    def member_id(self, value: int) -> str | int:
        """A member id's placeholder."""
        return self._placeholder("member", value)

    def plain(self, obj: Any, field: str = "") -> Any:
        """``obj`` (a protobuf message, a client value object, a list, bytes, ...) as JSON data,
        normalized as the module docstring says; ``field`` is the name it was found under."""
        if hasattr(obj, "ListFields"):
            out: dict[str, Any] = {}
            for desc, value in obj.ListFields():
                out[desc.name] = self.plain(value, desc.name)
            if type(obj).__name__ == "ResponseHeader":
                out = {k: v for k, v in out.items() if k not in _DROPPED_HEADER_FIELDS}
            return out
        if isinstance(obj, (bytes, bytearray)):
            return plain_bytes(bytes(obj))
        if isinstance(obj, enum.Enum):
            return obj.name
        if isinstance(obj, bool) or obj is None:
            return obj
        if isinstance(obj, int):
            if field in _LEASE_FIELDS:
                return self.lease_id(obj)
            if field in _MEMBER_FIELDS:
                return self.member_id(obj)
            return obj
        if isinstance(obj, str):
            return re.sub(r"127\.0\.0\.1:\d+", "<endpoint>", obj)
        if isinstance(obj, dict):
            return {k: self.plain(v, k) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)) or type(obj).__name__.startswith("Repeated"):
            return [self.plain(v, field) for v in obj]
        slots = _slots(obj)
        if slots:
            out = {name: self.plain(getattr(obj, name), name) for name in slots}
            if type(obj).__name__ == "ResponseHeader":
                out = {k: v for k, v in out.items() if k not in _DROPPED_HEADER_FIELDS}
            return out
        if hasattr(obj, "__dict__"):
            fields = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
            return {k: self.plain(v, k) for k, v in fields.items() if k != "etcd_client"}
        return repr(obj)

    @staticmethod
    def ttl(remaining: int, granted: int) -> str:
        """A remaining TTL, normalized: ``"counting"`` within ``(0, granted]``, else the value."""
        return "counting" if 0 < remaining <= granted else f"ttl={remaining}"

    def error(self, exc: BaseException) -> dict[str, Any]:
        """A client exception as data: its class, and the gRPC status behind it if any."""
        out: dict[str, Any] = {"error": type(exc).__name__}
        for cause in (exc, exc.__cause__):
            code = getattr(cause, "code", None)
            if callable(code):
                out["code"] = code().name
                out["details"] = cause.details()  # type: ignore[union-attr]
                break
        else:
            out["text"] = str(exc)
        for name in ("compacted_revision",):
            if hasattr(exc, name):
                out[name] = getattr(exc, name)
        return out

    def record(self, step: str, result: Any) -> None:
        """Print one step's result (already plain data) as a JSON line."""
        self.steps += 1
        print(json.dumps({"step": step, "result": result}, sort_keys=True), flush=True)

    def attempt(self, step: str, call: Callable[[], Any]) -> None:
        """Record ``call()``'s plain result, or the error it raises."""
        try:
            result = self.plain(call())
        except Exception as exc:  # noqa: BLE001 - any client error is a step result
            result = self.error(exc)
        self.record(step, result)


def main(session: Callable[[Transcript, str, int], None]) -> None:
    """Run ``session(transcript, host, port)`` for the ``host:port`` given as the argument."""
    host, _, port = sys.argv[1].rpartition(":")
    transcript = Transcript()
    session(transcript, host, int(port))
    print(json.dumps({"end": transcript.steps}), flush=True)
