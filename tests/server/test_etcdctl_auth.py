"""etcdctl 3.4's ``user``, ``role`` and ``auth`` commands against ``etcdlite serve`` and against
real etcd 3.4: the same session, the same output.

The session adds users (``user:password`` and ``--interactive=false`` with the password on
stdin), a role with a prefix permission, grants, turns auth on, then reads and writes with
``--user`` where allowed and where not, meets etcd's auth errors on the way, takes everything
back and turns auth off. Both servers hash passwords at the cheapest cost (``--bcrypt-cost=4``).
Outputs are compared as in ``test_etcdctl.py``.
"""

from __future__ import annotations

import pytest
from conformance._etcd import running_etcd

from .test_etcdctl import S, Session, Step, _etcdctl, etcdlite_serve, normalize

ROOT = "--user=root:rootpw"
ALICE = "--user=alice:alicepw"

SESSION: tuple[Step, ...] = (
    S("auth", "enable"),
    S("user", "add", "root", "--interactive=false", stdin="rootpw\n"),
    S("user", "add", "alice:alicepw"),
    S("user", "add", "alice:again"),
    S("role", "add", "app"),
    S("role", "add", "app"),
    S("role", "grant-permission", "app", "readwrite", "app/", "--prefix=true"),
    S("role", "grant-permission", "app", "read", "conf"),
    S("role", "grant-permission", "app", "write", "a", "c"),
    S("role", "get", "app"),
    S("role", "get", "nope"),
    S("user", "grant-role", "alice", "app"),
    S("user", "grant-role", "alice", "nope"),
    S("user", "grant-role", "root", "root"),
    S("user", "get", "alice"),
    S("user", "get", "root"),
    S("user", "list"),
    S("role", "list"),
    S("put", "app/x", "1"),
    S("auth", "enable"),
    S("get", "app/x"),
    S("get", "app/x", ALICE),
    S("put", "app/x", "2", ALICE),
    S("get", "app/", "--prefix", ALICE),
    S("put", "other", "1", ALICE),
    S("get", "other", ALICE),
    S("get", "", "--from-key", ALICE),
    S("get", "conf", ALICE),
    S("put", "conf", "1", ALICE),
    S("get", "app/x", "--user=alice:wrong"),
    S("get", "app/x", "--user=nobody:pw"),
    S("user", "list", ALICE),
    S("user", "list", ROOT),
    S("get", "", "--from-key", ROOT),
    S("user", "add", "bob:bobpw", ALICE),
    S("user", "add", "bob:bobpw", ROOT),
    S("user", "passwd", "alice", "--interactive=false", ROOT, stdin="newpw\n"),
    S("get", "app/x", ALICE),
    S("get", "app/x", "--user=alice:newpw"),
    S("role", "revoke-permission", "app", "app/", "--prefix=true", ROOT),
    S("role", "revoke-permission", "app", "app/", "--prefix=true", ROOT),
    S("get", "app/x", "--user=alice:newpw"),
    S("role", "get", "app", ROOT),
    S("user", "revoke-role", "alice", "app", ROOT),
    S("user", "revoke-role", "alice", "app", ROOT),
    S("user", "delete", "root", ROOT),
    S("user", "delete", "bob", ROOT),
    S("role", "delete", "app", ROOT),
    S("role", "delete", "root", ROOT),
    S("auth", "disable", "--user=alice:newpw"),
    S("auth", "disable", ROOT),
    S("get", "app/x"),
    S("user", "list"),
    S("user", "delete", "alice"),
    S("user", "get", "alice"),
)


def _run_session(etcdctl: str, endpoint: str) -> list[tuple[int | str, str, str]]:
    session = Session(etcdctl, endpoint)
    return [normalize(step, session.run(step)) for step in SESSION]


@pytest.mark.etcd
def test_auth_session_matches_real_etcd() -> None:
    """The scripted user/role/auth session prints the same against etcdlite serve and
    etcd 3.4."""
    etcdctl = _etcdctl()
    with running_etcd(extra_args=["--bcrypt-cost=4"]) as etcd:
        expected = _run_session(etcdctl, etcd.url.removeprefix("http://"))
    with etcdlite_serve("conformance", "--bcrypt-cost=4") as endpoint:
        got = _run_session(etcdctl, endpoint)
    for step, want, have in zip(SESSION, expected, got, strict=True):
        assert have == want, step.args
    # the session met the refusals it was written for
    outputs = "\n".join(out + err for _, out, err in got)
    for message in (
        "etcdserver: permission denied",
        "etcdserver: user name is empty",
        "etcdserver: authentication failed, invalid user ID or password",
        "etcdserver: root user does not exist",
        "etcdserver: user name already exists",
    ):
        assert message in outputs, message
