"""Tests of watch: the hub, its two faces, the waiting bridge, the clock, and etcd conformance."""

from __future__ import annotations
