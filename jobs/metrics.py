"""The job process's own Prometheus figures, served on ``metrics.jobs_port`` (0: not served).

A job process is one process, so plain in-memory values and prometheus_client's small HTTP server
are enough; each job process is a scrape target of its own (docs/operations.md, Metrics).
"""

from __future__ import annotations

import logging
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from app.core.config import Settings

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()

JOB_RUNS = Counter("linli_job_runs_total", "Job firings run by this process", ["job"], registry=REGISTRY)
JOB_FAILURES = Counter(
    "linli_job_failures_total", "Job firings that raised (logged as 'job … failed')", ["job"], registry=REGISTRY
)
JOB_SKIPPED = Counter(
    "linli_job_skipped_total",
    "Exclusive job firings left alone because another process had claimed their slot",
    ["job"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "linli_job_duration_seconds",
    "Time one job firing took",
    ["job"],
    registry=REGISTRY,
    # From the 2 s outbox poll with nothing to do up to a retention run over a year of orders.
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800),
)
JOB_LAST_SUCCESS = Gauge(
    "linli_job_last_success_timestamp_seconds",
    "When a firing of the job last finished without raising (Unix time)",
    ["job"],
    registry=REGISTRY,
)
OUTBOX_DELIVERIES = Counter(
    "linli_outbox_deliveries_total",
    "Outbox messages handled by this process's delivery runs, by outcome",
    ["outcome"],
    registry=REGISTRY,
)
#: The outcomes of a delivery run (``DeliveryReport``'s counts), each a label of OUTBOX_DELIVERIES.
OUTBOX_OUTCOMES = ("sent", "retried", "skipped", "rerouted", "dead", "deferred")

for _outcome in OUTBOX_OUTCOMES:
    # Present at 0 from the start, so that rate() and "dead increased" alerts work from the first scrape.
    OUTBOX_DELIVERIES.labels(_outcome)


def serve_metrics(settings: Settings) -> WSGIServer | None:
    """Start the /metrics server of this job process in a daemon thread, or None if the port is 0."""
    cfg = settings.metrics
    if cfg.jobs_port == 0:
        return None
    server, _thread = start_http_server(cfg.jobs_port, addr=cfg.jobs_host, registry=REGISTRY)
    log.info("job metrics on http://%s:%s/metrics", cfg.jobs_host, server.server_port)
    return server


def stop_metrics(server: WSGIServer | None) -> None:
    """Stop the server of :func:`serve_metrics` and free its port."""
    if server is not None:
        server.shutdown()  # waits for serve_forever, in its own thread, to return
        server.server_close()
