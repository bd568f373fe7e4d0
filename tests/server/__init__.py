"""Tests of etcdlite.server: protocol files, servicers and gateway."""

from __future__ import annotations
