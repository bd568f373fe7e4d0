"""One conformance suite, two backends: etcdlite's ``Store`` and a real etcd 3.4."""

from __future__ import annotations
