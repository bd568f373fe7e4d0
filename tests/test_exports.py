"""The public surface: __all__ lists exactly what each public module means to export."""

from __future__ import annotations

import importlib
import types

import pytest

PUBLIC_MODULES = [
    "etcdlite",
    "etcdlite.errors",
    "etcdlite.concurrency",
    "etcdlite.mirror",
    "etcdlite.namespace",
    "etcdlite.pytest_plugin",
    "etcdlite.remote",
    "etcdlite.testing",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_a_sorted_tuple_of_defined_names(name: str) -> None:
    """__all__ is a tuple; every name in it exists; nothing public is left out."""
    module = importlib.import_module(name)
    exported = module.__all__
    assert isinstance(exported, tuple)
    assert len(set(exported)) == len(exported)
    for attr in exported:
        assert hasattr(module, attr), attr
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and not isinstance(value, types.ModuleType)
        and attr not in {"annotations", "TYPE_CHECKING", "ClassVar"}
        and getattr(value, "__module__", name).startswith("etcdlite")
    }
    assert public <= set(exported) | {"enum"}, public - set(exported)


def test_public_classes_come_from_private_modules_and_say_so() -> None:
    """Re-exported names are the same objects as their private definitions."""
    import etcdlite
    from etcdlite import _model, _model_maintenance, _store

    assert etcdlite.Store is _store.Store
    assert etcdlite.KeyValue is _model.KeyValue
    assert etcdlite.StatusResponse is _model_maintenance.StatusResponse
    assert etcdlite.AlarmType is _model_maintenance.AlarmType
    assert etcdlite.errors.EtcdError is etcdlite.EtcdError


def test_import_pulls_no_grpc() -> None:
    """import etcdlite never imports grpc (the server is an optional extra)."""
    import subprocess
    import sys

    code = "import sys, etcdlite; print('grpc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
