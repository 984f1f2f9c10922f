"""The Flask application factory: the API (and the bot's callback) as one WSGI app."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

from app.core.config import Settings, load_settings
from app.core.logs import REQUEST_ID, configure_logging
from app.runtime import Runtime, build_runtime
from miniprogram_api.blueprints import register
from miniprogram_api.hygiene import install_http_hygiene

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: Room for multipart overhead above the largest accepted photo.
_UPLOAD_OVERHEAD_BYTES = 64 * 1024


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    """Build the API application; pass ``settings`` or a ready ``runtime`` (tests do)."""
    if runtime is None:
        runtime = build_runtime(settings or load_settings())
    settings = runtime.settings
    configure_logging(settings.app.log_level)
    app = Flask(__name__)
    # The largest body any endpoint takes (an upload); JSON endpoints lower it per request to
    # server.max_json_bytes (miniprogram_api/registry.py).
    app.config["MAX_CONTENT_LENGTH"] = settings.uploads.max_bytes + _UPLOAD_OVERHEAD_BYTES
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False  # type: ignore[attr-defined] # Chinese stays readable in answers
    app.extensions["linli"] = runtime

    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        # Log records of this request carry its id (app.core.logs knows no Flask).
        g.request_id_token = REQUEST_ID.set(g.request_id)

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

    @app.teardown_request
    def _forget_request_id(_error: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            REQUEST_ID.reset(token)

    install_http_hygiene(app, settings.server)
    register(app)
    return app
