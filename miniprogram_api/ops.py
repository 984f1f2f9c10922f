"""Operations endpoints: health, readiness, metrics, the OpenAPI document and its page."""

from __future__ import annotations

import functools
import importlib.resources
import logging
import os
import secrets
import string
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, abort, g, jsonify, request, send_from_directory, url_for
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from pydantic import BaseModel

from app.core.config import LimitsSection
from app.notify.delivery import outbox_counts
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.errors import envelope
from miniprogram_api.openapi import build_openapi
from miniprogram_api.registry import endpoint

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)

# The API's own series only (no default process collectors, to keep the page small and identical
# under test). In one process (`linli run`, the tests) /metrics reads this registry. Under
# `linli serve` PROMETHEUS_MULTIPROC_DIR is set before prometheus_client is first imported, so
# these counters write to per-worker files in that directory and /metrics sums the files of every
# worker (MultiProcessCollector), whichever worker answers the scrape.
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


class _Families(Collector):
    """Metric families computed for one scrape (the outbox counts, read from the database)."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def _outbox_family() -> list[Metric]:
    # Counted in the database at each scrape rather than kept in a Gauge: it is a fact of the
    # table, the same whichever worker answers, so it needs no per-worker value and none of
    # prometheus_client's multiprocess gauge modes (which would have to pick one worker's).
    try:
        counts = outbox_counts(runtime())
    except sa.exc.SQLAlchemyError:
        log.warning("metrics: outbox counts unavailable", exc_info=True)
        return []
    family = GaugeMetricFamily(
        "linli_outbox_messages", "Outbox messages by delivery status (dead > 0 needs a look)", labels=["status"]
    )
    for status, count in counts.items():
        family.add_metric([status], count)
    return [family]


def multiprocess_dir() -> str | None:
    """The directory gunicorn's workers share their figures in, or None in a single process."""
    # prometheus_client's own variable (set by `linli serve`), not a Linli setting.
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


# Swagger UI's files come from the flask-swagger-ui package, which ships them inside its wheel and
# follows each Swagger UI release within about a week (its version is Swagger UI's). We use only
# those files, not its blueprint: the page below is ours, so the route is declared with
# `endpoint` like every other, 404s keep our error envelope, and the viewer's settings that would
# reach the internet (the online validator badge) are switched off. swagger-ui-bundle was the
# other candidate; its last release is years behind Swagger UI.
_SWAGGER_UI = Path(str(importlib.resources.files("flask_swagger_ui") / "dist"))
#: What the page loads; nothing else in that folder is served.
_DOCS_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})

_DOCS_PAGE = string.Template("""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Linli 邻里 API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="$css"><link rel="icon" type="image/png" href="$icon">
<style>body{margin:0}</style>
</head><body>
<noscript>本页需要 JavaScript。机器可读的文档：<a href="$spec">$spec</a>（OpenAPI 3.1）。</noscript>
<div id="swagger-ui"></div>
<script src="$bundle"></script>
<script nonce="$nonce">
// Everything is served by this app, so the page works on a laptop with no internet access.
window.ui = SwaggerUIBundle({
  url: "$spec",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  displayOperationId: true,
  // The default asks validator.swagger.io to judge the document: a request to the internet.
  validatorUrl: null
});
</script></body></html>""")


#: The docs page runs Swagger UI from this app's own files and the one inline script carrying
#: this answer's nonce; styles and icons include inline ones (Swagger UI draws its icons as data:
#: SVGs); it fetches only /openapi.json and, with "Try it out", this API.
_DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str
    database: str


@endpoint(
    bp,
    "/healthz",
    method="GET",
    summary="存活检查",
    response=HealthOut,
    auth=False,
    operation_id="getHealth",
    example=examples.HEALTH,
)
def healthz() -> HealthOut:
    """Liveness: the process answers."""
    return HealthOut(status="ok")


@endpoint(
    bp,
    "/readyz",
    method="GET",
    summary="就绪检查（数据库可用）",
    example=examples.READY,
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
    example=examples.METRICS,
    answer_type="text/plain",
    auth=False,
    content_type="text/plain",
    operation_id="getMetrics",
)
def metrics() -> Response:
    # A registry per scrape: MultiProcessCollector reads the files as they are now, and the
    # outbox family is this scrape's count.
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path is not None:
        MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call] # untyped in prometheus_client
    else:
        registry.register(REGISTRY)
    registry.register(_Families(_outbox_family()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


#: Built once per process for each [limits] it is asked with (the 429s name their values).
_OPENAPI_CACHE: dict[LimitsSection, Any] = {}


@endpoint(
    bp,
    "/openapi.json",
    method="GET",
    summary="本文档（OpenAPI 3.1）",
    auth=False,
    operation_id="getOpenApi",
    example=examples.OPENAPI,
)
def openapi() -> Response:
    limits = runtime().settings.limits
    if limits not in _OPENAPI_CACHE:
        _OPENAPI_CACHE[limits] = build_openapi(limits)
    return jsonify(_OPENAPI_CACHE[limits])


@endpoint(
    bp,
    "/docs",
    method="GET",
    summary="浏览 API 文档的网页",
    example=examples.DOCS_PAGE,
    answer_type="text/html",
    auth=False,
    content_type="text/html",
    operation_id="getDocs",
)
def docs() -> Response:
    asset = functools.partial(url_for, "ops.docs_asset")
    nonce = secrets.token_urlsafe(16)
    page = _DOCS_PAGE.substitute(
        css=asset(filename="swagger-ui.css"),
        icon=asset(filename="favicon-32x32.png"),
        bundle=asset(filename="swagger-ui-bundle.js"),
        spec=url_for("ops.openapi"),
        nonce=nonce,
    )
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = _DOCS_CSP.format(nonce=nonce)
    return response


@endpoint(
    bp,
    "/docs/static/<filename>",
    method="GET",
    summary="API 文档网页的静态文件（Swagger UI）",
    answer_type="*/*",
    auth=False,
    errors=(404,),
    operation_id="getDocsAsset",
)
def docs_asset(filename: str) -> Response:
    if filename not in _DOCS_ASSETS:
        abort(404)
    return send_from_directory(_SWAGGER_UI, filename)


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
