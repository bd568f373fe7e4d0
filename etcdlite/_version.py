"""The one version source (read by hatchling and by ``etcdlite.__version__``)."""

from __future__ import annotations

__version__ = "0.1.0.dev0"
