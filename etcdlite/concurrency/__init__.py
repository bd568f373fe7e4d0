"""clientv3's ``concurrency`` package and etcd's recipes, over any etcdlite client.

Everything here uses only the public calls of :mod:`etcdlite._protocols` (get, put, delete,
txn, watch and leases), so it runs the same over an in-process :class:`~etcdlite.Store` and
over a real etcd cluster.

* :class:`Session`: a lease kept alive in the background; closing it revokes the lease;
* :class:`Mutex` and :class:`RWMutex`: locks whose waiters queue by create revision;
* :class:`Election` (and its :class:`Observe` stream): leadership with a published value;
* :func:`stm`: software transactional memory with clientv3's four :class:`Isolation` levels;
* :class:`Barrier`, :class:`DoubleBarrier`, :class:`Queue`, :class:`PriorityQueue`: etcd's
  recipes.

Every call that waits blocks the calling thread (with ``timeout=``) and has an async twin for
asyncio and trio, named ``a`` + the name (``lock``/``alock``, ``campaign``/``acampaign``,
``dequeue``/``adequeue``; ``wait``/``wait_async``). Both run the same code: each recipe is one
non-blocking step, waited on through :mod:`etcdlite._waiting`.

Locks are advisory: make the writes a lock protects conditional on ``mutex.is_owner()`` in the
same txn (see ``docs/leases.md``).
"""

from __future__ import annotations

from ._barrier import Barrier as Barrier
from ._barrier import DoubleBarrier as DoubleBarrier
from ._election import Election as Election
from ._election import Observe as Observe
from ._mutex import Mutex as Mutex
from ._queue import PriorityQueue as PriorityQueue
from ._queue import Queue as Queue
from ._recipes import KeyExistsError as KeyExistsError
from ._recipes import RecipeError as RecipeError
from ._recipes import TooManyClientsError as TooManyClientsError
from ._rwmutex import RWMutex as RWMutex
from ._session import Session as Session
from ._stm import STM as STM
from ._stm import Isolation as Isolation
from ._stm import STMConflictError as STMConflictError
from ._stm import stm as stm

__all__ = (
    "STM",
    "Barrier",
    "DoubleBarrier",
    "Election",
    "Isolation",
    "KeyExistsError",
    "Mutex",
    "Observe",
    "PriorityQueue",
    "Queue",
    "RWMutex",
    "RecipeError",
    "STMConflictError",
    "Session",
    "TooManyClientsError",
    "stm",
)
