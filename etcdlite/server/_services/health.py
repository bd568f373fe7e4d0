"""grpc.health.v1.Health: the server is SERVING while it runs."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .._pb import health_pb2
from ._common import POLL_SECONDS

if TYPE_CHECKING:
    from collections.abc import Iterator

    import grpc

__all__ = ("HealthService",)

_SERVING = health_pb2.HealthCheckResponse.SERVING


class HealthService:
    """Health checks: every service is SERVING."""

    def Check(
        self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        return health_pb2.HealthCheckResponse(status=_SERVING)

    def Watch(
        self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext
    ) -> Iterator[health_pb2.HealthCheckResponse]:
        yield health_pb2.HealthCheckResponse(status=_SERVING)
        ended = threading.Event()
        context.add_callback(ended.set)
        while context.is_active() and not ended.wait(POLL_SECONDS):
            pass
