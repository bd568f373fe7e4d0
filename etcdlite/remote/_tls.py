"""TLS for a remote client: which certificates to trust and which to show (``connect(tls=...)``).

``tls`` is ``None`` or ``False`` (plain gRPC, ``http://`` endpoints), ``True`` (TLS, trusting
the system's certificate authorities) or a :class:`TLS`: the CA that signed etcd's server
certificate (etcd's ``--trusted-ca-file`` on the client side), and a client certificate and
key for an etcd started with ``--client-cert-auth`` (etcdctl's ``--cacert``, ``--cert``,
``--key``). ``https://`` endpoints need TLS and ``http://`` ones refuse it, so a URL never
says something the connection does not do.

>>> TLS(ca_file="ca.pem", cert_file="client.pem", key_file="client-key.pem")
TLS(ca_file='ca.pem', cert_file='client.pem', key_file='client-key.pem', server_name=None)
>>> TLS(cert_file="client.pem")
Traceback (most recent call last):
    ...
ValueError: a client certificate needs both cert_file and key_file
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import grpc

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("TLS", "channel_credentials", "channel_options", "tls_config")


def _check_pair(instance: TLS, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if (instance.cert_file is None) != (instance.key_file is None):
        raise ValueError("a client certificate needs both cert_file and key_file")


@attrs.frozen
class TLS:
    """How a client speaks TLS to etcd: ``connect(url, tls=TLS(...))``.

    - ``ca_file``: PEM file of the certificate authorities that signed etcd's server
      certificate (``None``: the system's);
    - ``cert_file`` and ``key_file``: PEM files of a client certificate and its key, for an
      etcd started with ``--client-cert-auth`` (both or neither);
    - ``server_name``: the name to check etcd's certificate against, when it is not the
      endpoint's host (etcdctl has no such flag; gRPC's ``ssl_target_name_override``).

    The files are read when the client is made (``OSError`` if one cannot be read).
    """

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = attrs.field(default=None, validator=_check_pair)
    server_name: str | None = None


def tls_config(tls: TLS | bool | None) -> TLS | None:
    """``tls`` as :func:`~etcdlite.connect` takes it, as a :class:`TLS` or ``None`` (plain).

    >>> tls_config(True), tls_config(False)
    (TLS(ca_file=None, cert_file=None, key_file=None, server_name=None), None)
    """
    if tls is None or tls is False:
        return None
    if tls is True:
        return TLS()
    if not isinstance(tls, TLS):
        raise TypeError(
            f"tls must be None, a bool or etcdlite.remote.TLS, not {type(tls).__name__}"
        )
    return tls


def _read(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


def channel_credentials(tls: TLS) -> grpc.ChannelCredentials:
    """gRPC's credentials for ``tls`` (the files are read now)."""
    return grpc.ssl_channel_credentials(
        root_certificates=_read(tls.ca_file),
        private_key=_read(tls.key_file),
        certificate_chain=_read(tls.cert_file),
    )


def channel_options(tls: TLS | None) -> Sequence[tuple[str, str]]:
    """The channel options ``tls`` adds (the name etcd's certificate is checked against)."""
    if tls is None or tls.server_name is None:
        return ()
    return (("grpc.ssl_target_name_override", tls.server_name),)
