"""In-memory, thread-safe state of the WeChat simulator: tokens, used codes, sent messages, faults."""

from __future__ import annotations

import copy
import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Lifetime WeChat gives every access token, in seconds.
TOKEN_TTL_SECONDS = 7200
#: WeCom robots accept at most this many messages per key in any window of that many seconds.
WEBHOOK_LIMIT = 20
WEBHOOK_WINDOW_SECONDS = 60.0
#: Statuses a fault may answer with: client and server errors.
_ERROR_STATUSES = range(400, 600)
_ERRMSG_40001 = "invalid credential, access_token is invalid or not latest"


@dataclass(slots=True)
class _Token:
    appid: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """Outcome of looking up an access token: the appid it belongs to, or WeChat's error."""

    appid: str | None
    errcode: int = 0
    errmsg: str = "ok"


@dataclass(slots=True)
class Fault:
    """A failure queued for the next `remaining` requests to one path."""

    errcode: int | None
    http_status: int | None
    remaining: int
    delay_seconds: float


class SimulatorState:
    """Everything the simulator remembers; every method takes the one lock, so views may run in threads."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # Message ids keep counting across reset() so an id never means two different messages
        # within one process, which would confuse a caller that stores them.
        self._msgids = itertools.count(2_000_000_001)
        self._init_locked()

    def _init_locked(self) -> None:
        self._tokens: dict[str, _Token] = {}
        # WeChat keeps stable_token and cgi-bin/token apart: refreshing one never invalidates the other.
        self._stable_token: dict[str, str] = {}
        self._plain_token: dict[str, str] = {}
        self._used_codes: set[str] = set()
        self._messages: list[dict[str, Any]] = []
        self._menus: dict[str, dict[str, Any]] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._template_msgids: dict[tuple[str, str], int] = {}
        self._webhook_sends: dict[str, deque[float]] = {}

    def now(self) -> float:
        """The simulator's current time (the injected clock), in seconds since the epoch."""
        return self._clock()

    def reset(self) -> None:
        """Forget everything: tokens, used codes, messages, menus, faults and rate windows."""
        with self._lock:
            self._init_locked()

    # -- access tokens -------------------------------------------------------------------------

    def _new_token_locked(self, appid: str, now: float) -> str:
        value = f"sim_{secrets.token_urlsafe(48)}"
        self._tokens[value] = _Token(appid=appid, expires_at=now + TOKEN_TTL_SECONDS)
        return value

    def stable_token(self, appid: str, *, force_refresh: bool = False) -> tuple[str, int]:
        """`cgi-bin/stable_token`: the token all callers share while valid, and its remaining seconds."""
        with self._lock:
            now = self._clock()
            current = self._stable_token.get(appid)
            token = self._tokens.get(current) if current else None
            if current and token and token.expires_at > now and not force_refresh:
                return current, int(token.expires_at - now)
            if current and force_refresh:
                # Real WeChat lets the old token live 5 more minutes; dropping it at once is
                # stricter and shows callers that hold on to a stale token.
                self._tokens.pop(current, None)
            value = self._new_token_locked(appid, now)
            self._stable_token[appid] = value
            return value, TOKEN_TTL_SECONDS

    def plain_token(self, appid: str) -> tuple[str, int]:
        """`cgi-bin/token`: a new token on every call, which invalidates the previous one for that appid."""
        with self._lock:
            previous = self._plain_token.get(appid)
            if previous:
                self._tokens.pop(previous, None)
            value = self._new_token_locked(appid, self._clock())
            self._plain_token[appid] = value
            return value, TOKEN_TTL_SECONDS

    def check_token(self, value: str | None) -> TokenCheck:
        """Look up an access token: 40001 when unknown or replaced, 42001 when past its lifetime."""
        with self._lock:
            token = self._tokens.get(value) if value else None
            if token is None:
                return TokenCheck(appid=None, errcode=40001, errmsg=_ERRMSG_40001)
            if token.expires_at <= self._clock():
                return TokenCheck(appid=None, errcode=42001, errmsg="access_token expired")
            return TokenCheck(appid=token.appid)

    # -- one-time codes ------------------------------------------------------------------------

    def use_code(self, code: str) -> bool:
        """Mark a js_code as used; False when it had been used already (WeChat's 40163)."""
        with self._lock:
            if code in self._used_codes:
                return False
            self._used_codes.add(code)
            return True

    # -- messages ------------------------------------------------------------------------------

    def record(self, message: dict[str, Any]) -> int:
        """Store a sent message (adding `msgid` and `at`) and return its msgid."""
        with self._lock:
            return self._record_locked(message)

    def _record_locked(self, message: dict[str, Any]) -> int:
        msgid = next(self._msgids)
        self._messages.append({**copy.deepcopy(message), "msgid": msgid, "at": self._clock()})
        return msgid

    def record_template(self, message: dict[str, Any], client_msg_id: str | None) -> tuple[int, bool]:
        """Store an Official Account template message unless its `client_msg_id` was seen for that user.

        Returns the msgid and whether it was recorded now: a duplicate gets the first send's msgid,
        which is how WeChat's duplicate guard answers.
        """
        with self._lock:
            key = (str(message.get("touser", "")), client_msg_id) if client_msg_id else None
            if key is not None and key in self._template_msgids:
                return self._template_msgids[key], False
            msgid = self._record_locked(message)
            if key is not None:
                self._template_msgids[key] = msgid
            return msgid, True

    def record_webhook(self, key: str, message: dict[str, Any]) -> bool:
        """Store a WeCom robot message unless the key already sent its quota in the last minute."""
        with self._lock:
            now = self._clock()
            window = self._webhook_sends.setdefault(key, deque())
            while window and window[0] <= now - WEBHOOK_WINDOW_SECONDS:
                window.popleft()
            if len(window) >= WEBHOOK_LIMIT:
                return False
            window.append(now)
            self._record_locked(message)
            return True

    def messages(self, touser: str | None = None) -> list[dict[str, Any]]:
        """Recorded messages, oldest first, for one recipient or for all; copies, safe to mutate."""
        with self._lock:
            return [
                copy.deepcopy(message)
                for message in self._messages
                if touser is None or message.get("touser") == touser
            ]

    # -- menus ---------------------------------------------------------------------------------

    def set_menu(self, appid: str, menu: dict[str, Any]) -> None:
        """Store the Official Account menu of an appid, replacing the previous one."""
        with self._lock:
            self._menus[appid] = copy.deepcopy(menu)

    def get_menu(self, appid: str) -> dict[str, Any] | None:
        """The stored menu of an appid, or None when none was created."""
        with self._lock:
            menu = self._menus.get(appid)
            return copy.deepcopy(menu) if menu is not None else None

    # -- fault injection -----------------------------------------------------------------------

    def inject_fault(
        self,
        path: str,
        errcode: int | None = None,
        http_status: int | None = None,
        count: int = 1,
        delay_seconds: float = 0,
    ) -> None:
        """Make the next `count` requests to `path` fail.

        With `http_status` the answer is that HTTP status (it wins over `errcode`); with `errcode`
        it is HTTP 200 carrying that errcode; with only `delay_seconds` the request is slowed down
        and then answered normally. Faults for one path queue up in the order injected.
        """
        if not path.startswith("/"):
            raise ValueError("path must start with '/'")
        if count < 1:
            raise ValueError("count must be at least 1")
        if delay_seconds < 0:
            raise ValueError("delay_seconds must not be negative")
        if errcode == 0:
            raise ValueError("errcode 0 is success, not a fault")
        if http_status is not None and http_status not in _ERROR_STATUSES:
            raise ValueError("http_status must be an error status (400-599)")
        if errcode is None and http_status is None and delay_seconds == 0:
            raise ValueError("a fault needs an errcode, an http_status or a delay")
        with self._lock:
            fault = Fault(errcode=errcode, http_status=http_status, remaining=count, delay_seconds=delay_seconds)
            self._faults.setdefault(path, deque()).append(fault)

    def take_fault(self, path: str) -> Fault | None:
        """Consume one use of the oldest fault queued for `path`, if any."""
        with self._lock:
            queue = self._faults.get(path)
            if not queue:
                return None
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.popleft()
            return Fault(
                errcode=fault.errcode,
                http_status=fault.http_status,
                remaining=fault.remaining,
                delay_seconds=fault.delay_seconds,
            )
