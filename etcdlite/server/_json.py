"""Proto3 JSON as etcd's grpc-gateway (v1, etcd 3.4) reads and writes it.

Reading is ``json_format.ParseDict(..., ignore_unknown_fields=True)`` (proto or lowerCamel
names, enums by name or number, int64 as string or number, unknown fields ignored) after
:func:`check_bytes` has held every ``bytes`` field to Go's standard base64, which is stricter
than protobuf's Python parser (that one takes URL-safe, unpadded and even empty-decoding text).
Writing is ``MessageToDict(preserving_proto_field_name=True)``: proto names, int64 as strings,
defaults omitted, enums by name; compact separators as Go writes.

>>> from etcdlite.server._pb import rpc_pb2
>>> parse(rpc_pb2.RangeRequest, {"key": "Zm9v", "rangeEnd": "Zm9w", "limit": 2}).range_end
b'fop'
>>> dumps(rpc_pb2.PutResponse(header=rpc_pb2.ResponseHeader(revision=2)))
'{"header":{"revision":"2"}}'
>>> check_bytes(rpc_pb2.RangeRequest.DESCRIPTOR, {"key": "Zm9"})
'illegal base64 data at input byte 0'
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor

if TYPE_CHECKING:
    from google.protobuf.message import Message

__all__ = ("ParseFailure", "check_bytes", "dumps", "parse", "to_dict")

_M = TypeVar("_M", bound="Message")

_STD_ALPHABET = re.compile(rb"[A-Za-z0-9+/]*")


class ParseFailure(ValueError):
    """A request body the gateway refuses (code INVALID_ARGUMENT, HTTP 400)."""


def _base64_error(text: str) -> str | None:
    """Go's ``encoding/base64`` StdEncoding error for ``text``, or ``None`` if it decodes."""
    data = text.encode("utf-8", "surrogatepass")
    body = data.rstrip(b"=")
    pad = len(data) - len(body)
    good = _STD_ALPHABET.match(body)
    assert good is not None
    if good.end() < len(body):
        return f"illegal base64 data at input byte {good.end()}"
    if len(data) % 4 or pad > 2 or (pad and len(body) % 4 in (0, 1)):
        return f"illegal base64 data at input byte {len(body) - len(body) % 4}"
    return None


def check_bytes(descriptor: Any, obj: object) -> str | None:
    """The first ``bytes`` field of ``obj`` (JSON for a message of ``descriptor``) that is not
    standard padded base64, as Go's message; ``None`` if all are."""
    if not isinstance(obj, dict):
        return None
    for name, value in obj.items():
        field = descriptor.fields_by_name.get(name) or descriptor.fields_by_camelcase_name.get(name)
        if field is None or value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            if field.type == FieldDescriptor.TYPE_BYTES and isinstance(v, str):
                error = _base64_error(v)
            elif field.message_type is not None:
                error = check_bytes(field.message_type, v)
            else:
                error = None
            if error is not None:
                return error
    return None


def parse(cls: type[_M], obj: object) -> _M:
    """``obj`` (decoded JSON) as a ``cls`` request; :class:`ParseFailure` says why not."""
    if not isinstance(obj, dict):
        raise ParseFailure(
            f"json: cannot unmarshal {type(obj).__name__} into Go value of type "
            "map[string]json.RawMessage"
        )
    message = cls()
    try:
        error = check_bytes(cls.DESCRIPTOR, obj)
        if error is not None:
            raise ParseFailure(error)
        json_format.ParseDict(obj, message, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise ParseFailure(str(exc)) from None
    except RecursionError:  # nesting deeper than Python's stack: Go's decoder stops too
        raise ParseFailure("exceeded max depth") from None
    return message


def to_dict(message: Message) -> dict[str, Any]:
    """``message`` as the gateway writes it (before serializing)."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def dumps(message: Message) -> str:
    """``message`` as one line of the gateway's JSON."""
    return json.dumps(to_dict(message), separators=(",", ":"))
