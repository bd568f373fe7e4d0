"""The pytest plugin, used the way users use it: a test file of theirs, run by pytest.

Each test writes a user's test module with ``pytester`` and runs it in a subprocess (the plugin
is found through its ``pytest11`` entry point, as in a user's project), then checks the
outcomes: a store fixture that is fresh per test, the fake clock driving lease expiry, a served
endpoint that etcdctl-style clients reach over gRPC and the JSON gateway, and ``--etcd=real``
running the same file against a real etcd 3.4.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
import base64, json, urllib.request

def test_put_get(etcd_store):
    assert etcd_store.put("config/db", "10.0.0.5").header.revision == 2
    assert etcd_store.get("config/db").kvs[0].value == b"10.0.0.5"

def test_each_test_gets_a_fresh_store(etcd_store):
    assert etcd_store.get("config/db").count == 0
    assert etcd_store.put("other", "x").header.revision == 2

def test_txn(etcd_store):
    from etcdlite import Compare, Op
    etcd_store.put("k", "1")
    t = etcd_store.txn(compare=[Compare.value("k") == "1"], success=[Op.put("k", "2")])
    assert t.succeeded and etcd_store.get("k").kvs[0].value == b"2"

def test_endpoint_json_gateway(etcd_endpoint):
    body = json.dumps({"key": base64.b64encode(b"via-http").decode(),
                       "value": base64.b64encode(b"yes").decode()}).encode()
    req = urllib.request.Request(etcd_endpoint.url + "/v3/kv/put", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.load(resp)["header"]["revision"] == "2"
"""

CLOCK_TESTS = """
def test_lease_expires_on_the_fake_clock(etcd_store, etcd_clock):
    lease = etcd_store.grant(10)
    etcd_store.put("session", "me", lease=lease.id)
    etcd_clock.advance(9)
    assert etcd_store.get("session").count == 1
    etcd_clock.advance(1)
    assert etcd_store.get("session").count == 0

def test_endpoint_is_the_same_store(etcd_store, etcd_endpoint):
    import grpc
    from etcdlite.server._pb import rpc_pb2, rpc_pb2_grpc
    etcd_store.put("shared", "1")
    with grpc.insecure_channel(etcd_endpoint.address) as channel:
        r = rpc_pb2_grpc.KVStub(channel).Range(rpc_pb2.RangeRequest(key=b"shared"), timeout=10)
    assert r.kvs[0].value == b"1"
"""


def test_fixtures_in_a_users_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS, test_clock=CLOCK_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)


def test_the_plugin_shows_its_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["etcdlite:", "*--etcd={store,real}*", "*--etcd-binary*"])


@pytest.mark.etcd
def test_the_same_suite_against_a_real_etcd(pytester: pytest.Pytester) -> None:
    """--etcd=real: the same user tests pass against a fresh real etcd each; the ones that
    need the fake clock are skipped with the reason, never run wrongly; etcd_store and
    etcd_endpoint are the same etcd there too."""
    pytester.makepyfile(test_user=USER_TESTS, test_clock=CLOCK_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--etcd=real", "-rs")
    result.assert_outcomes(passed=5, skipped=1)
    result.stdout.fnmatch_lines(["*a real etcd (--etcd=real) keeps its own time*"])


def test_real_mode_without_etcd_fails_clearly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user="def test_x(etcd_store):\n    pass\n")
    result = pytester.runpytest_subprocess("--etcd=real", "--etcd-binary=/nonexistent/etcd")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--etcd=real needs an etcd binary: none at /nonexistent/etcd*"])
