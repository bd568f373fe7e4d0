"""Scripts that drive real etcd clients (python-etcd3, aetcd) in a subprocess each."""

from __future__ import annotations
