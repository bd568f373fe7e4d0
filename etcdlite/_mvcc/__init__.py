"""The MVCC core: revisions, per-key history, the ordered index, the revisioned kv and txns.

Plain, synchronous, single-threaded code: no locks, no I/O, no gRPC. The ``Store`` facade owns
the lock and calls in here.
"""

from __future__ import annotations
