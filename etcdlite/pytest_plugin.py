"""etcdlite's pytest plugin: fixtures for code that uses etcd (registered as ``pytest11``).

Installing etcdlite makes these fixtures available to every test suite:

* ``etcd_clock``: a :class:`~etcdlite.testing.FakeClock`; lease expiry and keep-alives happen
  when the test calls ``etcd_clock.advance(seconds)``, never by sleeping;
* ``etcd_store``: a fresh in-process :class:`~etcdlite.Store` on that clock (revision 1, no
  keys), closed after the test;
* ``etcd_endpoint``: that store served on a free 127.0.0.1 port, gRPC and the JSON gateway
  (extra ``grpc``), for code that uses etcdctl, python-etcd3, etcd3gw or any etcd client:
  ``etcd_endpoint.address`` is ``"127.0.0.1:PORT"``, ``etcd_endpoint.url`` the client URL.

``pytest --etcd=real`` (or ``ETCDLITE_ETCD=real``) runs the same tests against a real etcd
instead, to check them against the real thing: every test gets a fresh etcd (the ``etcd``
binary on ``PATH``, or ``--etcd-binary``), ``etcd_store`` is :func:`etcdlite.connect` to it and
``etcd_endpoint`` its address. A test that takes ``etcd_clock`` is skipped there, with the
reason: a real etcd keeps its own time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from ._store import Store as _Store
from .testing import FakeClock as _FakeClock

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("Endpoint", "etcd_clock", "etcd_endpoint", "etcd_store", "pytest_addoption")

#: How long a real etcd gets to answer after it starts.
_START_SECONDS = 20.0


@dataclass(frozen=True)
class Endpoint:
    """Where a test's etcd listens: ``address`` is ``"host:port"``, ``url`` ``"http://host:port"``
    (gRPC and the JSON gateway on both, as etcd serves them)."""

    address: str

    @property
    def url(self) -> str:
        return f"http://{self.address}"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("etcdlite")
    group.addoption(
        "--etcd",
        choices=("store", "real"),
        default=None,
        help="what etcd_store and etcd_endpoint are: an etcdlite Store (default) or a fresh "
        "real etcd per test (also ETCDLITE_ETCD=real)",
    )
    group.addoption(
        "--etcd-binary",
        default=None,
        help="the etcd binary for --etcd=real (default: etcd on PATH)",
    )


def _mode(config: pytest.Config) -> str:
    return str(config.getoption("--etcd") or os.environ.get("ETCDLITE_ETCD") or "store")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1.0) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextlib.contextmanager
def _real_etcd(binary: str | None) -> Iterator[Endpoint]:
    """A fresh single-member etcd on free 127.0.0.1 ports, stopped when the block ends."""
    path = binary or shutil.which("etcd")
    if path is None or not os.access(path, os.X_OK):
        where = f"at {path}" if path else "on PATH (or give --etcd-binary)"
        pytest.fail(f"--etcd=real needs an etcd binary: none {where}", pytrace=False)
    with tempfile.TemporaryDirectory(prefix="etcdlite-pytest-") as tmp:
        client, peer = f"http://127.0.0.1:{_free_port()}", f"http://127.0.0.1:{_free_port()}"
        log = open(os.path.join(tmp, "etcd.log"), "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [
                path,
                "--name=test",
                f"--data-dir={os.path.join(tmp, 'data')}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=test={peer}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + _START_SECONDS
            while not _answers(client):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"etcd did not start: see {tmp}/etcd.log", pytrace=False)
                time.sleep(0.05)
            yield Endpoint(client.removeprefix("http://"))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            log.close()


@pytest.fixture
def etcd_clock(request: pytest.FixtureRequest) -> _FakeClock:
    """A fake clock the test moves (``advance``); the store of ``etcd_store`` runs on it."""
    if _mode(request.config) == "real":
        pytest.skip("uses the fake clock: a real etcd (--etcd=real) keeps its own time")
    return _FakeClock()


@pytest.fixture
def _etcd_real(request: pytest.FixtureRequest) -> Iterator[Endpoint | None]:
    if _mode(request.config) != "real":
        yield None
        return
    with _real_etcd(request.config.getoption("--etcd-binary")) as endpoint:
        yield endpoint


@pytest.fixture
def etcd_store(request: pytest.FixtureRequest, _etcd_real: Endpoint | None) -> Iterator[Any]:
    """A fresh store: an etcdlite ``Store`` on ``etcd_clock``, or with ``--etcd=real`` a client
    of a fresh real etcd (:func:`etcdlite.connect`), which has the same methods."""
    if _etcd_real is not None:
        from . import connect

        with connect(_etcd_real.url) as client:
            yield client
        return
    clock = request.getfixturevalue("etcd_clock")
    store = _Store(clock=clock)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def etcd_endpoint(
    request: pytest.FixtureRequest, _etcd_real: Endpoint | None
) -> Iterator[Endpoint]:
    """Where etcd clients reach the test's store: ``etcd_store`` served on a free port (gRPC
    and the JSON gateway), or with ``--etcd=real`` the real etcd."""
    if _etcd_real is not None:
        yield _etcd_real
        return
    from .server import serve

    store = request.getfixturevalue("etcd_store")
    with serve(store, port=0) as server:
        yield Endpoint(server.address)
