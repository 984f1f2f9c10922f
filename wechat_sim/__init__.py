"""The WeChat simulator: a real HTTP server answering the WeChat endpoints Linli calls."""

from __future__ import annotations

import logging
import threading

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from wechat_sim.state import SimulatorState
from wechat_sim.views import EXTENSION_KEY, register

__all__ = ["SimulatorServer", "SimulatorState", "create_simulator_app"]

log = logging.getLogger(__name__)

# How often the serving loop checks for shutdown; small so stop() in tests returns quickly.
_POLL_INTERVAL_SECONDS = 0.05
_JOIN_TIMEOUT_SECONDS = 5.0


def create_simulator_app(state: SimulatorState | None = None) -> Flask:
    """A Flask app serving the simulator; its state is `app.extensions["wechat_sim"]`."""
    app = Flask(__name__)
    app.extensions[EXTENSION_KEY] = state if state is not None else SimulatorState()
    if isinstance(app.json, DefaultJSONProvider):
        # Readable Chinese in /_sim/messages, and members in the order WeChat writes them.
        app.json.ensure_ascii = False
        app.json.sort_keys = False
    register(app)
    return app


class _RequestHandler(WSGIRequestHandler):
    # HTTP/1.0 closes every connection after its answer. With keep-alive, a handler thread would
    # go on serving a client's pooled connection after stop(), and "WeChat is down" would not be.
    protocol_version = "HTTP/1.0"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Werkzeug's version adds terminal colours; a plain line reads better in log files.
        log.debug('%s "%s" %s %s', self.address_string(), self.requestline, code, size)

    def log(self, kind: str, message: str, *args: object) -> None:
        # Werkzeug's own logging installs a stderr handler; request lines are debug noise here.
        level = logging.WARNING if kind == "error" else logging.DEBUG
        log.log(level, "%s " + message, self.address_string(), *args)


class _KeepAliveHandler(_RequestHandler):
    # As WeChat's own servers do: a client's pooled connection serves request after request, so a
    # benchmark of the sender measures sends, not TCP handshakes and a thread per request. Not
    # for tests of outages: a connection accepted before stop() is served until the client closes it.
    protocol_version = "HTTP/1.1"


class SimulatorServer:
    """Runs the simulator app on a Werkzeug server, in a daemon thread (`start`) or the foreground."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, state: SimulatorState | None = None, *, keep_alive: bool = False
    ) -> None:
        self._keep_alive = keep_alive
        self._host = host
        self._port = port
        self._state = state if state is not None else SimulatorState()
        self._app = create_simulator_app(self._state)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> SimulatorState:
        """The state the server's views read and write."""
        return self._state

    @property
    def base_url(self) -> str:
        """`http://host:port`; known once the server has been bound when it was given port 0."""
        if self._port == 0:
            raise RuntimeError("the simulator has not been started: its port is not chosen yet")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    def _bind(self) -> BaseWSGIServer:
        if self._server is not None:
            raise RuntimeError(f"the simulator is already running on {self.base_url}")
        try:
            # make_server leaves SO_REUSEADDR on (http.server's allow_reuse_address), so a
            # restart can take the same port back while old connections sit in TIME_WAIT.
            handler = _KeepAliveHandler if self._keep_alive else _RequestHandler
            server = make_server(self._host, self._port, self._app, threaded=True, request_handler=handler)
        except SystemExit as exc:
            # Werkzeug prints bind errors and exits; a library caller needs an exception instead.
            raise OSError(f"cannot listen on {self._host}:{self._port}") from exc
        # Keep the port chosen for port=0 so that stop() then start() comes back at the same URL.
        self._port = server.port
        self._server = server
        return server

    def start(self) -> str:
        """Listen and serve in a daemon thread; return the base URL."""
        server = self._bind()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL_SECONDS},
            name=f"wechat-sim:{self._port}",
            daemon=True,
        )
        self._thread.start()
        log.info("WeChat simulator listening on %s", self.base_url)
        return self.base_url

    def stop(self) -> None:
        """Stop serving, close the listening socket and wait for the serving thread; idempotent."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=_JOIN_TIMEOUT_SECONDS)
        self._server = None
        self._thread = None

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the `linli wechat-sim` command)."""
        server = self._bind()
        log.info("WeChat simulator listening on %s", self.base_url)
        try:
            server.serve_forever(poll_interval=_POLL_INTERVAL_SECONDS)
        finally:
            server.server_close()
            self._server = None
