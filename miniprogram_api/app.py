"""The Flask application factory: the API (and the bot's callback) as one WSGI app."""

from __future__ import annotations

from flask import Flask

from app.core.config import Settings, load_settings
from app.core.logs import configure_logging
from app.runtime import Runtime, build_runtime
from miniprogram_api.blueprints import register
from miniprogram_api.hygiene import install_http_hygiene
from miniprogram_api.request_log import install_request_log

#: Room for multipart overhead above the largest accepted photo.
_UPLOAD_OVERHEAD_BYTES = 64 * 1024


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    """Build the API application; pass ``settings`` or a ready ``runtime`` (tests do)."""
    if runtime is None:
        runtime = build_runtime(settings or load_settings())
    settings = runtime.settings
    configure_logging(settings.app.log_level, settings.app.log_format)
    app = Flask(__name__)
    # The largest body any endpoint takes (an upload); JSON endpoints lower it per request to
    # server.max_json_bytes (miniprogram_api/registry.py).
    app.config["MAX_CONTENT_LENGTH"] = settings.uploads.max_bytes + _UPLOAD_OVERHEAD_BYTES
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False  # type: ignore[attr-defined] # Chinese stays readable in answers
    app.extensions["linli"] = runtime

    install_request_log(app)
    install_http_hygiene(app, settings.server)
    register(app)
    return app
