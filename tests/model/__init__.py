"""Model-based (differential) tests: the Store against a small reference model of etcd."""

from __future__ import annotations
