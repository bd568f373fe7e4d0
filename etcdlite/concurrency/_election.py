"""``Election`` (clientv3 ``concurrency.Election``) and :class:`Observe`, its leader stream.

An election is a mutex whose holder publishes a value. Each candidate writes
``<prefix>/<lease id in hex>`` with its value and its session's lease; the key created first
is the leader. As in clientv3:

* :meth:`Election.campaign` puts the candidate's key if absent (if the session already has a
  key there with another value, it proclaims the new value), then waits, as a mutex does, until
  every key created before it is deleted. A campaign given up (timeout, cancellation) resigns.
* :meth:`Election.proclaim` rewrites the leader's value in a txn guarded by the key's create
  revision, else :class:`~etcdlite.errors.ElectionNotLeaderError`;
  :meth:`Election.resign` deletes the key in the same kind of txn (doing nothing if it is
  no longer the leader's).
* :meth:`Election.leader` reads the first-created key, else
  :class:`~etcdlite.errors.ElectionNoLeaderError`.
* :meth:`Election.observe` returns an :class:`Observe` stream that follows clientv3's observe
  loop: the current leader, then each change of its value until its key is deleted, then the
  next leader; with nobody elected, the first put under the prefix.

:class:`Observe` is a pollable state machine over the client's watches (see
:mod:`etcdlite._waiting`): iterate it in a thread, or ``async for`` it under asyncio or trio.

>>> from etcdlite import Store
>>> from etcdlite.concurrency import Session
>>> store = Store()
>>> with Session(store) as s1, Session(store) as s2:
...     e1, e2 = Election(s1, "leader"), Election(s2, "leader")
...     e1.campaign("node-1")
...     with e2.observe() as leaders:
...         e1.proclaim("node-1, v2")
...         e1.resign()
...         e2.campaign("node-2")
...         [leaders.receive(timeout=10).kv.value for _ in range(3)]
[b'node-1', b'node-1, v2', b'node-2']
"""

from __future__ import annotations

import collections
import enum
from typing import TYPE_CHECKING

import anyio
import attrs

from .._model import Compare, EventType, Op, to_bytes, to_int
from .._model_lease import LeaderResponse
from .._waiting import NOT_READY, NotReady, Receiver
from ..errors import ElectionNoLeaderError, ElectionNotLeaderError, EtcdError
from ._mutex import first_created, lock_key, wait_deletes
from ._wait import WaitFor, run, run_async

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._model import ResponseHeader, TxnResponse, WatchResponse
    from .._protocols import KV, Client, WatchLike
    from ._mutex import SessionLike

__all__ = ("Election", "Observe", "leader_of")


def leader_of(client: KV, prefix: bytes) -> LeaderResponse:
    """The election's leader: the first-created key under ``prefix`` (clientv3 ``Leader``).

    Raises :class:`~etcdlite.errors.ElectionNoLeaderError` when there is none.
    """
    r = first_created(client, prefix)
    if not r.kvs:
        raise ElectionNoLeaderError()
    return LeaderResponse(r.header, r.kvs[0])


class _Phase(enum.Enum):
    START = "start"
    WAITING = "waiting"
    DONE = "done"


class _Campaign:
    """One ``campaign()`` call: the step the Waiter runs, and the clean-up if the wait fails."""

    __slots__ = ("_election", "_resp", "_value", "phase")

    def __init__(self, election: Election, value: bytes) -> None:
        self._election = election
        self._value = value
        self._resp: TxnResponse | None = None
        self.phase = _Phase.START

    def step(self) -> ResponseHeader | WaitFor:
        e = self._election
        if self.phase is _Phase.START:
            self.phase = _Phase.DONE  # an error before the wait is returned as it is
            self._resp = e._enter(self._value)
            self.phase = _Phase.WAITING
        resp = self._resp
        assert resp is not None
        found = wait_deletes(e._client, e._prefix, e.rev - 1)
        if isinstance(found, WaitFor):
            return found
        self.phase = _Phase.DONE
        e.header = resp.header  # the campaign txn's header, as clientv3 keeps it
        return resp.header

    def abandon(self, exc: BaseException) -> None:
        """The wait failed. Given up (timeout, cancellation): resign, as clientv3 does when its
        context is done. An error of the store: just forget the leadership, as clientv3 does."""
        if self.phase is not _Phase.WAITING:
            return
        self.phase = _Phase.DONE
        e = self._election
        if isinstance(exc, EtcdError):
            e._leader_session = None
            return
        try:
            e.resign()
        except EtcdError:
            pass


class Election:
    """A leader election on ``prefix`` for one session (clientv3 ``concurrency.NewElection``).

    After a campaign, ``key`` is the candidate's key (``prefix/<lease hex>``), ``rev`` its
    create revision, and ``header`` the campaign txn's response header (then the last
    proclaim's or resign's). :meth:`resume` rebuilds an election from a known leadership (the
    ``key`` and ``rev`` a campaign returned).
    """

    __slots__ = ("_client", "_leader_session", "_prefix", "_session", "header", "key", "rev")

    def __init__(self, session: SessionLike, prefix: str | bytes) -> None:
        self._session = session
        self._client = session.client
        self._prefix = to_bytes(prefix, "prefix") + b"/"
        self._leader_session: SessionLike | None = None
        #: The leader key after a campaign (``b""`` when not, or no longer, the leader).
        self.key = b""
        #: The leader key's create revision (0 before a campaign).
        self.rev = 0
        #: The response header of the last campaign, proclaim or resign (``None`` before).
        self.header: ResponseHeader | None = None

    @classmethod
    def resume(
        cls, session: SessionLike, prefix: str | bytes, leader_key: str | bytes, leader_rev: int
    ) -> Election:
        """An election already won: ``leader_key`` created at ``leader_rev`` (clientv3
        ``ResumeElection``), ready to :meth:`proclaim` or :meth:`resign`.

        Unlike clientv3, which keeps ``prefix`` without the ``/`` it adds everywhere else, the
        resumed election reads and waits on the same ``prefix/`` range as a new one.
        """
        election = cls(session, prefix)
        election.key = to_bytes(leader_key, "leader_key")
        election.rev = to_int(leader_rev, "leader_rev")
        election._leader_session = session
        return election

    @property
    def session(self) -> SessionLike:
        """The session whose lease the candidate's key is attached to."""
        return self._session

    # -- campaigning -------------------------------------------------------------------------

    def _enter(self, value: bytes) -> TxnResponse:
        """Put my key if absent, else read it (and proclaim if its value differs)."""
        session = self._session
        lease = session.lease
        key = lock_key(self._prefix, lease)
        resp = self._client.txn(
            [Compare.create_revision(key) == 0],
            [Op.put(key, value, lease=lease)],
            [Op.get(key)],
        )
        self.key, self.rev, self._leader_session = key, resp.header.revision, session
        if not resp.succeeded:
            kv = resp.responses[0].kvs[0]  # type: ignore[union-attr]
            self.rev = kv.create_revision
            if kv.value != value:
                try:
                    self.proclaim(value)
                except BaseException:
                    try:
                        self.resign()
                    except EtcdError:
                        pass
                    raise
        return resp

    def campaign(self, value: str | bytes, timeout: float | None = None) -> None:
        """Run for leader with ``value``, blocking until elected (clientv3 ``Campaign``).

        Raises :class:`TimeoutError` after ``timeout`` seconds, having resigned (deleted the
        candidate's key). A session that already has a key in this election keeps its place
        in the queue (proclaiming ``value`` if the key holds another value).
        """
        attempt = _Campaign(self, to_bytes(value, "value"))
        try:
            run(self._client, attempt.step, timeout)
        except BaseException as exc:
            attempt.abandon(exc)
            raise

    async def acampaign(self, value: str | bytes) -> None:
        """:meth:`campaign`, waiting in the current task (asyncio or trio).

        Cancelling the task (use anyio's ``fail_after`` for a timeout) resigns.
        """
        attempt = _Campaign(self, to_bytes(value, "value"))
        try:
            await run_async(self._client, attempt.step)
        except BaseException as exc:
            attempt.abandon(exc)
            raise

    def proclaim(self, value: str | bytes) -> None:
        """Publish a new value without a new election (clientv3 ``Proclaim``).

        Raises :class:`~etcdlite.errors.ElectionNotLeaderError` if this election never won,
        resigned, or its key is gone or was recreated; after that, :attr:`key` is ``b""``.
        """
        value = to_bytes(value, "value")
        session = self._leader_session
        if session is None:
            raise ElectionNotLeaderError()
        resp = self._client.txn(
            [Compare.create_revision(self.key) == self.rev],
            [Op.put(self.key, value, lease=session.lease)],
        )
        if not resp.succeeded:
            self.key = b""
            raise ElectionNotLeaderError()
        self.header = resp.header

    def resign(self) -> None:
        """Give up the leadership: delete the leader key if it is still this election's
        (clientv3 ``Resign``); a no-op if this election is not the leader.

        As in clientv3, after a failed :meth:`proclaim` (which forgets the key) the resign
        txn goes out with an empty key and fails with
        :class:`~etcdlite.errors.EmptyKeyError`.
        """
        if self._leader_session is None:
            return
        try:
            resp = self._client.txn(
                [Compare.create_revision(self.key) == self.rev], [Op.delete(self.key)]
            )
            self.header = resp.header
        finally:
            self.key = b""
            self._leader_session = None

    # -- watching the leadership -------------------------------------------------------------

    def leader(self) -> LeaderResponse:
        """The current leader's key-value (clientv3 ``Leader``).

        Raises :class:`~etcdlite.errors.ElectionNoLeaderError` when nobody is elected.
        """
        return leader_of(self._client, self._prefix)

    def observe(self) -> Observe:
        """A stream of the leadership: see :class:`Observe` (clientv3 ``Observe``)."""
        return Observe(self._client, self._prefix)

    def __repr__(self) -> str:
        state = f"leader key={self.key!r}" if self._leader_session is not None else "candidate"
        return f"<etcdlite.concurrency.Election prefix={self._prefix!r} {state}>"


class _Mode(enum.Enum):
    LOOK = "look"  # read the leader
    FIRST = "first"  # nobody elected: wait for the first put under the prefix
    FOLLOW = "follow"  # follow the leader's key until it is deleted


class Observe(Receiver[LeaderResponse]):
    """The leadership of an election, as a stream of :class:`~etcdlite.LeaderResponse`
    (clientv3 ``Election.Observe``, etcd's ``Election.Observe`` RPC).

    It follows clientv3's loop: read the leader (the first-created key; the first read is made
    when the stream is) and send it; then send each later put of that key (a proclaim) until
    the key is deleted, and read the leader again. With nobody elected it waits for the first
    put under the prefix and sends that (its header's revision set to the put's). Every value
    of a followed leader is sent, but a leader that came and went between two reads of the
    leader is not: the stream always reaches the latest leader, not every one. It ends when
    closed, or when a watch underneath ends (the store closed, a compaction) or a read fails.

    Read it like a watch: ``receive(timeout=None)`` (blocking), ``receive_nowait()``,
    ``await areceive()``, ``for resp in stream`` and ``async for resp in stream``; each of the
    first three raises :class:`anyio.EndOfStream` once the stream ended. ``close()`` it (or use
    it as a context manager) when done. One reader at a time.
    """

    __slots__ = ("_client", "_closed", "_mode", "_pending", "_prefix", "_watch")

    def __init__(self, client: Client, prefix: bytes) -> None:
        self._client = client
        self._prefix = prefix
        self._mode = _Mode.LOOK
        self._pending: collections.deque[LeaderResponse] = collections.deque()
        self._watch: WatchLike | None = None
        self._closed = False
        self._look()  # the current leader is read now, as clientv3's goroutine starts at once

    # -- the state machine (a pollable of etcdlite._waiting) ---------------------------------

    def poll(self, waker: Callable[[], None] | None) -> LeaderResponse | NotReady:
        """The next leader response, or keep ``waker`` (see :mod:`etcdlite._waiting`)."""
        while True:
            if self._pending:
                return self._pending.popleft()
            if self._closed:
                raise anyio.EndOfStream
            if self._mode is _Mode.LOOK:
                self._look()
                continue
            watch = self._watch
            assert watch is not None
            try:
                wr = watch.poll(waker)
            except anyio.EndOfStream:
                self._end()
                continue
            if wr is NOT_READY:
                return NOT_READY
            if wr.canceled:
                self._end()
            elif self._mode is _Mode.FIRST:
                self._first_put(wr)
            else:
                self._follow_events(wr)

    def forget(self, waker: Callable[[], None]) -> None:
        watch = self._watch
        if watch is not None:
            watch.forget(waker)

    def _look(self) -> None:
        """Read the leader: send it and follow its key, or wait for the first put."""
        client = self._client
        try:
            r = first_created(client, self._prefix)
            if r.kvs:
                kv = r.kvs[0]
                self._pending.append(LeaderResponse(r.header, kv))
                self._follow(kv.key, r.header.revision + 1)
            else:
                self._watch = client.watch(
                    self._prefix, prefix=True, start_revision=r.header.revision
                )
                self._mode = _Mode.FIRST
        except EtcdError:  # clientv3 closes the channel when a read fails
            self._end()

    def _follow(self, key: bytes, start_revision: int) -> None:
        self._drop_watch()
        self._watch = self._client.watch(key, start_revision=start_revision)
        self._mode = _Mode.FOLLOW

    def _first_put(self, wr: WatchResponse) -> None:
        """Nobody was elected: the first put of the batch is the leader (deletes are skipped)."""
        for ev in wr.events:
            if ev.type is EventType.PUT:
                kv = ev.kv
                header = attrs.evolve(wr.header, revision=kv.mod_revision)
                self._pending.append(LeaderResponse(header, kv))
                try:
                    self._follow(kv.key, kv.mod_revision + 1)
                except EtcdError:
                    self._end()
                return

    def _follow_events(self, wr: WatchResponse) -> None:
        """The leader's key changed: send each put; on its delete, read the leader again."""
        for ev in wr.events:
            if ev.type is EventType.DELETE:
                self._drop_watch()
                self._mode = _Mode.LOOK
                return
            self._pending.append(LeaderResponse(wr.header, ev.kv))

    def _drop_watch(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()

    def _end(self) -> None:
        """The stream ends (what is queued is still read first)."""
        self._closed = True
        self._drop_watch()

    # -- reading -----------------------------------------------------------------------------

    def close(self) -> None:
        """End the stream and its watch (idempotent); what is not yet read is dropped."""
        self._pending.clear()
        self._end()

    @property
    def closed(self) -> bool:
        """Whether the stream ended (closed, or its watch or a read failed)."""
        return self._closed

    def __enter__(self) -> Observe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Observe:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self._mode.value
        return f"<etcdlite.Observe prefix={self._prefix!r} {state}>"
