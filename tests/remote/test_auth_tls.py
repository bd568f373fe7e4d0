"""``connect(user=..., password=..., tls=...)`` against a real etcd 3.4: a user confined to a
prefix by its role, tokens on every call and stream, re-authentication when etcd drops a
token, the Auth management calls, and TLS with client certificates (``--client-cert-auth``).

Certificates are made here with ``cryptography`` (a CA, a server certificate for 127.0.0.1,
a client one). Every etcd started is stopped by its test and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from conformance._etcd import START_TIMEOUT, STOP_TIMEOUT, etcd_binary, running_etcd
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import etcdlite
from etcdlite import Permission, PermissionType
from etcdlite.errors import (
    AuthFailedError,
    InvalidAuthTokenError,
    PermissionDeniedError,
    RoleNotFoundError,
    UserAlreadyExistError,
    UserEmptyError,
    UserNotFoundError,
)
from etcdlite.remote import TLS, RemoteError
from etcdlite.remote._rpc import call
from etcdlite.server._pb import rpc_pb2, rpc_pb2_grpc

from ._node import _free_port, etcd_node

if TYPE_CHECKING:
    from collections.abc import Iterator

    from etcdlite.remote import Client

pytestmark = pytest.mark.etcd

#: Bound on any one wait (a watch event, a renewal, a call).
WAIT = 10.0
ROOT_PW, ALICE_PW = "rootpw", "alicepw"


def _set_up_auth(url: str) -> None:
    """root (with the root role), role ``app`` with READWRITE on the prefix ``app/``, user
    ``alice`` with role ``app``; then auth on. Done with the client itself, before auth."""
    with etcdlite.connect(url, timeout=WAIT) as admin:
        admin.user_add("root", ROOT_PW)
        admin.user_grant_role("root", "root")
        admin.role_add("app")
        admin.role_grant_permission("app", "app/", perm_type="readwrite", prefix=True)
        admin.user_add("alice", ALICE_PW)
        admin.user_grant_role("alice", "app")
        admin.auth_enable()


@pytest.fixture
def auth_url() -> Iterator[str]:
    """A fresh etcd with auth on (see :func:`_set_up_auth`)."""
    with running_etcd() as proc:
        _set_up_auth(proc.url)
        yield proc.url


@pytest.fixture
def alice(auth_url: str) -> Iterator[Client]:
    with etcdlite.connect(auth_url, user="alice", password=ALICE_PW, timeout=WAIT) as c:
        yield c


# -- auth ------------------------------------------------------------------------------------


def test_user_reads_and_writes_its_prefix_only(alice: Client) -> None:
    """Within its role's prefix the user puts and gets; outside it etcd says "permission
    denied", for reads and writes."""
    alice.put("app/a", "1")
    assert alice.get("app/", prefix=True).kvs[0].value == b"1"
    with pytest.raises(PermissionDeniedError):
        alice.put("other", "x")
    with pytest.raises(PermissionDeniedError):
        alice.get("other")


def test_watch_and_keep_alive_carry_the_token(alice: Client) -> None:
    """A watch in the prefix delivers events; one outside it is refused by etcd (after one
    new token and stream); keep-alives and leases work as the user."""
    with alice.watch("app/", prefix=True) as w:
        assert w.receive(WAIT).created
        alice.put("app/w", "v")
        assert [e.kv.key for e in w.receive(WAIT).events] == [b"app/w"]
        with alice.watch("other") as refused:
            last = refused.receive(WAIT)
            assert last.canceled
            assert last.cancel_reason.endswith(str(PermissionDeniedError()))
        alice.put("app/w", "v2")  # the first watch lived through the stream's reopening
        assert [e.kv.value for e in w.receive(WAIT).events] == [b"v2"]
    lease = alice.grant(3)
    alice.put("app/leased", "x", lease=lease.id)
    with alice.keep_alive(lease.id) as ka:
        assert ka.receive(WAIT).ttl == 3
        assert ka.receive(WAIT).id == lease.id  # a renewal, a second after the first
    assert alice.time_to_live(lease.id).ttl > 0


def test_observe_carries_the_token(auth_url: str, alice: Client) -> None:
    """An election's Observe stream runs as the user (etcd's election service reads the
    election's keys with the stream's token)."""
    with etcdlite.connect(auth_url, user="root", password=ROOT_PW, timeout=WAIT) as root:
        root.role_grant_permission("app", "db", prefix=True)
    lease = alice.grant(60).id
    won = alice.campaign("db", "node-1", lease=lease)
    with alice.observe("db") as leaders:
        assert leaders.receive(WAIT).kv.value == b"node-1"
        alice.proclaim(won.leader, "node-1b")
        assert leaders.receive(WAIT).kv.value == b"node-1b"


def test_wrong_password_fails_at_connect(auth_url: str) -> None:
    """A wrong password (or user) raises etcd's "authentication failed" from connect."""
    with pytest.raises(AuthFailedError):
        etcdlite.connect(auth_url, user="alice", password="wrong", timeout=WAIT)
    with pytest.raises(AuthFailedError):
        etcdlite.connect(auth_url, user="mallory", password="x", timeout=WAIT)


def test_no_credentials_is_user_name_empty(auth_url: str) -> None:
    """Without credentials every call is refused with "user name is empty"."""
    with etcdlite.connect(auth_url, timeout=WAIT) as anonymous, pytest.raises(UserEmptyError):
        anonymous.get("app/a")


def test_user_and_password_go_together() -> None:
    """A user without a password (or the reverse) is a ValueError, before any connection."""
    with pytest.raises(ValueError, match="together"):
        etcdlite.connect("127.0.0.1:1", user="alice")
    with pytest.raises(ValueError, match="together"):
        etcdlite.connect("127.0.0.1:1", password="pw")


def test_authenticates_on_the_endpoint_it_moves_to(auth_url: str) -> None:
    """The first endpoint does not answer: connect authenticates on the next one, and calls
    go there with that endpoint's token."""
    dead = f"http://127.0.0.1:{_free_port()}"
    with etcdlite.connect([dead, auth_url], user="alice", password=ALICE_PW, timeout=WAIT) as c:
        assert c.target == auth_url.removeprefix("http://")
        tokens = c._endpoints.tokens
        assert tokens is not None
        assert tokens.token(0) is None
        assert tokens.token(1)
        c.put("app/x", "1")
        assert c.get("app/x").count == 1


def test_restarted_member_gets_a_new_token() -> None:
    """A restarted member has forgotten its simple tokens: the client authenticates there
    again, and the user's calls, watch included, go on."""
    with etcd_node() as node:
        _set_up_auth(node.url)
        with etcdlite.connect(node.url, user="alice", password=ALICE_PW, timeout=WAIT) as alice:
            tokens = alice._endpoints.tokens
            assert tokens is not None
            first = tokens.token(0)
            with alice.watch("app/", prefix=True) as w:
                assert w.receive(WAIT).created
                node.stop()
                node.start()
                alice.put("app/after", "1")
                assert tokens.token(0) not in (None, "", first)
                assert [e.kv.key for e in w.receive(WAIT).events] == [b"app/after"]


def test_password_change_fails_cleanly(auth_url: str, alice: Client) -> None:
    """Changing the user's password drops its token; the client's next call authenticates
    again with the old password and raises "authentication failed" (nothing half-done); a
    client with the new password works."""
    alice.put("app/a", "1")
    with etcdlite.connect(auth_url, user="root", password=ROOT_PW, timeout=WAIT) as root:
        root.user_change_password("alice", "new")
    with pytest.raises(AuthFailedError):
        alice.put("app/a", "2")
    with etcdlite.connect(auth_url, user="alice", password="new", timeout=WAIT) as again:
        assert again.get("app/a").kvs[0].value == b"1"


def test_expired_token_is_renewed() -> None:
    """With ``--auth-token-ttl=2`` an unused token expires; the next call gets "invalid auth
    token", authenticates again and is sent once more, without the caller noticing. A watch
    created on the stream opened with the expired token is refused by etcd, and the stream
    is reopened with a new token."""
    with running_etcd(extra_args=["--auth-token-ttl=2"]) as proc:
        _set_up_auth(proc.url)
        with etcdlite.connect(proc.url, user="alice", password=ALICE_PW, timeout=WAIT) as alice:
            tokens = alice._endpoints.tokens
            assert tokens is not None
            before = alice.watch("app/a")  # opens the watch stream with the first token
            assert before.receive(WAIT).created
            old = tokens.token(0)
            assert old
            time.sleep(4.0)  # twice the TTL, plus etcd's one-second expiry sweep
            with grpc.insecure_channel(alice.target) as ch:
                kv: Any = rpc_pb2_grpc.KVStub(ch)  # type: ignore[no-untyped-call]
                with pytest.raises(InvalidAuthTokenError):
                    call(
                        lambda r, timeout: kv.Range(r, timeout=timeout, metadata=[("token", old)]),
                        rpc_pb2.RangeRequest(key=b"app/a"),
                        WAIT,
                    )
            alice.put("app/a", "1")
            assert tokens.token(0) not in (None, "", old)
            with alice.watch("app/b") as after:
                assert after.receive(WAIT).created
                alice.put("app/b", "2")
                assert [e.kv.value for e in after.receive(WAIT).events] == [b"2"]
            alice.put("app/a", "3")
            values = [e.kv.value for e in before.receive(WAIT).events]
            if values == [b"1"]:  # the put before the stream was reopened came first
                values = [e.kv.value for e in before.receive(WAIT).events]
            assert values[-1] == b"3"
            before.cancel()


def test_credentials_before_auth_is_on() -> None:
    """A client with credentials made while auth is off sends no token (etcd: "authentication
    is not enabled"); once auth is on, "user name is empty" makes it authenticate."""
    with running_etcd() as proc:
        with etcdlite.connect(proc.url, user="root", password=ROOT_PW, timeout=WAIT) as root:
            root.put("k", "before")
            root.user_add("root", ROOT_PW)
            root.user_grant_role("root", "root")
            root.auth_enable()
            assert root.get("k").kvs[0].value == b"before"
            root.auth_disable()
        with etcdlite.connect(proc.url, timeout=WAIT) as anonymous:
            assert anonymous.get("k").count == 1


def test_auth_management_calls(auth_url: str) -> None:
    """The Store's auth calls on etcd: answers as the Store's response types, etcd's errors
    as the Store's exception classes."""
    with etcdlite.connect(auth_url, user="root", password=ROOT_PW, timeout=WAIT) as root:
        assert root.user_list().users == ("alice", "root")
        assert root.user_get("alice").roles == ("app",)
        assert root.role_list().roles == ("app",)  # etcd 3.4 lists no built-in root role
        assert root.role_get("app").perm == (
            Permission(PermissionType.READWRITE, b"app/", b"app0"),
        )
        root.role_grant_permission("app", "cfg", perm_type=PermissionType.READ)
        assert Permission(PermissionType.READ, b"cfg", b"") in root.role_get("app").perm
        root.role_revoke_permission("app", "cfg")
        assert len(root.role_get("app").perm) == 1
        token = root.authenticate("alice", ALICE_PW).token
        assert token
        with pytest.raises(AuthFailedError):
            root.authenticate("alice", "wrong")
        with pytest.raises(UserAlreadyExistError):
            root.user_add("alice", "x")
        root.user_add("cert-only", no_password=True)
        root.user_revoke_role("alice", "app")
        assert root.user_get("alice").roles == ()
        root.user_delete("alice")
        with pytest.raises(UserNotFoundError):
            root.user_get("alice")
        root.role_delete("app")
        with pytest.raises(RoleNotFoundError):
            root.role_get("app")
        with pytest.raises(RemoteError) as no_status:  # etcd 3.4 has no AuthStatus
            root.auth_status()
        assert no_status.value.status == grpc.StatusCode.UNIMPLEMENTED
        root.auth_disable()
    with etcdlite.connect(auth_url, timeout=WAIT) as anonymous:
        assert anonymous.user_list().users == ("cert-only", "root")


# -- TLS -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certs:
    """PEM files: a CA, a server certificate for 127.0.0.1, a client certificate."""

    ca: str
    server: str
    server_key: str
    client: str
    client_key: str


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    usage: x509.ObjectIdentifier | None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name if issuer is None else issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=usage is None, path_length=None), critical=True)
    )
    if usage is None:  # the CA
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A CA and the server and client certificates it signed."""
    directory = tmp_path_factory.mktemp("certs")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("etcdlite remote test CA", ca_key, None, ca_key, None)
    files = {"ca": ca.public_bytes(serialization.Encoding.PEM)}
    for name, usage in (
        ("server", ExtendedKeyUsageOID.SERVER_AUTH),
        ("client", ExtendedKeyUsageOID.CLIENT_AUTH),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        files[name] = _issue(name, key, ca, ca_key, usage).public_bytes(serialization.Encoding.PEM)
        files[f"{name}_key"] = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    paths = {}
    for name, data in files.items():
        path = directory / f"{name}.pem"
        path.write_bytes(data)
        paths[name] = str(path)
    return Certs(**paths)


@contextlib.contextmanager
def _tls_etcd(certs: Certs) -> Iterator[str]:
    """An etcd serving clients over TLS with ``--client-cert-auth``; yields its https URL."""
    binary = etcd_binary()
    with tempfile.TemporaryDirectory(prefix="etcdlite-remote-tls-") as tmp:
        client_url = f"https://127.0.0.1:{_free_port()}"
        peer_url = f"http://127.0.0.1:{_free_port()}"
        args = [
            binary,
            "--name=tls",
            f"--data-dir={os.path.join(tmp, 'data')}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=tls={peer_url}",
            "--heartbeat-interval=10",
            "--election-timeout=100",
            f"--cert-file={certs.server}",
            f"--key-file={certs.server_key}",
            f"--trusted-ca-file={certs.ca}",
            "--client-cert-auth",
        ]
        with open(os.path.join(tmp, "etcd.log"), "ab") as log:
            proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            tls = TLS(ca_file=certs.ca, cert_file=certs.client, key_file=certs.client_key)
            deadline = time.monotonic() + START_TIMEOUT
            with etcdlite.connect(client_url, tls=tls, timeout=1.0) as probe:
                while True:
                    assert proc.poll() is None, "etcd exited at start"
                    try:
                        probe.get("probe")
                        break
                    except RemoteError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
            yield client_url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)


def test_tls_with_client_certificate(certs: Certs) -> None:
    """Over TLS with a client certificate signed by etcd's trusted CA, calls work."""
    tls = TLS(ca_file=certs.ca, cert_file=certs.client, key_file=certs.client_key)
    with _tls_etcd(certs) as url, etcdlite.connect(url, tls=tls, timeout=WAIT) as client:
        client.put("k", "v")
        assert client.get("k").kvs[0].value == b"v"
        with client.watch("w") as w:
            assert w.receive(WAIT).created
            client.put("w", "1")
            assert [e.kv.value for e in w.receive(WAIT).events] == [b"1"]


def test_tls_without_client_certificate_fails(certs: Certs) -> None:
    """etcd with ``--client-cert-auth`` refuses a client that shows no certificate, and a
    client that does not trust etcd's CA refuses etcd: both are a RemoteError, and a plain
    connection to the TLS port gets no answer either."""
    with _tls_etcd(certs) as url:
        refused = [
            (url, TLS(ca_file=certs.ca)),  # no client certificate
            (url, TLS(cert_file=certs.client, key_file=certs.client_key)),  # etcd's CA unknown
            (url.replace("https://", "http://"), None),  # no TLS at all
        ]
        for endpoint, tls in refused:
            with (
                etcdlite.connect(endpoint, tls=tls, timeout=2.0) as client,
                pytest.raises(RemoteError) as failed,
            ):
                client.get("k")
            assert failed.value.status == grpc.StatusCode.UNAVAILABLE, tls


@pytest.mark.parametrize(
    ("endpoint", "tls", "match"),
    [
        ("https://127.0.0.1:2379", None, "needs tls=True"),
        ("https://127.0.0.1:2379", False, "needs tls=True"),
        ("http://127.0.0.1:2379", True, "plain http://"),
        ("unix://x:1", None, "http:// or https://"),
    ],
    ids=["https-no-tls", "https-tls-false", "http-with-tls", "other-scheme"],
)
def test_scheme_and_tls_must_agree(endpoint: str, tls: bool | None, match: str) -> None:
    """An https:// endpoint needs tls, an http:// one refuses it: a ValueError, at once."""
    with pytest.raises(ValueError, match=match):
        etcdlite.connect(endpoint, tls=tls)


def test_tls_settings() -> None:
    """A TLS needs a client certificate and its key together; tls= takes nothing else."""
    with pytest.raises(ValueError, match="both"):
        TLS(key_file="k.pem")
    with pytest.raises(TypeError, match="tls must be"):
        etcdlite.connect("127.0.0.1:1", tls="yes")  # type: ignore[arg-type]
