"""The conformance harness: the backend protocol, normalization and the differential runner.

A *backend* is anything with the KV methods of :class:`etcdlite.Store`: the Store itself or
:class:`~._gateway.EtcdKV` (real etcd). A *scenario* is a function of one backend; the
differential runner plays it on each backend through a :class:`Recorder`, which notes every
call and its outcome (the response, or the etcd error it raised), and compares the normalized
transcripts: headers keep only ``revision`` (cluster and member ids and the raft term differ
between a Store and an etcd), everything else must be equal, error classes and messages too.
"""

from __future__ import annotations

import difflib
import pprint
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs
import pytest

from etcdlite import ResponseHeader, Store
from etcdlite.errors import EtcdError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from etcdlite import (
        CompactionResponse,
        Compare,
        DeleteRangeResponse,
        PutResponse,
        RangeResponse,
        RequestOp,
        SortOrder,
        SortTarget,
        TxnResponse,
    )

__all__ = (
    "KVBackend",
    "Raised",
    "Recorder",
    "Run",
    "Transcript",
    "backend_name",
    "exact",
    "normalize",
    "run_differential",
    "run_recorded",
)

T = TypeVar("T")


class KVBackend(Protocol):
    """The KV surface shared by :class:`etcdlite.Store` and the etcd gateway backend."""

    @property
    def revision(self) -> int: ...

    def put(
        self,
        key: str | bytes,
        value: str | bytes = ...,
        *,
        lease: int = ...,
        prev_kv: bool = ...,
        ignore_value: bool = ...,
        ignore_lease: bool = ...,
    ) -> PutResponse: ...

    def get(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = ...,
        prefix: bool = ...,
        from_key: bool = ...,
        revision: int = ...,
        limit: int = ...,
        sort_target: str | SortTarget = ...,
        sort_order: str | SortOrder = ...,
        serializable: bool = ...,
        keys_only: bool = ...,
        count_only: bool = ...,
        min_mod_revision: int = ...,
        max_mod_revision: int = ...,
        min_create_revision: int = ...,
        max_create_revision: int = ...,
    ) -> RangeResponse: ...

    def delete(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = ...,
        prefix: bool = ...,
        from_key: bool = ...,
        prev_kv: bool = ...,
    ) -> DeleteRangeResponse: ...

    def txn(
        self,
        compare: Iterable[Compare] = ...,
        success: Iterable[RequestOp] = ...,
        failure: Iterable[RequestOp] = ...,
    ) -> TxnResponse: ...

    def do(
        self, op: RequestOp
    ) -> PutResponse | RangeResponse | DeleteRangeResponse | TxnResponse: ...

    def compact(self, revision: int, *, physical: bool = ...) -> CompactionResponse: ...


def backend_name(kv: object) -> str:
    """``"store"`` or ``"etcd"`` (or the recorded backend's name)."""
    if isinstance(kv, Recorder):
        return backend_name(kv.backend)
    if isinstance(kv, Store):
        return "store"
    return str(getattr(kv, "name", type(kv).__name__))


def exact(message: str) -> str:
    """A ``pytest.raises(match=...)`` pattern for exactly ``message`` (etcd's strings are exact).

    >>> bool(re.match(exact("a.b (c)"), "a.b (c)")), bool(re.match(exact("a.b"), "axb"))
    (True, False)
    """
    return f"^{re.escape(message)}$"


# --------------------------------------------------------------------------- normalization


@dataclass(frozen=True)
class Raised:
    """A normalized error outcome: the etcdlite class name and etcd's message."""

    error: str
    message: str


def normalize(value: object) -> object:
    """``value`` with every response header reduced to its revision, errors to :class:`Raised`.

    >>> from etcdlite import PutResponse, ResponseHeader
    >>> normalize(PutResponse(ResponseHeader(1, 2, 7, 3))).header
    ResponseHeader(cluster_id=0, member_id=0, revision=7, raft_term=0)
    """
    if isinstance(value, ResponseHeader):
        return ResponseHeader(revision=value.revision)
    if isinstance(value, BaseException):
        return Raised(type(value).__name__, str(value))
    cls: Any = type(value)
    if attrs.has(cls):
        kwargs = {f.name: normalize(getattr(value, f.name)) for f in attrs.fields(cls)}
        return cls(**kwargs)
    if isinstance(value, tuple):
        return tuple(normalize(v) for v in value)
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- recording


Transcript = list[tuple[str, object]]


def _describe(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


class Recorder:
    """A backend wrapper that notes each call and its normalized outcome in ``transcript``."""

    def __init__(self, backend: KVBackend) -> None:
        self.backend = backend
        self.transcript: Transcript = []

    def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        what = _describe(name, args, kwargs)
        try:
            result = getattr(self.backend, name)(*args, **kwargs)
        except EtcdError as err:
            self.transcript.append((what, normalize(err)))
            raise
        self.transcript.append((what, normalize(result)))
        return result

    @property
    def revision(self) -> int:
        """The backend's current revision (recorded)."""
        rev = self.backend.revision
        self.transcript.append(("revision", rev))
        return rev

    def put(self, *args: Any, **kwargs: Any) -> PutResponse:
        """Recorded ``put``."""
        result: PutResponse = self._call("put", args, kwargs)
        return result

    def get(self, *args: Any, **kwargs: Any) -> RangeResponse:
        """Recorded ``get``."""
        result: RangeResponse = self._call("get", args, kwargs)
        return result

    def delete(self, *args: Any, **kwargs: Any) -> DeleteRangeResponse:
        """Recorded ``delete``."""
        result: DeleteRangeResponse = self._call("delete", args, kwargs)
        return result

    def txn(self, *args: Any, **kwargs: Any) -> TxnResponse:
        """Recorded ``txn``."""
        result: TxnResponse = self._call("txn", args, kwargs)
        return result

    def do(self, *args: Any, **kwargs: Any) -> Any:
        """Recorded ``do``."""
        return self._call("do", args, kwargs)

    def compact(self, *args: Any, **kwargs: Any) -> CompactionResponse:
        """Recorded ``compact``."""
        result: CompactionResponse = self._call("compact", args, kwargs)
        return result


@dataclass
class Run:
    """One backend's play of a scenario: its transcript and its result (or error)."""

    backend: str
    transcript: Transcript
    result: object = None
    error: EtcdError | None = None

    def outcome(self) -> object:
        """The normalized final outcome: the scenario's result or the error it ended with."""
        return normalize(self.error if self.error is not None else self.result)


def run_recorded(backend: KVBackend, scenario: Callable[[KVBackend], object]) -> Run:
    """Play ``scenario`` on ``backend``, recording; an etcd error that escapes it ends the run."""
    rec = Recorder(backend)
    run = Run(backend_name(backend), rec.transcript)
    try:
        run.result = scenario(rec)
    except EtcdError as err:
        run.error = err
    if isinstance(backend, Store):
        backend._check()
    return run


def _lines(run: Run) -> list[str]:
    out = [f"{what} -> {pprint.pformat(outcome, width=100)}" for what, outcome in run.transcript]
    out.append(f"scenario returned -> {pprint.pformat(run.outcome(), width=100)}")
    return out


def run_differential(
    scenario: Callable[[KVBackend], T], reference: KVBackend, tested: KVBackend
) -> tuple[Run, Run]:
    """Play ``scenario`` on both backends and fail the test unless they agree, call by call."""
    ref = run_recorded(reference, scenario)
    got = run_recorded(tested, scenario)
    if ref.transcript != got.transcript or ref.outcome() != got.outcome():
        diff = "\n".join(
            difflib.unified_diff(
                _lines(ref), _lines(got), fromfile=ref.backend, tofile=got.backend, lineterm=""
            )
        )
        pytest.fail(f"{ref.backend} and {got.backend} disagree:\n{diff}", pytrace=False)
    return ref, got
