"""Maintenance over etcd's ``Maintenance`` service: ``status``, ``defragment`` and the
alarms, with the Store's names, signatures and response types (``hash_kv`` is with the KV
calls).

``status`` and ``defragment`` go to the endpoint in use (:attr:`Client.target`), as clientv3's
take an endpoint: each member answers for itself. ``Status`` and ``Alarm`` are resent on the
next endpoint when one does not answer, ``Defragment`` is not (clientv3's policies, see
:mod:`._endpoints`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._model_maintenance import AlarmResponse, DefragmentResponse, to_alarm_type
from ..server._convert import header_from_pb
from ..server._pb import rpc_pb2
from ._base import Calls
from ._convert import alarm_response_from_pb, status_response_from_pb

if TYPE_CHECKING:
    from .._model_maintenance import AlarmType, StatusResponse

__all__ = ("MaintenanceCalls",)

_GET, _ACTIVATE, _DEACTIVATE = (
    rpc_pb2.AlarmRequest.GET,
    rpc_pb2.AlarmRequest.ACTIVATE,
    rpc_pb2.AlarmRequest.DEACTIVATE,
)


class MaintenanceCalls(Calls):
    """The maintenance calls of a remote client."""

    def status(self) -> StatusResponse:
        """The status of the member in use (etcd ``Status``); see :meth:`etcdlite.Store.status`.
        ``leader`` is the cluster's leader's member id, ``header.member_id`` this member's."""
        pb = self._call(lambda s: s.maintenance.Status, rpc_pb2.StatusRequest(), safe=True)
        return status_response_from_pb(pb)

    def defragment(self) -> DefragmentResponse:
        """Defragment the member in use's backend (etcd ``Defragment``)."""
        request = rpc_pb2.DefragmentRequest()
        pb = self._call(lambda s: s.maintenance.Defragment, request, safe=False)
        return DefragmentResponse(header_from_pb(pb.header))

    def alarm_list(self, alarm: AlarmType | str | int = "NONE") -> AlarmResponse:
        """The raised alarms, every one or those of type ``alarm``; see
        :meth:`etcdlite.Store.alarm_list`."""
        return self._alarm(_GET, alarm, 0)

    def alarm_activate(
        self, alarm: AlarmType | str | int, *, member_id: int | None = None
    ) -> AlarmResponse:
        """Raise ``alarm`` for ``member_id`` (the member in use by default); see
        :meth:`etcdlite.Store.alarm_activate`."""
        return self._alarm(_ACTIVATE, alarm, self._member(member_id))

    def alarm_disarm(
        self, alarm: AlarmType | str | int | None = None, *, member_id: int | None = None
    ) -> AlarmResponse:
        """Disarm alarms: without arguments every raised one (one request each, as clientv3's
        ``AlarmDisarm`` with an empty member does), else ``alarm`` of ``member_id`` (the member
        in use by default); see :meth:`etcdlite.Store.alarm_disarm`. The answer lists what was
        disarmed."""
        if alarm is None and member_id is None:
            raised = self.alarm_list()
            disarmed = [self._alarm(_DEACTIVATE, a.alarm, a.member_id) for a in raised.alarms]
            header = disarmed[-1].header if disarmed else raised.header
            return AlarmResponse(header, tuple(a for r in disarmed for a in r.alarms))
        kind = "NONE" if alarm is None else alarm
        return self._alarm(_DEACTIVATE, kind, self._member(member_id))

    def _member(self, member_id: int | None) -> int:
        return self.status().header.member_id if member_id is None else member_id

    def _alarm(
        self, action: rpc_pb2.AlarmRequest.AlarmAction, alarm: AlarmType | str | int, member_id: int
    ) -> AlarmResponse:
        request = rpc_pb2.AlarmRequest(
            action=action, alarm=to_alarm_type(alarm).name, memberID=member_id
        )
        pb = self._call(lambda s: s.maintenance.Alarm, request, safe=True)
        return alarm_response_from_pb(pb)
