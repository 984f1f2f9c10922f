"""What every answer carries whatever the endpoint: the client's address as the configured proxies
report it, security headers, and CORS only for the origins configured.

The API answers JSON (and photos) to the mini-program, which is not a browser page: none of this
changes what it sees. The headers matter when a browser opens an answer directly (a link in a
chat, the docs page), and CORS when a web console of the community's staff calls the API.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from app.core.config import ServerSection
from app.core.errors import NotFoundError

#: Answers a browser should neither frame, sniff, nor name in a Referer.
_EVERY_ANSWER = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
#: A JSON answer opened in a browser is data, never a page: it may load and run nothing.
_JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
#: Photos and other files: only never framed (a stricter policy can keep a browser from showing
#: an image opened on its own).
_FILE_CSP = "frame-ancestors 'none'"
#: Headers a browser page may send and read across origins (the mini-program sends these too).
_CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"]
_CORS_EXPOSED_HEADERS = ["Retry-After", "X-Request-Id"]


def install_http_hygiene(app: Flask, server: ServerSection) -> None:
    """Trusted proxies, security headers and (when configured) CORS for every route of ``app``."""
    if server.trusted_proxies:
        # Only the last N hops of X-Forwarded-For are believed: what a client writes into the
        # header itself sits before them and is ignored. With 0 the header is not read at all.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=server.trusted_proxies, x_proto=server.trusted_proxies
        )
    if server.cors_origins:
        # Bearer tokens, not cookies: no credentials mode, so a listed origin gets the answers only
        # for the token its own page holds.
        CORS(
            app,
            origins=server.cors_origins,
            allow_headers=_CORS_REQUEST_HEADERS,
            expose_headers=_CORS_EXPOSED_HEADERS,
            supports_credentials=False,
            max_age=600,
        )

    @app.before_request
    def _no_nul_in_the_path() -> None:
        # A path naming something by a text code (an area, a redemption code) never holds U+0000,
        # and PostgreSQL could not compare it: the same 404 as any other unknown code.
        if "\x00" in request.path:
            raise NotFoundError("找不到该地址或记录")

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in _EVERY_ANSWER.items():
            response.headers.setdefault(name, value)
        is_json = response.mimetype == "application/json"
        # The docs page sets a policy of its own (miniprogram_api/ops.py), which stays.
        response.headers.setdefault("Content-Security-Policy", _JSON_CSP if is_json else _FILE_CSP)
        if is_json:
            # Answers are the caller's own data (profiles, phones, orders): no browser, proxy or
            # WeChat cache may keep them. Photos and the docs' files set their own caching.
            response.headers.setdefault("Cache-Control", "no-store")
        return response
