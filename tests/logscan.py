"""The whole test run's application logs hold no phone number and no credential.

A handler on the root logger (and on gunicorn's own loggers, which do not propagate) sees every
record of Linli's loggers and of the web servers, at every level: those loggers are opened to DEBUG
for the run, so a leak in an INFO or DEBUG line fails the run too, although production logs at INFO
and the tests at WARNING. Each record is matched against a few patterns as it is emitted and only
the leaks are kept, so the scan costs a few regular-expression searches per record. At the end of
the session any leak turns the exit status to failed and is listed in the summary
(``tests/conftest.py`` wires the hooks).

The WeChat simulator (``wechat_sim``) is not scanned: it plays WeChat, whose side of the wire
carries access tokens and phone codes by design.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Final

import pytest

#: Loggers whose records are scanned (and their children): the application, the CLI ("linli"),
#: and the web servers that write access lines.
SCANNED: Final = ("app", "miniprogram_api", "jobs", "cli", "linli", "werkzeug", "gunicorn")
#: gunicorn's loggers keep their records to themselves (propagate = False): scanned where they are.
_NON_PROPAGATING: Final = ("gunicorn.error", "gunicorn.access")

#: What must never be logged, by name.
PATTERNS: Final[dict[str, re.Pattern[str]]] = {
    # A mainland mobile number, maybe after the country code, not part of a longer run of digits
    # (a timestamp, an id).
    "phone number": re.compile(r"(?<!\d)(?:86)?1\d{10}(?!\d)"),
    "bearer token": re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"),
    # Our login tokens themselves: itsdangerous' base64 of {"u": …} then two dotted parts.
    "login token": re.compile(r"eyJ1Ijo[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),
    # A signature in a query string, as signed links of other kinds carry it.
    "signature": re.compile(r"\bsig="),
    # A photo link's token (/photos/<id>/<token>) not replaced by [redacted].
    "photo-link token": re.compile(r"/photos/\d+/+(?!\[redacted\])[A-Za-z0-9_.-]{8,}"),
}


@dataclass(frozen=True)
class Leak:
    kind: str
    logger: str
    level: str
    #: The test that was running, when known.
    test: str
    #: The offending text, cut short.
    text: str


def leaks_in(text: str) -> list[str]:
    """The names of the patterns ``text`` matches."""
    return [kind for kind, pattern in PATTERNS.items() if pattern.search(text)]


def _scanned(name: str) -> bool:
    return name.split(".", 1)[0] in SCANNED


class LeakScanner(logging.Handler):
    """Keeps the records of scanned loggers whose text matches a pattern; nothing else."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[Leak] = []
        self.current_test = ""
        self._last: logging.LogRecord | None = None

    def emit(self, record: logging.LogRecord) -> None:
        # A gunicorn record can reach this handler twice: on its logger and, until gunicorn turns
        # propagation off, on the root.
        if record is self._last or not _scanned(record.name):
            return
        self._last = record
        try:
            text = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: scan what was given
            text = f"{record.msg} {record.args}"
        if record.exc_info and record.exc_info[1] is not None:
            # The exception's message (a database error prints its SQL and, unless hidden, the
            # values it was binding), not the whole traceback: source lines hold no data.
            text += f"\n{record.exc_info[1]}"
        if record.stack_info:
            text += f"\n{record.stack_info}"
        for kind in leaks_in(text):
            self.leaks.append(Leak(kind, record.name, record.levelname, self.current_test, text[:300]))


#: The scanner of this run, once installed.
INSTALLED: LeakScanner | None = None


def install() -> LeakScanner:
    """Attach a scanner for the whole run and open the scanned loggers to DEBUG (once)."""
    global INSTALLED  # noqa: PLW0603 - one scanner per test process, read by the session hooks
    if INSTALLED is not None:
        return INSTALLED
    scanner = LeakScanner()
    logging.getLogger().addHandler(scanner)
    for name in _NON_PROPAGATING:
        logging.getLogger(name).addHandler(scanner)
    for name in SCANNED:
        logging.getLogger(name).setLevel(logging.DEBUG)
    INSTALLED = scanner
    return scanner


def session_status(leaks: list[Leak], status: int) -> int:
    """The run's exit status: failed when a record leaked and the tests themselves passed."""
    return int(pytest.ExitCode.TESTS_FAILED) if leaks and status == pytest.ExitCode.OK else status


def report(leaks: list[Leak]) -> list[str]:
    """The lines of the session summary: one per leak (at most 50), with where it came from."""
    lines = [f"{len(leaks)} log record(s) leak personal data or credentials:"]
    lines += [
        f"  {leak.kind}: [{leak.level} {leak.logger}] in {leak.test or '?'}: {leak.text!r}" for leak in leaks[:50]
    ]
    return lines
