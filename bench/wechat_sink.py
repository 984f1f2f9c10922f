"""A cheap stand-in for WeChat's message endpoints, for measuring the *sender* at high rates.

The WeChat simulator (``wechat_sim``) is a Flask app on Werkzeug's threaded server: measured here
it spends about 1.8 ms of CPU per subscribe message, so on a 2-core box it caps any sender near
550 msg/s and takes a core from it. Real WeChat is not on the sender's box. This sink answers the
few endpoints the fan-out touches (``stable_token``, ``message/subscribe/send``,
``message/template/send``) with WeChat-shaped JSON on one asyncio loop, keeping connections alive
(HTTP/1.1, as WeChat does), and records each message's recipient and ``thing2`` so that the
benchmark's accounting (lost, duplicated, misrouted) works exactly as with the simulator. A
latency is an ``asyncio.sleep`` per request, so 50 ms costs no thread per request in flight.

It is not a simulator: no token checks, no grants, no fault codes. Runs in a child process
(``SinkProcess``), which also reports its own CPU time so that the benchmark can print it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from bench_common import WeChatChild

_TOKEN = json.dumps({"access_token": "sink-token", "expires_in": 7200}).encode()
_OK = b'{"errcode":0,"errmsg":"ok"}'
_MAX_HEADER_BYTES = 64 * 1024


class _Sink:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        #: path -> [delay seconds, requests left to delay]
        self.delays: dict[str, list[float]] = {}
        self._msgid = 0

    def answer(self, path: str, body: bytes) -> tuple[bytes, float]:
        delay = 0.0
        fault = self.delays.get(path)
        if fault is not None and fault[1] > 0:
            delay, fault[1] = fault[0], fault[1] - 1
        if path.endswith("/stable_token"):
            return _TOKEN, delay
        if path.endswith("/message/subscribe/send") or path.endswith("/message/template/send"):
            message = json.loads(body)
            thing2 = (message.get("data") or {}).get("thing2") or {}
            self.received.append({"touser": message.get("touser"), "data": {"thing2": thing2}})
            if path.endswith("/template/send"):
                self._msgid += 1
                return json.dumps({"errcode": 0, "errmsg": "ok", "msgid": self._msgid}).encode(), delay
        return _OK, delay

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if len(head) > _MAX_HEADER_BYTES:
                    return
                lines = head.decode("latin-1").split("\r\n")
                target = lines[0].split(" ")[1]
                length = 0
                close = False
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection" and value.strip().lower() == "close":
                        close = True
                body = await reader.readexactly(length) if length else b""
                payload, delay = self.answer(target.split("?", 1)[0], body)
                if delay:
                    await asyncio.sleep(delay)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(payload), payload)
                )
                await writer.drain()
                if close:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


def _serve(conn: Connection) -> None:
    """Child process: serve on a free loopback port; answer commands from the parent on ``conn``."""
    sink = _Sink()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    port: list[int] = []

    async def main() -> None:
        server = await asyncio.start_server(sink.handle, "127.0.0.1", 0, backlog=1024)
        port.append(server.sockets[0].getsockname()[1])
        started.set()
        async with server:
            await server.serve_forever()

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    started.wait()
    conn.send(f"http://127.0.0.1:{port[0]}")
    while True:
        command, kwargs = conn.recv()
        if command == "fault":
            loop.call_soon_threadsafe(
                sink.delays.__setitem__, kwargs["path"], [kwargs["delay_seconds"], kwargs["count"]]
            )
            conn.send(None)
        elif command == "messages":
            conn.send(list(sink.received))
        elif command == "cpu":
            conn.send(time.process_time())
        else:
            return


class SinkProcess(WeChatChild):
    """The sink in a child process; the same methods the benchmark uses of the simulator."""

    def __init__(self) -> None:
        super().__init__(_serve)
