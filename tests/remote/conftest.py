"""Fixtures for the remote client's own tests: a fresh real etcd and a client connected to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from conformance._etcd import running_etcd

import etcdlite

if TYPE_CHECKING:
    from collections.abc import Iterator

    from etcdlite.remote import Client


@pytest.fixture
def etcd_url() -> Iterator[str]:
    """The client URL of a fresh single-member etcd, stopped when the test ends."""
    with running_etcd() as proc:
        yield proc.url


@pytest.fixture
def client(etcd_url: str) -> Iterator[Client]:
    """``etcdlite.connect()`` to that etcd, closed when the test ends."""
    with etcdlite.connect(etcd_url) as c:
        yield c
