"""The response types of etcd's ``Maintenance`` service, frozen like the KV ones in
:mod:`etcdlite._model`: HashKV, Status, Alarm and Defragment.

>>> from etcdlite import ResponseHeader
>>> HashKVResponse(ResponseHeader(revision=4), hash=1562576432, compact_revision=-1).hash
1562576432
>>> AlarmMember(7, to_alarm_type("nospace"))
AlarmMember(member_id=7, alarm=<AlarmType.NOSPACE: 1>)
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

from ._model_repr import response_repr

if TYPE_CHECKING:
    from ._model import ResponseHeader

__all__ = (
    "AlarmMember",
    "AlarmResponse",
    "AlarmType",
    "DefragmentResponse",
    "HashKVResponse",
    "StatusResponse",
    "to_alarm_type",
)


@attrs.frozen(weakref_slot=False)
class HashKVResponse:
    """etcdserverpb.HashKVResponse: the CRC-32C of the key history up to the asked revision
    (``hash``, the same number etcd 3.4 computes for the same history) and the store's
    ``compact_revision`` (-1 if it was never compacted). The header is at the current revision.
    """

    header: ResponseHeader
    hash: int
    compact_revision: int

    __repr__ = response_repr


class AlarmType(enum.IntEnum):
    """etcdserverpb.AlarmType: ``NOSPACE`` (the backend quota is exhausted: puts and lease
    grants are refused) and ``CORRUPT`` (the data is corrupt: every write is refused).
    ``NONE`` stands for "any type" when listing."""

    NONE = 0
    NOSPACE = 1
    CORRUPT = 2


def to_alarm_type(value: object) -> AlarmType:
    """An :class:`AlarmType` from itself, its number or its name (any case).

    >>> to_alarm_type("corrupt"), to_alarm_type(1)
    (<AlarmType.CORRUPT: 2>, <AlarmType.NOSPACE: 1>)
    """
    if isinstance(value, AlarmType):
        return value
    try:
        if isinstance(value, str):
            return AlarmType[value.upper()]
        if isinstance(value, int) and not isinstance(value, bool):
            return AlarmType(value)
    except (KeyError, ValueError):
        raise ValueError(f"unknown alarm type {value!r}") from None
    raise TypeError(f"alarm must be str or AlarmType, not {type(value).__name__}")


@attrs.frozen(weakref_slot=False)
class AlarmMember:
    """etcdserverpb.AlarmMember: an alarm of type ``alarm`` raised for member ``member_id``."""

    member_id: int
    alarm: AlarmType


@attrs.frozen(weakref_slot=False)
class AlarmResponse:
    """etcdserverpb.AlarmResponse: the alarms listed, raised or disarmed by the request."""

    header: ResponseHeader
    alarms: tuple[AlarmMember, ...] = ()

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class StatusResponse:
    """etcdserverpb.StatusResponse for this single member.

    ``version`` is the etcd version the store's ``compat`` profile follows; ``db_size`` and
    ``db_size_in_use`` are the store's size estimate (see ``docs/maintenance.md``); this member
    is the ``leader``; ``raft_index`` and ``raft_applied_index`` are the store's revision (one
    raft entry per write); ``errors`` lists each raised alarm as etcd writes it
    (``"memberID:<id> alarm:NOSPACE "``).
    """

    header: ResponseHeader
    version: str
    db_size: int
    leader: int
    raft_index: int
    raft_term: int
    raft_applied_index: int
    errors: tuple[str, ...] = ()
    db_size_in_use: int = 0
    is_learner: bool = False

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class DefragmentResponse:
    """etcdserverpb.DefragmentResponse: just the header."""

    header: ResponseHeader

    __repr__ = response_repr
