"""The backend quota and the alarms, on a Store and on a real etcd with the same flags.

Each scenario runs once on a Store and, with the ``etcd`` marker, once more on a fresh etcd
3.4 started with the same ``--quota-backend-bytes``, recording every call's outcome (``"ok"`` or
the etcdlite error class): the two records must be equal. Byte counts differ by design (the
Store estimates what etcd's bbolt file would hold: divergence ``db-size-estimate``), so the
scenarios compare behaviour: which calls fail with which error, and the alarm list, whose member
ids are each backend's own. The alarm and status calls go through etcd's JSON gateway.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from typing import TYPE_CHECKING, Any

import pytest

from etcdlite import Compare, Op, Store
from etcdlite.errors import EtcdError, NoSpaceError

from ._etcd import running_etcd
from ._gateway import EtcdKV
from .divergences import divergence

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

#: A quota a few dozen 1 KiB puts fill on both backends (etcd accepts any positive quota).
QUOTA = 100_000
Json = dict[str, Any]
#: Bounds the fill loop: the quota is hit long before.
MAX_PUTS = 500


class Backend:
    """A KV backend plus the maintenance calls the scenarios use, normalized."""

    def __init__(self, kv: Store | EtcdKV, maintenance: Callable[[str, Json], Json]) -> None:
        self.kv = kv
        self._call = maintenance

    @property
    def member(self) -> int:
        """This member's id (the status's leader)."""
        return int(self._call("status", {})["leader"])

    def alarm(self, action: str, member: int = 0, alarm: str = "NONE") -> list[tuple[int, str]]:
        """One Alarm request: the ``(member, type)`` pairs of its answer, sorted."""
        answer = self._call("alarm", {"action": action, "memberID": member, "alarm": alarm})
        return sorted((int(a["memberID"]), a["alarm"]) for a in answer.get("alarms", ()))

    def errors(self) -> list[str]:
        """The status's errors, sorted."""
        return sorted(self._call("status", {}).get("errors", ()))

    def defragment(self) -> None:
        self._call("defragment", {})

    def sizes(self) -> tuple[int, int]:
        """The status's ``(dbSize, dbSizeInUse)``."""
        s = self._call("status", {})
        return int(s.get("dbSize", 0)), int(s.get("dbSizeInUse", 0))

    def raw(self, what: str, body: Json) -> Json:
        """A maintenance answer as the gateway writes it."""
        return self._call(what, body)


def store_backend(store: Store) -> Backend:
    """A Store, its maintenance calls rendered as etcd's gateway would."""

    def call(what: str, body: Json) -> Json:
        if what == "status":
            s = store.status()
            return {
                "leader": s.leader,
                "errors": list(s.errors),
                "dbSize": s.db_size,
                "dbSizeInUse": s.db_size_in_use,
            }
        if what == "defragment":
            return {"header": {"revision": store.defragment().header.revision}}
        action = body["action"]
        member, kind = int(body.get("memberID", 0)), str(body.get("alarm", "NONE"))
        if action == "ACTIVATE":
            r = store.alarm_activate(kind, member_id=member)
        elif action == "DEACTIVATE":
            r = store.alarm_disarm(kind, member_id=member)
        else:
            r = store.alarm_list(kind)
        return {
            "header": {"revision": r.header.revision},
            "alarms": [{"memberID": a.member_id, "alarm": a.alarm.name} for a in r.alarms],
        }

    return Backend(store, call)


def etcd_backend(url: str, version: tuple[int, int, int]) -> Backend:
    """A running etcd: KV through :class:`EtcdKV`, maintenance through its JSON gateway."""

    def call(what: str, body: Json) -> Json:
        payload = {k: str(v) if k == "memberID" else v for k, v in body.items()}
        req = urllib.request.Request(
            f"{url}/v3/maintenance/{what}", data=json.dumps(payload).encode(), method="POST"
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            answer: Json = json.loads(resp.read())
            return answer

    return Backend(EtcdKV(url, version=version), call)


@pytest.fixture(params=["store", pytest.param("etcd", marks=pytest.mark.etcd)])
def both(request: pytest.FixtureRequest) -> Iterator[Callable[[int], tuple[Backend, ...]]]:
    """``both(quota)``: a Store with that quota, and on ``etcd`` a real etcd with
    ``--quota-backend-bytes=quota`` as well (stopped when the test ends)."""
    with contextlib.ExitStack() as stack:

        def make(quota: int) -> tuple[Backend, ...]:
            store = Store(quota_backend_bytes=quota)
            stack.callback(store.close)
            backends = [store_backend(store)]
            if request.param == "etcd":
                proc = stack.enter_context(
                    running_etcd(extra_args=[f"--quota-backend-bytes={quota}"])
                )
                backends.append(etcd_backend(proc.url, proc.version))
            return tuple(backends)

        yield make


def outcome(call: Callable[[], object]) -> str:
    """``"ok"``, or the class of the etcd error ``call`` raised."""
    try:
        call()
    except EtcdError as e:
        return type(e).__name__
    return "ok"


def same_on_each(
    backends: tuple[Backend, ...], scenario: Callable[[Backend], list[object]]
) -> list[object]:
    """Play ``scenario`` on each backend; each must record the same; returns the record."""
    records = [scenario(b) for b in backends]
    for other in records[1:]:
        assert other == records[0]
    return records[0]


def fill_then_maintain(b: Backend) -> list[object]:
    """Put 1 KiB values until the quota refuses one, then what works under NOSPACE, then
    delete, compact, defragment and disarm: the space is usable again."""
    kv = b.kv
    me = b.member
    refused = None
    for i in range(MAX_PUTS):
        try:
            kv.put(f"fill/{i:04d}", "x" * 1024)
        except NoSpaceError as e:
            refused = str(e)
            break
    assert refused is not None, "the quota never refused a put"
    record: list[object] = [refused, b.alarm("GET") == [(me, "NOSPACE")]]
    record.append(b.errors() == [f"memberID:{me} alarm:NOSPACE "])
    record += [
        outcome(lambda: kv.put("small", "")),
        outcome(lambda: kv.txn(success=[Op.get("a")], failure=[Op.put("small", "")])),
        outcome(lambda: kv.grant(60)),
        outcome(lambda: kv.get("fill/0000")),
        outcome(lambda: kv.txn([Compare.version("fill/0000") > 0], [Op.get("fill/0000")])),
        outcome(lambda: kv.txn(success=[Op.delete("fill/0001")])),
        outcome(lambda: kv.delete("fill/", prefix=True)),
        outcome(lambda: kv.compact(kv.revision)),
        outcome(b.defragment),
        b.alarm("GET") == [(me, "NOSPACE")],  # compaction and defragment leave the alarm
        outcome(lambda: kv.put("small", "")),
        b.alarm("DEACTIVATE", me, "NOSPACE") == [(me, "NOSPACE")],
        b.alarm("GET"),
        b.errors(),
        outcome(lambda: kv.put("small", "")),
        outcome(lambda: kv.grant(60)),
    ]
    return record


def test_quota_fills_raises_nospace_and_recovers(
    both: Callable[[int], tuple[Backend, ...]],
) -> None:
    """etcd's NOSPACE story: refused put, alarm raised, reads/deletes/compaction still work,
    the alarm survives compact and defrag, and disarming after freeing space allows writes."""
    record = same_on_each(both(QUOTA), fill_then_maintain)
    assert record == [
        "etcdserver: mvcc: database space exceeded",
        True,
        True,
        "NoSpaceError",
        "NoSpaceError",
        "NoSpaceError",
        "ok",
        "ok",
        "ok",
        "ok",
        "ok",
        "ok",
        True,
        "NoSpaceError",
        True,
        [],
        [],
        "ok",
        "ok",
    ]


def test_a_tiny_quota_refuses_the_first_put(both: Callable[[int], tuple[Backend, ...]]) -> None:
    """--quota-backend-bytes=1 (the smallest etcd takes): every put and grant is refused."""

    def scenario(b: Backend) -> list[object]:
        return [
            outcome(lambda: b.kv.put("k", "v")),
            outcome(lambda: b.kv.grant(60)),
            len(b.alarm("GET")),
        ]

    assert same_on_each(both(1), scenario) == ["NoSpaceError", "NoSpaceError", 1]


def alarm_api(b: Backend) -> list[object]:
    """ACTIVATE for any member, GET, DEACTIVATE one by one, DEACTIVATE of nothing; CORRUPT."""
    kv, me = b.kv, b.member
    kv.put("a", "1")
    return [
        b.alarm("DEACTIVATE", me, "NOSPACE"),
        b.alarm("ACTIVATE", 7, "NOSPACE"),
        outcome(lambda: kv.put("a", "2")),
        b.alarm("ACTIVATE", 7, "NOSPACE"),
        b.alarm("ACTIVATE", me, "NOSPACE") == [(me, "NOSPACE")],
        len(b.alarm("GET")),
        b.alarm("GET", 0, "CORRUPT"),
        b.alarm("DEACTIVATE", 7, "NOSPACE"),
        outcome(lambda: kv.put("a", "2")),
        b.alarm("DEACTIVATE", me, "NOSPACE") == [(me, "NOSPACE")],
        outcome(lambda: kv.put("a", "2")),
        b.alarm("ACTIVATE", me, "CORRUPT") == [(me, "CORRUPT")],
        b.errors() == [f"memberID:{me} alarm:CORRUPT "],
        outcome(lambda: kv.put("a", "3")),
        outcome(lambda: kv.get("a")),
        outcome(lambda: kv.txn(success=[Op.get("a")])),
        outcome(lambda: kv.delete("a")),
        outcome(lambda: kv.compact(2)),
        outcome(lambda: kv.grant(60)),
        b.alarm("DEACTIVATE", me, "CORRUPT") == [(me, "CORRUPT")],
        outcome(lambda: kv.put("a", "3")),
    ]


def test_alarm_activate_and_deactivate(both: Callable[[int], tuple[Backend, ...]]) -> None:
    """Alarm ACTIVATE works for any member id; writes stay capped while any NOSPACE alarm is
    up; DEACTIVATE of an alarm not raised answers nothing; CORRUPT refuses writes, not reads."""
    record = same_on_each(both(0), alarm_api)
    assert record == [
        [],
        [(7, "NOSPACE")],
        "NoSpaceError",
        [(7, "NOSPACE")],
        True,
        2,
        [],
        [(7, "NOSPACE")],
        "NoSpaceError",
        True,
        "ok",
        True,
        True,
        "CorruptError",
        "ok",
        "ok",
        "CorruptError",
        "CorruptError",
        "CorruptError",
        True,
        "ok",
    ]


def test_nested_txn_put_under_nospace(both: Callable[[int], tuple[Backend, ...]]) -> None:
    """etcd 3.4 costs only a txn's top-level puts, so a put in a nested txn passes the NOSPACE
    alarm; the Store counts nested puts and refuses it (divergence nospace-nested-txn-put)."""
    divergence("nospace-nested-txn-put")
    for b in both(0):
        b.alarm("ACTIVATE", b.member, "NOSPACE")
        got = outcome(lambda b=b: b.kv.txn(success=[Op.txn(success=[Op.put("n", "1")])]))  # type: ignore[misc]
        assert got == ("ok" if isinstance(b.kv, EtcdKV) else "NoSpaceError")


def test_sizes_move_alike(both: Callable[[int], tuple[Backend, ...]]) -> None:
    """dbSize grows with writes; compaction frees in-use space, defragment brings the size down
    to it; the numbers themselves differ (divergence db-size-estimate)."""
    divergence("db-size-estimate")
    for b in both(0):
        kv = b.kv
        start = b.sizes()
        for i in range(200):
            kv.put(f"k/{i % 10}", "v" * 1000)
        grown = b.sizes()
        kv.compact(kv.revision)
        b.defragment()
        shrunk = b.sizes()
        assert grown[0] > start[0], (b, start, grown)
        assert shrunk[0] < grown[0], (b, grown, shrunk)
        assert shrunk[1] <= shrunk[0]


def test_alarm_activate_none(both: Callable[[int], tuple[Backend, ...]]) -> None:
    """ACTIVATE of NONE raises nothing on the Store; etcd 3.4 dies on it for member 0, so it is
    not sent there (divergence alarm-activate-none)."""
    divergence("alarm-activate-none")
    store = both(0)[0]
    assert store.alarm("ACTIVATE", 0, "NONE") == []
    assert store.alarm("ACTIVATE", 5, "NONE") == []
    assert store.alarm("GET") == []


def test_auto_compaction_retention_range() -> None:
    """A periodic retention under 10ns panics etcd 3.4 and a negative one makes it compact in a
    tight loop; the Store refuses both (divergence auto-compaction-retention-range)."""
    divergence("auto-compaction-retention-range")
    for retention in ("5ns", "-1h"):
        with pytest.raises(ValueError, match="auto_compaction_retention"):
            Store(auto_compaction_retention=retention)


def test_disarming_corrupt_keeps_nospace(both: Callable[[int], tuple[Backend, ...]]) -> None:
    """On etcd 3.4 disarming CORRUPT lifts NOSPACE's cap too; the Store keeps refusing puts
    while NOSPACE is raised (divergence corrupt-disarm-lifts-nospace)."""
    divergence("corrupt-disarm-lifts-nospace")
    for b in both(0):
        me = b.member
        b.alarm("ACTIVATE", me, "NOSPACE")
        b.alarm("ACTIVATE", me, "CORRUPT")
        b.alarm("DEACTIVATE", me, "CORRUPT")
        assert b.alarm("GET") == [(me, "NOSPACE")]
        got = outcome(lambda b=b: b.kv.put("k", "v"))  # type: ignore[misc]
        assert got == ("ok" if isinstance(b.kv, EtcdKV) else "NoSpaceError")


def test_alarm_and_defragment_headers(both: Callable[[int], tuple[Backend, ...]]) -> None:
    """etcd 3.4's Alarm and Defragment answers have no header; the Store's carry its header
    (divergence alarm-defragment-header)."""
    divergence("alarm-defragment-header")
    for b in both(0):
        b.kv.put("k", "v")
        answers = [b.raw("alarm", {"action": "GET"}), b.raw("defragment", {})]
        for answer in answers:
            if isinstance(b.kv, EtcdKV):
                assert "header" not in answer
            else:
                assert answer["header"]["revision"] == 2
