"""The worker's telemetry: the Temporal SDK's Prometheus exporter, when an address is set.

It serves the SDK's worker and client metrics (task latencies, slots, polls,
failures) and the workflows' own counters (`workflows.metrics`) on
`http://<OMS_WORKER_METRICS_ADDRESS>/metrics`. One runtime per process: the
exporter binds its port once.
"""

from __future__ import annotations

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from config.settings import Settings


def worker_runtime(settings: Settings) -> Runtime | None:
    """A runtime exporting metrics on the configured address; None keeps the SDK's default."""
    if not settings.worker_metrics_address:
        return None
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=settings.worker_metrics_address)
        )
    )
