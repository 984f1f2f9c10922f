"""The log scanner of the test run (tests/logscan.py) catches what it must and nothing else: a
leak planted in an application logger is found, and a run with a leak fails."""

from __future__ import annotations

import logging

import pytest

from app.core.clock import now_utc
from app.core.privacy import mask_phone
from app.core.tokens import PhotoLinkSigner, TokenSigner
from miniprogram_api.uploads import redact_photo_links
from tests import logscan

PHONE = "13812345678"


def _record(name: str, message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord(name, logging.INFO, __file__, 1, message, args, exc_info)


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        (f"bound phone {PHONE}", ["phone number"]),
        (f"+86{PHONE}", ["phone number"]),
        ("Authorization: Bearer abcdefghijklmnop", ["bearer token"]),
        ("GET /api/v1/x?exp=1&sig=abc", ["signature"]),
        (f"masked {mask_phone(PHONE)}", []),
        ("took 1796119200123 ms at 1796119200", []),  # a 13-digit and a 10-digit number: no phone
        ("order 20261201-0004 for user 12", []),
        ("GET /api/v1/photos/12/[redacted] HTTP/1.1", []),
    ],
)
def test_patterns(text: str, kinds: list[str]) -> None:
    assert logscan.leaks_in(text) == kinds


def test_real_tokens_and_photo_links_are_recognised() -> None:
    token = TokenSigner("k", ttl_seconds=60).issue(12, 0)
    assert "login token" in logscan.leaks_in(f"token {token}")
    link = f"/api/v1/photos/12/{PhotoLinkSigner('k', minutes=30).mint(12, 8, now_utc())}"
    assert logscan.leaks_in(f"GET {link} HTTP/1.1") == ["photo-link token"]
    assert logscan.leaks_in(redact_photo_links(f"GET {link} HTTP/1.1")) == []


def test_a_planted_leak_is_caught_in_arguments_and_exceptions_of_scanned_loggers_only() -> None:
    scanner = logscan.LeakScanner()
    scanner.handle(_record("app.identity.login", "bound %s", PHONE))
    scanner.handle(_record("miniprogram_api.errors", "unhandled", exc=ValueError(f"phone={PHONE}")))
    scanner.handle(_record("wechat_sim.views", "getuserphonenumber %s", PHONE))  # plays WeChat: not scanned
    scanner.handle(_record("app.orders", "order %s", 42))
    assert [(leak.kind, leak.logger) for leak in scanner.leaks] == [
        ("phone number", "app.identity.login"),
        ("phone number", "miniprogram_api.errors"),
    ]


def test_the_installed_scanner_sees_debug_lines_of_app_loggers() -> None:
    """End to end through logging itself: the run's scanner is on the root logger and the app's
    loggers are open to DEBUG, though the tests' log level is WARNING. The planted leak is taken
    back out, or it would fail this very run."""
    scanner = logscan.install()
    before = len(scanner.leaks)
    try:
        logging.getLogger("app.planted").debug("calling %s", PHONE)
        planted = scanner.leaks[before:]
    finally:
        del scanner.leaks[before:]
    assert [(leak.kind, leak.logger, leak.level) for leak in planted] == [("phone number", "app.planted", "DEBUG")]
    assert planted[0].test.endswith("test_the_installed_scanner_sees_debug_lines_of_app_loggers")


def test_a_leak_fails_a_passing_run_and_is_reported() -> None:
    leak = logscan.Leak("phone number", "app.x", "INFO", "tests/t.py::t", f"calling {PHONE}")
    assert logscan.session_status([leak], pytest.ExitCode.OK) == pytest.ExitCode.TESTS_FAILED
    assert logscan.session_status([], pytest.ExitCode.OK) == pytest.ExitCode.OK
    assert logscan.session_status([leak], pytest.ExitCode.INTERRUPTED) == pytest.ExitCode.INTERRUPTED
    lines = logscan.report([leak])
    assert "1 log record" in lines[0]
    assert "tests/t.py::t" in lines[1]
