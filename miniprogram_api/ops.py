"""Operations endpoints: health, readiness, metrics, the OpenAPI document and its page."""

from __future__ import annotations

import logging
import time
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel

from app.notify.delivery import outbox_counts
from miniprogram_api.auth import runtime
from miniprogram_api.errors import envelope
from miniprogram_api.openapi import build_openapi
from miniprogram_api.registry import endpoint

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)

# One registry per process; the API's own series only (no default process collectors to keep
# the page small and identical under test).
REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "linli_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "linli_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "endpoint"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

OUTBOX = Gauge(
    "linli_outbox_messages", "Outbox messages by delivery status (dead > 0 needs a look)", ["status"], registry=REGISTRY
)

_DOCS_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Linli 邻里 API</title>
<style>body{font:14px/1.5 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
code{background:#f3f3f3;padding:0 .3em}h2{border-bottom:1px solid #ddd}
.op{margin:.6em 0}.m{display:inline-block;width:4em;font-weight:bold}pre{background:#f7f7f7;padding:.5em;overflow:auto}
</style></head><body><h1>Linli 邻里 API</h1>
<p>机器可读的文档：<a href="/openapi.json">/openapi.json</a>（OpenAPI 3.1）。</p><div id="ops">加载中…</div>
<script>
// Self-contained on purpose: the page must work on a laptop with no internet access.
fetch('/openapi.json').then(r => r.json()).then(doc => {
  const root = document.getElementById('ops'); root.textContent = '';
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const div = document.createElement('div'); div.className = 'op';
      const head = document.createElement('div');
      head.innerHTML = '<span class="m"></span><code></code> ';
      head.children[0].textContent = method.toUpperCase(); head.children[1].textContent = path;
      head.append(op.summary || '');
      const details = document.createElement('details'); const summary = document.createElement('summary');
      summary.textContent = '详情'; const pre = document.createElement('pre');
      pre.textContent = JSON.stringify(op, null, 2); details.append(summary, pre);
      div.append(head, details); root.append(div);
    }
  }
});
</script></body></html>"""


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str
    database: str


@endpoint(bp, "/healthz", method="GET", summary="存活检查", response=HealthOut, auth=False, operation_id="getHealth")
def healthz() -> HealthOut:
    """Liveness: the process answers."""
    return HealthOut(status="ok")


@endpoint(
    bp,
    "/readyz",
    method="GET",
    summary="就绪检查（数据库可用）",
    response=ReadyOut,
    auth=False,
    errors=(503,),
    operation_id="getReadiness",
)
def readyz() -> ReadyOut | tuple[Response, int]:
    """Readiness: the database answers a trivial query."""
    try:
        with runtime().db.read() as session:
            session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        log.exception("readiness check: database unavailable")
        return envelope(503, "database_unavailable", "数据库暂时不可用")
    return ReadyOut(status="ok", database="ok")


@endpoint(
    bp,
    "/metrics",
    method="GET",
    summary="Prometheus 指标",
    auth=False,
    content_type="text/plain",
    operation_id="getMetrics",
)
def metrics() -> Response:
    try:
        for status, count in outbox_counts(runtime()).items():
            OUTBOX.labels(status).set(count)
    except sa.exc.SQLAlchemyError:
        log.warning("metrics: outbox counts unavailable", exc_info=True)
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)


_OPENAPI_CACHE: dict[str, Any] = {}


@endpoint(bp, "/openapi.json", method="GET", summary="本文档（OpenAPI 3.1）", auth=False, operation_id="getOpenApi")
def openapi() -> Response:
    if "doc" not in _OPENAPI_CACHE:
        _OPENAPI_CACHE["doc"] = build_openapi()
    return jsonify(_OPENAPI_CACHE["doc"])


@endpoint(
    bp,
    "/docs",
    method="GET",
    summary="浏览 API 文档的网页",
    auth=False,
    content_type="text/html",
    operation_id="getDocs",
)
def docs() -> Response:
    return Response(_DOCS_PAGE, mimetype="text/html")


def install_metrics(app: Flask) -> None:
    """Count and time every request, labelled by route (not raw path, to bound cardinality)."""

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("started")
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        if started is not None:
            LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)
        return response
