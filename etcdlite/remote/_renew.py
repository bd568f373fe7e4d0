"""Renewals that outlast a broken connection: the lease calls a remote keep-alive uses.

The Store's :class:`~etcdlite.KeepAlive` renews through its client's ``keep_alive_once`` and
ends at the first error, which on a Store means the lease is gone. Over a network an error can
also mean the endpoint is briefly unreachable (restarting, a dropped connection), while etcd
still holds the lease: clientv3 keeps retrying then, and so does :class:`PatientLeases`, the
client a remote keep-alive is given. A renewal that fails with ``UNAVAILABLE`` (gRPC's: no
connection; or etcd's :class:`~etcdlite.errors.UnavailableError`: no leader, leader changed,
member stopping) or ``DEADLINE_EXCEEDED`` is tried again (each try already goes round the
client's endpoints) after a short growing pause until it gets an answer or the
client closes; any other error (``LeaseNotFoundError`` when etcd lost the lease meanwhile) ends
the keep-alive as on a Store, which is how a lost lease is reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from ..errors import UnavailableError
from ._rpc import RemoteError

if TYPE_CHECKING:
    import threading

    from .._lease_stream import KeepAlive
    from .._model_lease import (
        LeaseGrantResponse,
        LeaseKeepAliveResponse,
        LeaseRevokeResponse,
        LeaseTimeToLiveResponse,
    )
    from .._protocols import Leases

__all__ = ("PatientLeases",)

#: Pauses between renewal attempts while the endpoint does not answer (seconds).
RETRY_FIRST, RETRY_FACTOR, RETRY_MAX = 0.05, 2.0, 1.0
#: The statuses that say "no answer" rather than "etcd said no".
_TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class PatientLeases:
    """``client``'s lease calls, with ``keep_alive_once`` retried while there is no answer
    (until ``closing`` is set)."""

    def __init__(self, client: Leases, closing: threading.Event) -> None:
        self._client = client
        self._closing = closing

    def keep_alive_once(self, id: int) -> LeaseKeepAliveResponse:
        """A renewal, retried while the endpoint does not answer."""
        pause = RETRY_FIRST
        while True:
            try:
                return self._client.keep_alive_once(id)
            except (RemoteError, UnavailableError) as exc:
                transient = isinstance(exc, UnavailableError) or exc.status in _TRANSIENT
                if not transient or self._closing.wait(pause):
                    raise
                pause = min(pause * RETRY_FACTOR, RETRY_MAX)

    def grant(self, ttl: int, *, id: int = 0) -> LeaseGrantResponse:
        return self._client.grant(ttl, id=id)

    def revoke(self, id: int) -> LeaseRevokeResponse:
        return self._client.revoke(id)

    def time_to_live(self, id: int, *, keys: bool = False) -> LeaseTimeToLiveResponse:
        return self._client.time_to_live(id, keys=keys)

    def keep_alive(self, id: int) -> KeepAlive:
        raise NotImplementedError("a keep-alive's client only renews")
