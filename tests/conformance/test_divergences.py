"""The registered divergences between etcd 3.4.23 and etcdlite (see ``divergences.py``).

Each test asserts etcd 3.4's documented behaviour on etcd and the current-etcd behaviour on the
Store; none of them skips or xfails.
"""

from __future__ import annotations

import pathlib
import re
from typing import TYPE_CHECKING, cast

import pytest

from etcdlite import Op, RangeRequest, SortOrder, SortTarget, Store, TxnRequest
from etcdlite.errors import FutureRevisionError, InvalidSortOptionError, KeyNotFoundError
from etcdlite.remote import Client

from ._etcd import etcd_binary, etcd_version
from ._gateway import EtcdKV
from ._harness import exact
from .divergences import DIVERGENCES, divergence, etcd_has

if TYPE_CHECKING:
    from etcdlite import RequestOp

    from ._harness import KVBackend


def has_new_behaviour(kv: KVBackend, id: str) -> bool:
    """Whether ``kv`` behaves as current etcd for divergence ``id`` (the Store always does)."""
    divergence(id)
    if isinstance(kv, EtcdKV):
        return etcd_has(id, kv.version)
    if isinstance(kv, Client):  # etcdlite.connect() to the suite's etcd
        return etcd_has(id, etcd_version(etcd_binary()))
    assert isinstance(kv, Store)
    return True


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(RangeRequest(b"a", b"\0", sort_order=cast("SortOrder", 7)), id="range"),
        pytest.param(
            TxnRequest(success=(RangeRequest(b"a", b"\0", sort_order=cast("SortOrder", 7)),)),
            id="range-in-txn",
        ),
    ],
)
def test_unknown_sort_order(kv: KVBackend, request_: RangeRequest | TxnRequest) -> None:
    """etcd 3.4 ignores an unknown sort_order; 3.6 and etcdlite reject it (invalid-sort-option)."""
    kv.put("b", "1")
    kv.put("a", "2")
    if has_new_behaviour(kv, "invalid-sort-option"):
        with pytest.raises(InvalidSortOptionError, match=exact("etcdserver: invalid sort option")):
            kv.do(request_)
    else:
        r = kv.do(request_)
        rng = r.responses[0] if isinstance(request_, TxnRequest) else r  # type: ignore[union-attr]
        assert [x.key for x in rng.kvs] == [b"a", b"b"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"sort_order": 7}, id="order"),
        pytest.param({"sort_target": 9}, id="target"),
        pytest.param({"sort_order": "sideways"}, id="order-name"),
        pytest.param({"sort_target": "size"}, id="target-name"),
    ],
)
def test_unknown_sort_option_in_builders(options: dict[str, object]) -> None:
    """The get/Op.get builders refuse unknown sort options before any request is sent."""
    with pytest.raises(InvalidSortOptionError):
        Store().get("a", **options)  # type: ignore[arg-type]
    with pytest.raises(InvalidSortOptionError):
        EtcdKV("http://127.0.0.1:9").get("a", **options)  # type: ignore[arg-type]
    with pytest.raises(InvalidSortOptionError):
        Op.get("a", **options)  # type: ignore[arg-type]


def test_known_sort_options_accepted(kv: KVBackend) -> None:
    """Every SortOrder and SortTarget value passes validation (3.4 and current alike)."""
    kv.put("a", "1")
    for order in SortOrder:
        for target in SortTarget:
            assert kv.get("a", sort_order=order, sort_target=target).count == 1


@pytest.mark.parametrize(
    ("ops", "errors_34", "errors_new"),
    [
        pytest.param(
            [Op.get("a", revision=99), Op.put("zz", ignore_value=True)],
            KeyNotFoundError,
            FutureRevisionError,
            id="bad-range-before-bad-put",
        ),
        pytest.param(
            [Op.put("zz", ignore_value=True), Op.get("a", revision=99)],
            KeyNotFoundError,
            KeyNotFoundError,
            id="bad-put-before-bad-range",
        ),
        pytest.param(
            [Op.txn(success=[Op.get("a", revision=99)]), Op.put("zz", ignore_lease=True)],
            KeyNotFoundError,
            FutureRevisionError,
            id="nested-bad-range-first",
        ),
    ],
)
def test_txn_check_order(
    kv: KVBackend,
    ops: list[RequestOp],
    errors_34: type[Exception],
    errors_new: type[Exception],
) -> None:
    """etcd 3.4/3.5 check a txn's puts before its ranges; 3.6 and etcdlite go in op order
    (txn-check-order)."""
    kv.put("a", "1")
    expected = errors_new if has_new_behaviour(kv, "txn-check-order") else errors_34
    with pytest.raises(expected):
        kv.txn(success=ops)
    assert kv.revision == 2


@pytest.mark.parametrize(
    "put",
    [Op.put("b", ignore_value=True), Op.put("b", "3", ignore_lease=True)],
    ids=["ignore_value", "ignore_lease"],
)
def test_txn_ignore_after_from_key_delete(put: RequestOp) -> None:
    """etcd panics on a put with ignore_* of a key the same txn deleted; etcdlite refuses the
    txn and changes nothing (txn-ignore-after-delete). Store only: etcd would crash."""
    divergence("txn-ignore-after-delete")
    store = Store()
    store.put("a", "1")
    store.put("b", "2")
    before = store.get("a", from_key=True)
    with pytest.raises(KeyNotFoundError, match=exact("etcdserver: key not found")):
        store.txn(success=[Op.delete("a", from_key=True), put])
    assert store.get("a", from_key=True) == before
    store._check()


def test_registry_is_complete() -> None:
    """Every registered divergence has a reason and references, and some test cites its id."""
    tests = pathlib.Path(__file__).parent.parent
    cited: set[str] = set()
    for path in [
        *tests.glob("conformance/test_*.py"),
        *tests.glob("watch/test_*.py"),
        *tests.glob("server/test_*.py"),
    ]:
        text = path.read_text(encoding="utf-8")
        cited.update(
            re.findall(r"""(?:divergence|has_new_behaviour)\([^"']*["']([a-z0-9-]+)["']""", text)
        )
    for d in DIVERGENCES.values():
        assert d.reason, d.id
        assert d.refs, d.id
        assert d.etcd_34, d.id
        assert d.etcdlite, d.id
        assert d.id in cited, f"no test cites divergence {d.id!r}"
    assert cited <= set(DIVERGENCES), cited - set(DIVERGENCES)
