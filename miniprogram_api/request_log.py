"""Request ids and the request's log context, set in Flask's request hooks, and one log line per
request (logger ``linli.request``): method, path, status, time taken and, once the token has been
checked, the user. ``app.core.logs`` copies the context onto every line logged meanwhile."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from app.core.logs import bind_context, reset_context
from miniprogram_api.uploads import redact_photo_links

log = logging.getLogger("linli.request")

#: An incoming X-Request-Id is kept only if it is a short token of these characters: it goes
#: into every log line and back into a header, so nothing that could forge a line or a header.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_from(incoming: str) -> str:
    """The caller's X-Request-Id when it is safe (a proxy's or the mini-program's, so both sides
    name the same request), else a new one."""
    return incoming if SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def install_request_log(app: Flask) -> None:
    """Give each request its id (echoed in ``X-Request-Id``), its log context, and its line."""

    @app.before_request
    def _begin() -> None:
        g.request_id = request_id_from(request.headers.get("X-Request-Id", ""))
        g.request_started = time.perf_counter()
        # request.path carries no query string (search words, codes); a photo link's token is a
        # credential of its own, so only the photo's id stays.
        g.log_context = bind_context(
            request_id=g.request_id, method=request.method, path=redact_photo_links(request.path)
        )

    @app.after_request
    def _end(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
        user_id = g.actor.user_id if g.get("actor") is not None else None
        log.info(
            "%s %s → %s, %s ms%s",
            request.method,
            redact_photo_links(request.path),
            response.status_code,
            duration_ms,
            f", user {user_id}" if user_id is not None else "",
            extra={"status": response.status_code, "duration_ms": duration_ms},
        )
        return response

    @app.teardown_request
    def _forget(_error: BaseException | None) -> None:
        token = g.pop("log_context", None)
        if token is not None:
            reset_context(token)
