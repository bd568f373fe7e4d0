"""TLS for ``etcdlite serve``: etcd's ``--cert-file``, ``--key-file``, ``--trusted-ca-file`` and
``--client-cert-auth``, with certificates made here by ``cryptography``.

etcdctl 3.4 and Python clients (gRPC and the JSON gateway over urllib) talk to a TLS server with
client certificates; plain connections, clients without a certificate, TLS 1.1 and clients that
never finish their handshake are refused or dropped, and the server keeps serving. Each test
runs on both layouts: one port for gRPC and the gateway (``shared``), and the gateway on URLs
of its own (``separate``, ``--listen-client-http-urls``). Every server started is stopped.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import json
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import etcdlite
from etcdlite import cli
from etcdlite.server._front import offered_protocols
from etcdlite.server._listen import TLS, Listener, client_common_name, server_context
from etcdlite.server._pb import rpc_pb2, rpc_pb2_grpc
from etcdlite.server._server import check_tls
from etcdlite.server._services.maintenance import MaintenanceService

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from etcdlite.server import Server

pytestmark = pytest.mark.grpc

_rpc: Any = rpc_pb2_grpc  # generated without annotations

#: Bound on any one wait for a server, a client or a subprocess.
WAIT = 15.0


@dataclass(frozen=True)
class Certs:
    """PEM files: a CA, a server certificate for 127.0.0.1 and localhost, a client one."""

    ca: str
    server: str
    server_key: str
    client: str
    client_key: str
    client_cn: str = "alice"

    def read(self, name: str) -> bytes:
        with open(getattr(self, name), "rb") as f:
            return f.read()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    usage: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
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
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    else:
        assert usage is not None
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A CA and the server and client certificates it signed, as PEM files."""
    directory = tmp_path_factory.mktemp("certs")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("etcdlite test CA", ca_key, _name("etcdlite test CA"), ca_key, ca=True)
    files: dict[str, str] = {}

    def write(name: str, data: bytes) -> None:
        path = directory / f"{name}.pem"
        path.write_bytes(data)
        files[name] = str(path)

    write("ca", ca.public_bytes(serialization.Encoding.PEM))
    for name, common_name, usage in (
        ("server", "localhost", ExtendedKeyUsageOID.SERVER_AUTH),
        ("client", "alice", ExtendedKeyUsageOID.CLIENT_AUTH),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(common_name, key, ca.subject, ca_key, usage=usage)
        write(name, cert.public_bytes(serialization.Encoding.PEM))
        write(
            f"{name}_key",
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    return Certs(**files)


@pytest.fixture(params=["shared", "separate"])
def layout(request: pytest.FixtureRequest) -> str:
    """``shared``: gRPC and the gateway on one https URL; ``separate``: the gateway on an
    https URL of its own."""
    return str(request.param)


def _serve(certs: Certs, layout: str, **options: Any) -> Server:
    http_urls = ["https://127.0.0.1:0"] if layout == "separate" else []
    return etcdlite.serve(
        listen_client_urls=["https://127.0.0.1:0"],
        listen_client_http_urls=http_urls,
        cert_file=certs.server,
        key_file=certs.server_key,
        trusted_ca_file=certs.ca,
        client_cert_auth=True,
        **options,
    )


@pytest.fixture
def server(certs: Certs, layout: str) -> Iterator[Server]:
    """A TLS server requiring client certificates, stopped after the test."""
    with _serve(certs, layout) as running:
        yield running


def _gateway_url(server: Server) -> str:
    return (server.http_urls or server.client_urls)[0]


def _client_context(certs: Certs, *, with_cert: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certs.ca)
    if with_cert:
        context.load_cert_chain(certs.client, certs.client_key)
    return context


def _post(url: str, path: str, body: dict[str, Any], context: ssl.SSLContext) -> Any:
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, context=context, timeout=WAIT) as response:
        return json.loads(response.read())


def _channel(server: Server, certs: Certs, *, with_cert: bool = True) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(
        certs.read("ca"),
        certs.read("client_key") if with_cert else None,
        certs.read("client") if with_cert else None,
    )
    return grpc.secure_channel(server.address, credentials)


def _grpc_put_get(server: Server, certs: Certs, key: bytes) -> bytes:
    with _channel(server, certs) as channel:
        kv = _rpc.KVStub(channel)
        kv.Put(rpc_pb2.PutRequest(key=key, value=b"v-" + key), timeout=WAIT)
        response = kv.Range(rpc_pb2.RangeRequest(key=key), timeout=WAIT)
    return bytes(response.kvs[0].value)


def _ends(sock: socket.socket) -> bool:
    """Whether the server closes ``sock`` (reading what it sends meanwhile) within WAIT."""
    sock.settimeout(WAIT)
    try:
        for _ in range(1000):
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return False


def test_grpc_client_with_ssl_channel_credentials(server: Server, certs: Certs) -> None:
    """A Python gRPC client with a client certificate puts and reads back over TLS."""
    assert server.client_urls[0].startswith("https://127.0.0.1:")
    assert _grpc_put_get(server, certs, b"grpc") == b"v-grpc"


def test_gateway_over_https(server: Server, certs: Certs) -> None:
    """The JSON gateway answers over https (urllib with an SSLContext and a client
    certificate), and sees what gRPC wrote."""
    _grpc_put_get(server, certs, b"both")
    context = _client_context(certs)
    url = _gateway_url(server)
    assert url.startswith("https://")
    answer = _post(url, "/v3/kv/range", {"key": "Ym90aA=="}, context)
    assert answer["kvs"][0]["value"] == "di1ib3Ro"  # b"v-both"
    with urllib.request.urlopen(url + "/version", context=context, timeout=WAIT) as response:
        assert json.loads(response.read())["etcdserver"].startswith("3.")


def test_servicers_see_the_client_certificate_cn(
    certs: Certs, layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A servicer reads the client certificate's CN (etcd's user name under
    --client-cert-auth) with client_common_name, over gRPC and over the gateway alike."""
    seen: list[str | None] = []
    status = MaintenanceService.Status

    def recording_status(self: MaintenanceService, request: Any, context: Any) -> object:
        seen.append(client_common_name(context))
        return status(self, request, context)

    monkeypatch.setattr(MaintenanceService, "Status", recording_status)
    with _serve(certs, layout) as server:
        with _channel(server, certs) as channel:
            _rpc.MaintenanceStub(channel).Status(rpc_pb2.StatusRequest(), timeout=WAIT)
        _post(_gateway_url(server), "/v3/maintenance/status", {}, _client_context(certs))
    assert seen == ["alice", "alice"]


def test_no_cn_without_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over plain HTTP there is no certificate: client_common_name is None."""
    seen: list[str | None] = []
    status = MaintenanceService.Status

    def recording_status(self: MaintenanceService, request: Any, context: Any) -> object:
        seen.append(client_common_name(context))
        return status(self, request, context)

    monkeypatch.setattr(MaintenanceService, "Status", recording_status)
    with etcdlite.serve(port=0) as server, grpc.insecure_channel(server.address) as channel:
        _rpc.MaintenanceStub(channel).Status(rpc_pb2.StatusRequest(), timeout=WAIT)
        _post(
            f"http://{server.address}", "/v3/maintenance/status", {}, ssl.create_default_context()
        )
    assert seen == [None, None]


def test_plain_connections_to_a_tls_port_fail_cleanly(server: Server, certs: Certs) -> None:
    """A plain HTTP request and a plain gRPC call to the TLS port are refused (the connection
    ends, no answer in clear), and the server keeps serving TLS clients."""
    for url in {server.client_urls[0], _gateway_url(server)}:
        host, port = url.removeprefix("https://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=WAIT) as sock:
            sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.settimeout(WAIT)
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            assert b"etcdserver" not in data
            assert _ends(sock)
    with grpc.insecure_channel(server.address) as channel:
        with pytest.raises(grpc.RpcError) as raised:
            _rpc.KVStub(channel).Range(rpc_pb2.RangeRequest(key=b"k"), timeout=5.0)
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert _grpc_put_get(server, certs, b"after") == b"v-after"


def test_client_without_certificate_is_refused(server: Server, certs: Certs) -> None:
    """Under --client-cert-auth a client with no certificate gets no answer, over gRPC or the
    gateway; one with a certificate still does."""
    with _channel(server, certs, with_cert=False) as channel:
        with pytest.raises(grpc.RpcError) as raised:
            _rpc.KVStub(channel).Range(rpc_pb2.RangeRequest(key=b"k"), timeout=5.0)
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    context = _client_context(certs, with_cert=False)
    with pytest.raises((OSError, http.client.HTTPException)):
        _post(_gateway_url(server), "/v3/kv/range", {"key": "aw=="}, context)
    assert _grpc_put_get(server, certs, b"still") == b"v-still"


@pytest.mark.parametrize("alpn", [["http/1.1"], ["h2"]], ids=["gateway", "grpc"])
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_1_1_is_refused(server: Server, certs: Certs, alpn: list[str]) -> None:
    """A client that speaks at most TLS 1.1 is refused, whether its ClientHello goes to the
    gateway (a protocol-version alert) or to gRPC (grpcio closes the connection); the same
    client allowing TLS 1.2 gets through."""
    url = _gateway_url(server) if alpn == ["http/1.1"] else server.client_urls[0]
    host, port = url.removeprefix("https://").rsplit(":", 1)
    for maximum in (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_2):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(certs.ca)
        context.load_cert_chain(certs.client, certs.client_key)
        context.minimum_version = ssl.TLSVersion.TLSv1_1
        context.maximum_version = maximum
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.set_alpn_protocols(alpn)
        with socket.create_connection((host, int(port)), timeout=WAIT) as raw:
            if maximum == ssl.TLSVersion.TLSv1_2:
                with context.wrap_socket(raw, server_hostname="localhost") as secure:
                    assert secure.version() == "TLSv1.2"
                continue
            with pytest.raises(ssl.SSLError) as raised:
                context.wrap_socket(raw, server_hostname="localhost")
            if alpn == ["http/1.1"]:
                assert "PROTOCOL_VERSION" in str(raised.value)
            else:
                assert isinstance(raised.value, ssl.SSLEOFError)


def _client_hello(alpn: list[str] | None) -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if alpn is not None:
        context.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    session = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        session.do_handshake()
    return outgoing.read()


@pytest.mark.parametrize(
    ("alpn", "expected"),
    [
        (None, []),
        (["h2"], [b"h2"]),
        (["h2", "http/1.1"], [b"h2", b"http/1.1"]),
        (["grpc-exp", "h2"], [b"grpc-exp", b"h2"]),
    ],
)
def test_offered_protocols_reads_the_client_hello(
    alpn: list[str] | None, expected: list[bytes]
) -> None:
    """The front process reads the ALPN protocols from a real ClientHello, and nothing from
    what is not one."""
    assert offered_protocols(_client_hello(alpn)) == expected
    assert offered_protocols(b"GET / HTTP/1.1\r\n\r\n") is None
    assert offered_protocols(_client_hello(alpn)[:40]) is None


@pytest.mark.parametrize("sends", ["nothing", "a ClientHello only"])
def test_a_client_that_never_finishes_its_handshake_is_dropped(
    certs: Certs, layout: str, sends: str
) -> None:
    """A client that opens TCP and sends nothing, or a ClientHello and nothing after it, is
    disconnected after the handshake timeout (etcd's listener waited forever: CVE-2026-73500);
    the server keeps serving."""
    with _serve(certs, layout, tls_handshake_timeout=0.5) as server:
        urls = {server.client_urls[0], _gateway_url(server)}
        for url in urls:
            host, port = url.removeprefix("https://").rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=WAIT) as sock:
                if sends != "nothing":
                    sock.sendall(_client_hello(["http/1.1"] if url in server.http_urls else None))
                assert _ends(sock)
        assert _grpc_put_get(server, certs, b"alive") == b"v-alive"


def test_connections_past_the_handshake_cap_are_closed(certs: Certs) -> None:
    """With tls_max_handshakes connections waiting for their handshake, the next one is closed
    at once, and a client can connect again once they are gone."""
    with _serve(certs, "shared", tls_max_handshakes=2, tls_handshake_timeout=30.0) as server:
        host, port = server.address.rsplit(":", 1)
        waiting = [socket.create_connection((host, int(port)), timeout=WAIT) for _ in range(2)]
        try:
            extra = None
            for _ in range(50):  # until the front process counts both as waiting
                with socket.create_connection((host, int(port)), timeout=WAIT) as probe:
                    probe.settimeout(0.2)
                    try:
                        extra = probe.recv(1)
                    except TimeoutError:
                        extra = None
                if extra == b"":
                    break
            assert extra == b""
        finally:
            for sock in waiting:
                sock.close()
        for _ in range(50):
            try:
                assert _grpc_put_get(server, certs, b"cap") == b"v-cap"
                break
            except grpc.RpcError:
                continue
        else:
            pytest.fail("the server never served again")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"cert_file": None, "key_file": None},
            (
                "TLS key/cert (--cert-file, --key-file) must be provided for client url "
                "https://127.0.0.1:0 with HTTPS scheme"
            ),
        ),
        ({"key_file": None}, "--cert-file and --key-file go together"),
        ({"trusted_ca_file": None}, "--client-cert-auth needs --trusted-ca-file"),
    ],
)
def test_refused_configurations(certs: Certs, options: dict[str, Any], message: str) -> None:
    """https without certificates is refused with etcd's message; half a key pair and
    --client-cert-auth without a CA are refused too."""
    settings: dict[str, Any] = {
        "cert_file": certs.server,
        "key_file": certs.server_key,
        "trusted_ca_file": certs.ca,
        "client_cert_auth": True,
        **options,
    }
    pattern = "^" + re.escape(message)
    with pytest.raises(ValueError, match=pattern):
        check_tls(["https://127.0.0.1:0"], **settings)
    with pytest.raises(ValueError, match=pattern):
        etcdlite.serve(listen_client_urls=["https://127.0.0.1:0"], **settings)


@pytest.mark.parametrize(
    "options", [{"tls_handshake_timeout": 0.0}, {"tls_max_handshakes": 0}], ids=str
)
def test_handshake_limits_must_be_positive(certs: Certs, options: dict[str, Any]) -> None:
    """A handshake timeout of zero or a cap of no connection is refused."""
    with pytest.raises(ValueError, match="must be positive"):
        _serve(certs, "shared", **options)


def test_mixed_schemes_in_one_group_are_refused(certs: Certs) -> None:
    """The client URLs are all http:// or all https://."""
    with pytest.raises(ValueError, match="all http:// or all https://"):
        etcdlite.serve(
            listen_client_urls=["https://127.0.0.1:0", "http://127.0.0.1:0"],
            cert_file=certs.server,
            key_file=certs.server_key,
        )


def test_plain_grpc_with_an_https_gateway(certs: Certs) -> None:
    """The groups may differ: plain gRPC on the client URLs, the gateway over https."""
    with etcdlite.serve(
        listen_client_urls=["http://127.0.0.1:0"],
        listen_client_http_urls=["https://127.0.0.1:0"],
        cert_file=certs.server,
        key_file=certs.server_key,
    ) as server:
        with grpc.insecure_channel(server.address) as channel:
            _rpc.KVStub(channel).Put(rpc_pb2.PutRequest(key=b"k", value=b"v"), timeout=WAIT)
        context = ssl.create_default_context(cafile=certs.ca)  # no client certificate needed
        answer = _post(server.http_urls[0], "/v3/kv/range", {"key": "aw=="}, context)
    assert answer["kvs"][0]["value"] == "dg=="


def test_the_default_listen_address_is_loopback() -> None:
    """`etcdlite serve` and serve() listen on 127.0.0.1 unless told otherwise."""
    args = cli.build_parser().parse_args(["serve"])
    assert args.listen_client_urls == "http://127.0.0.1:2379"
    with etcdlite.serve(port=0) as server:
        assert server.address.startswith("127.0.0.1:")


@pytest.mark.parametrize(
    ("urls", "cert", "warned"),
    [
        (["http://127.0.0.1:2379"], False, 0),
        (["http://localhost:2379", "http://[::1]:2379"], False, 0),
        (["http://0.0.0.0:2379"], False, 1),
        (["http://10.0.0.5:2379", "http://127.0.0.1:2379"], False, 1),
        (["http://etcd.example:2379"], False, 1),
        (["https://0.0.0.0:2379"], True, 0),
    ],
)
def test_plain_http_off_loopback_is_warned_about(urls: list[str], cert: bool, warned: int) -> None:
    """Plain HTTP on an address other than loopback gets a warning (etcd TOB-016); https and
    loopback do not."""
    warnings = cli.tls_warnings(urls, cert_file="c.pem" if cert else None, client_cert_auth=False)
    assert len(warnings) == warned
    assert all("not a loopback address" in w for w in warnings)


def test_certificates_on_http_urls_are_ignored_with_etcds_warnings() -> None:
    """As etcd 3.4: certificates and --client-cert-auth given with an http:// URL are ignored
    for it, with a warning each."""
    warnings = cli.tls_warnings(
        ["http://127.0.0.1:2379", "https://127.0.0.1:2380"],
        cert_file="c.pem",
        client_cert_auth=True,
    )
    prefix = "etcdlite: warning: the scheme of client url http://127.0.0.1:2379 is HTTP while"
    files = "key and certificate files are present; ignoring key and certificate files"
    auth = "--client-cert-auth is enabled; ignoring client cert auth for this url"
    assert warnings == [f"{prefix} {files}", f"{prefix} {auth}"]


def test_serve_prints_the_warning_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """`etcdlite serve` prints the warnings on stderr before it serves (refused here by a bad
    option after the warning, so nothing listens)."""
    status = cli.main(["serve", "--listen-client-urls", "http://0.0.0.0:0", "--max-txn-ops", "-1"])
    assert status == 2
    assert "etcdlite: warning: serving plain HTTP on http://0.0.0.0:0" in capsys.readouterr().err


def test_serve_refuses_unreadable_certificates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`etcdlite serve` with a certificate file it cannot read exits 2 with the reason."""
    missing = str(tmp_path / "missing.pem")
    status = cli.main(
        [
            "serve",
            "--listen-client-urls",
            "https://127.0.0.1:0",
            "--cert-file",
            missing,
            "--key-file",
            missing,
        ]
    )
    assert status == 2
    assert "No such file or directory" in capsys.readouterr().err


def test_etcdctl_put_get_with_client_certificates(certs: Certs, tmp_path: Path) -> None:
    """etcdctl 3.4 (--cacert --cert --key, https endpoint) runs put and get against `etcdlite
    serve` with TLS and --client-cert-auth; without --cert/--key it fails."""
    etcdctl = shutil.which("etcdctl")
    assert etcdctl is not None, "etcdctl 3.4 is needed (Debian: etcd-client)"
    command = [
        sys.executable,
        "-m",
        "etcdlite",
        "serve",
        "--listen-client-urls",
        "https://127.0.0.1:0",
        "--cert-file",
        certs.server,
        "--key-file",
        certs.server_key,
        "--trusted-ca-file",
        certs.ca,
        "--client-cert-auth",
    ]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(WAIT)
        assert lines, "the server printed nothing"
        endpoint = lines[0].split(" on ", 1)[1].split(" ", 1)[0]
        assert endpoint.startswith("https://127.0.0.1:")
        tls = ["--cacert", certs.ca, "--cert", certs.client, "--key", certs.client_key]
        base = [etcdctl, f"--endpoints={endpoint}", "--command-timeout=5s", "--dial-timeout=5s"]
        env = {"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*base, *args], check=False, capture_output=True, text=True, timeout=WAIT, env=env
            )

        put = run(*tls, "put", "foo", "bar")
        assert (put.returncode, put.stdout) == (0, "OK\n"), put.stderr
        get = run(*tls, "get", "foo")
        assert (get.returncode, get.stdout) == (0, "foo\nbar\n"), get.stderr
        refused = run("--cacert", certs.ca, "get", "foo")
        assert refused.returncode != 0
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=WAIT)


def test_gateway_streams_and_large_bodies_over_https(server: Server, certs: Certs) -> None:
    """A watch stream over the https gateway gets its events while its connection stays open
    (reads and writes cross the TLS session at once), and a request and an answer of many TLS
    records arrive whole."""
    value = bytes(range(256)) * 4096  # 1 MiB
    context = _client_context(certs)
    url = _gateway_url(server)
    body = {"key": "YmlnCg==", "value": base64.b64encode(value).decode()}
    _post(url, "/v3/kv/put", body, context)
    answer = _post(url, "/v3/kv/range", {"key": body["key"]}, context)
    assert base64.b64decode(answer["kvs"][0]["value"]) == value
    with _channel(server, certs) as channel:
        kv = _rpc.KVStub(channel)
        got = kv.Range(rpc_pb2.RangeRequest(key=b"big\n"), timeout=WAIT).kvs[0].value
        assert got == value
        host, port = url.removeprefix("https://").rsplit(":", 1)
        connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=WAIT)
        try:
            watch = json.dumps({"create_request": {"key": "dw=="}})  # b"w"
            connection.request("POST", "/v3/watch", body=watch)
            response = connection.getresponse()
            assert response.status == 200
            created = json.loads(response.readline())
            assert created["result"]["created"] is True
            kv.Put(rpc_pb2.PutRequest(key=b"w", value=b"1"), timeout=WAIT)
            event = json.loads(response.readline())
            assert event["result"]["events"][0]["kv"]["value"] == "MQ=="
        finally:
            connection.close()


@pytest.fixture
def tls_backend(certs: Certs) -> Iterator[Callable[[socket.socket], None]]:
    """The gRPC transport's stand-in: takes a connection over (nothing of it read yet), does
    the TLS handshake (ALPN h2) and answers its first line with ``grpc:`` and the line."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.server, certs.server_key)
    context.set_alpn_protocols(["h2"])
    threads: list[threading.Thread] = []

    def answer(conn: socket.socket) -> None:
        try:
            with context.wrap_socket(conn, server_side=True) as secure:
                secure.sendall(b"grpc:" + secure.makefile("rb").readline())
        except OSError:
            pass

    def take(conn: socket.socket) -> None:
        conn.settimeout(WAIT)
        thread = threading.Thread(target=answer, args=(conn,), daemon=True)
        threads.append(thread)
        thread.start()

    try:
        yield take
    finally:
        for thread in threads:
            thread.join(WAIT)


@pytest.mark.parametrize("front", [True, False], ids=["front-process", "in-process"])
def test_listener_routes_tls_by_alpn(
    certs: Certs, tls_backend: Callable[[socket.socket], None], front: bool
) -> None:
    """The listener, in the front process or in this one, hands a ClientHello offering h2
    alone to gRPC unread (gRPC does the handshake), and handshakes any other for the gateway,
    which gets the client's CN; a connection that is no TLS is closed."""

    def serve_http(conn: socket.socket, address: Any) -> None:
        raise AssertionError("a TLS listener served plain HTTP")

    def serve_https(conn: socket.socket, address: Any, common_name: str | None) -> None:
        line = conn.makefile("rb").readline()
        conn.sendall(f"http:{common_name}:".encode() + line)

    tls = TLS(server_context(certs.server, certs.server_key, certs.ca), 5.0, 8)
    listener = Listener(
        [("127.0.0.1", 0)],
        serve_http=serve_http,
        serve_grpc=tls_backend,
        tls=tls,
        serve_https=serve_https,
        front_process=front,
    )
    listener.start()
    try:
        address = listener.addresses[0]
        for alpn, expected in ((["h2"], b"grpc:hi\n"), (["http/1.1"], b"http:alice:hi\n")):
            context = _client_context(certs)
            context.set_alpn_protocols(alpn)
            with (
                socket.create_connection(address, timeout=WAIT) as raw,
                context.wrap_socket(raw, server_hostname="localhost") as secure,
            ):
                secure.sendall(b"hi\n")
                assert secure.makefile("rb").readline() == expected
        with socket.create_connection(address, timeout=WAIT) as plain:
            plain.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            assert _ends(plain)
    finally:
        listener.close()


def test_the_client_certificate_cn_is_the_user_under_auth(certs: Certs, layout: str) -> None:
    """With --client-cert-auth and auth on, a call without a token runs as the certificate's
    CN ("alice"): her role's keys are allowed over gRPC and the gateway, others refused."""
    store = etcdlite.Store(password_hash_cost=1)
    store.user_add("root", "rootpw")
    store.user_grant_role("root", "root")
    store.role_add("app")
    store.role_grant_permission("app", "app/", perm_type="readwrite", prefix=True)
    store.user_add("alice", no_password=True)
    store.user_grant_role("alice", "app")
    store.auth_enable()
    with _serve(certs, layout, store=store) as server, _channel(server, certs) as channel:
        kv = _rpc.KVStub(channel)
        kv.Put(rpc_pb2.PutRequest(key=b"app/x", value=b"1"), timeout=WAIT)
        with pytest.raises(grpc.RpcError) as denied:
            kv.Put(rpc_pb2.PutRequest(key=b"other", value=b"1"), timeout=WAIT)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        answer = _post(
            _gateway_url(server), "/v3/kv/range", {"key": "YXBwL3g="}, _client_context(certs)
        )
        assert answer["kvs"][0]["value"] == "MQ=="  # b"1"
    assert store.get("other").count == 0
    store.close()
