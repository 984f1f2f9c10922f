"""API load benchmark: the HTTP API under gunicorn, as ``linli serve`` runs it, loaded by ``wrk``.

What it measures, on an already seeded database (``bench/seed.py`` makes one):

* for each endpoint on its own, then for a mix of them: requests per second, latency p50 and p99,
  and the answers that were not 2xx, over ``--seconds`` of closed-loop load from ``wrk``
  (``CONNECTIONS`` keep-alive connections, ``WRK_THREADS`` threads) on 127.0.0.1;
* a same-run baseline: ``GET /healthz`` on the same server and settings (the bare Flask and
  gunicorn path, no token, no database), and each endpoint's ratio ``req/s ÷ healthz req/s``.
  Absolute figures move with the machine and with whatever else runs on it; the ratio is the
  figure to compare between runs;
* the peak resident memory (``VmHWM`` in ``/proc/<pid>/status``) of the gunicorn master and of
  each worker, and with ``--jobs`` of a ``linli jobs`` process run against the same database for
  the duration.

The endpoints (the people come from the command line; the ids are picked through the API):

=============  =================================================================================
``healthz``    ``GET /healthz``, the baseline
``detail``     ``GET /api/v1/orders/{id}`` as the secretary: the newest closed order of their
               ``scope=community`` list (else its newest order)
``mine``       ``GET /api/v1/orders?scope=mine&limit=20`` as the resident
``community``  ``GET /api/v1/orders?scope=community&limit=20`` as the secretary
``grid``       the same list as the grid worker (only with ``--grid-worker``; not in the mix)
``pool``       ``GET /api/v1/tasks/pool?limit=20`` as the volunteer
``candidates`` ``GET /api/v1/orders/{id}/candidates`` as the secretary, for the community's newest
               ``submitted`` order (else the detail's order)
``create``     ``POST /api/v1/orders`` as the resident: the focus community, its categories in
               turn, a numbered title, and a fresh ``Idempotency-Key`` per request, as the
               mini-program sends
``mix``        ``MIX``: detail 30 %, mine 15 %, community 15 %, pool 20 % (80 % reads of a detail
               or a list), candidates 10 %, create 10 %, each request drawn at random
=============  =================================================================================

How: the WeChat simulator runs in a thread of this process on a free port; ``linli serve`` runs as
a child process on another free port with only these settings from the environment
(``LINLI_DATABASE__URL``, ``LINLI_WECHAT__API_BASE``, ``LINLI_WECHAT__WECOM_API_BASE``, a random
``LINLI_AUTH__SECRET_KEY``, ``LINLI_APP__VAR_DIR`` in a temporary directory,
``LINLI_APP__LOG_LEVEL=WARNING``, ``LINLI_LIMITS__ENABLED=false``: one wrk address and a few users
would meet the rate limits at once; the caller's other ``LINLI_*`` variables are dropped), so the
worker class, timeouts and access log are exactly those of production. After ``/readyz`` answers,
the people log in with ``sim:<openid>#<nonce>`` codes, and each endpoint gets a generated Lua
script for ``wrk`` that sets the token and body and prints its figures as JSON from ``done()``.
Each run measures every endpoint once, healthz first; ``--runs`` runs, medians reported. Only the
first run warms each endpoint up (``--warmup`` seconds, not counted). The server's log is scanned
after each measurement for ``ERROR`` lines, tracebacks and worker timeouts.

The benchmark writes to the database: every ``create`` request (10 % of the mix too) adds an order
for the resident, which later runs' lists and details see. No non-2xx answer is expected from any
endpoint.

Usage::

    .venv/bin/python bench/api.py --database-url URL --community CODE \\
        --secretary OPENID --volunteer OPENID --resident OPENID [--grid-worker OPENID] \\
        [--seconds 10] [--warmup 2] [--runs 3] [--workers 2] [--threads 4] [--connections 16] \\
        [--jobs] [--skip candidates,...] [--json FILE]

Exit status 1 if any endpoint's non-2xx answers and socket errors exceed 1 % of its requests, or
the server or wrk failed; 2 on bad arguments, people without their role, or no ``wrk``
(``apt-get install -y wrk``); 130 when interrupted. Everything it started is stopped and its
temporary directory removed in every case.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import requests
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cli.main import serve
from wechat_sim import SimulatorServer

#: wrk's load: keep-alive connections and client threads.
CONNECTIONS = 16
WRK_THREADS = 2
#: A request slower than this counts as a wrk timeout (a socket error here).
WRK_TIMEOUT = "10s"
#: The line of wrk's output that carries the figures the Lua ``done()`` prints.
WRK_MARKER = "LINLI_WRK "
LIST_LIMIT = 20
#: The mix: endpoint name → weight (percent).
MIX: dict[str, int] = {"detail": 30, "mine": 15, "community": 15, "pool": 20, "candidates": 10, "create": 10}
#: Above this share of non-2xx answers (plus socket errors), an endpoint fails the run.
MAX_FAILED_SHARE = 0.01
MAX_SECONDS = 120
MAX_RUNS = 9
MAX_WORKERS = 32
MAX_THREADS = 64
MAX_CONNECTIONS = 1000
READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 15
REQUEST_TIMEOUT_SECONDS = 30
#: Time for the server to write its last access-log lines before the log is read.
SETTLE_SECONDS = 0.3
#: Exit statuses.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
HTTP_OK = 200
HTTP_2XX = range(200, 300)
LOG_SAMPLES = 3
KIB = 1024


def _serve_default(name: str) -> int:
    """The default of a ``linli serve`` option, so that this script follows it."""
    for param in serve.params:
        if param.name == name and isinstance(param.default, int):
            return param.default
    raise RuntimeError(f"linli serve has no integer option {name}")


class BenchError(Exception):
    """A failure that ends the benchmark with exit status 1 (after cleaning up)."""


class UsageError(Exception):
    """Bad arguments found only once the server answers (exit status 2)."""


# -- what wrk sends -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateBody:
    """The JSON of ``POST /orders`` cut around the two parts that change per request."""

    head: str
    middle: str
    tail: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    """One kind of request: method, path, the caller's token, and for a create its body."""

    method: str
    path: str
    token: str = ""
    create: CreateBody | None = None


@dataclass(frozen=True)
class Endpoint:
    name: str
    label: str
    calls: tuple[tuple[Call, int], ...]  # (call, weight)


LUA_RUNTIME = r"""
threads = {}
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

statuses = {}
local cache, total, seq = {}, 0, 0
function init(args)
  math.randomseed(thread_id * 7919)
  for i, s in ipairs(specs) do
    total = total + s.weight
    if not s.head then cache[i] = wrk.format(s.method, s.path, s.headers, nil) end
  end
end

local function pick()
  if #specs == 1 then return 1 end
  local r = math.random() * total
  for i, s in ipairs(specs) do
    r = r - s.weight
    if r < 0 then return i end
  end
  return #specs
end

function request()
  local i = pick()
  local s = specs[i]
  if not s.head then return cache[i] end
  seq = seq + 1
  local tag = thread_id .. "-" .. seq
  local headers = {}
  for k, v in pairs(s.headers) do headers[k] = v end
  headers["Idempotency-Key"] = run_tag .. "-" .. tag
  local category = s.categories[(seq % #s.categories) + 1]
  return wrk.format(s.method, s.path, headers, s.head .. category .. s.middle .. tag .. s.tail)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do counts[code] = (counts[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(counts) do parts[#parts + 1] = string.format('"%d": %d', code, n) end
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "p50_us": %.0f, "p99_us": %.0f, "max_us": %.0f, '
      .. '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, "statuses": {%s}}\n',
    marker, summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, table.concat(parts, ", ")))
end
"""


def lua_string(text: str) -> str:
    """A Lua string literal for any text: printable ASCII as is, every other byte as ``\\ddd``."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in '"\\' else f"\\{byte}")  # noqa: PLR2004 - ASCII range
    return '"' + "".join(out) + '"'


def lua_call(call: Call, weight: int) -> str:
    headers = {"Authorization": f"Bearer {call.token}"} if call.token else {}
    if call.create is not None:
        headers["Content-Type"] = "application/json"
    pairs = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
    fields = [f"weight = {weight}", f"method = {lua_string(call.method)}", f"path = {lua_string(call.path)}"]
    fields.append(f"headers = {{{pairs}}}")
    if call.create is not None:
        body = call.create
        fields += [f"head = {lua_string(body.head)}", f"middle = {lua_string(body.middle)}"]
        fields += [f"tail = {lua_string(body.tail)}"]
        fields.append("categories = {" + ", ".join(lua_string(c) for c in body.categories) + "}")
    return "  {" + ", ".join(fields) + "}"


def lua_script(endpoint: Endpoint) -> str:
    """The wrk script of one endpoint: its weighted calls, then the shared runtime above."""
    specs = ",\n".join(lua_call(call, weight) for call, weight in endpoint.calls)
    tag = f"bench-{uuid.uuid4().hex[:12]}"
    head = f"-- {endpoint.label}\nmarker = {lua_string(WRK_MARKER)}\nrun_tag = {lua_string(tag)}\n"
    return f"{head}specs = {{\n{specs}\n}}\n{LUA_RUNTIME}"


def create_body(community: str, categories: Sequence[str]) -> CreateBody:
    """The order a resident posts: the community, a category (in turn) and a numbered title."""
    text = json.dumps(
        {
            "community": community,
            "category": "@CATEGORY@",
            "title": "压测下单 @TAG@",
            "description": "压测工单，请忽略",
        },
        ensure_ascii=False,
    )
    head, rest = text.split("@CATEGORY@")
    middle, tail = rest.split("@TAG@")
    return CreateBody(head, middle, tail, tuple(json.dumps(code)[1:-1] for code in categories))


# -- figures ------------------------------------------------------------------------------------


@dataclass
class Measurement:
    """What one wrk run of one endpoint gave, and what the server logged meanwhile."""

    endpoint: str
    run: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]
    socket_errors: int
    log_errors: int = 0
    log_samples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if status not in HTTP_2XX)


def parse_wrk(endpoint: str, run: int, figures: dict[str, Any]) -> Measurement:
    errors = figures["socket_errors"]
    return Measurement(
        endpoint=endpoint,
        run=run,
        requests=int(figures["requests"]),
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        statuses={int(status): int(n) for status, n in figures["statuses"].items()},
        socket_errors=sum(int(errors[key]) for key in ("connect", "read", "write", "timeout")),
    )


@dataclass(frozen=True)
class Row:
    """One endpoint over all runs: medians of the figures, sums of the counts."""

    name: str
    label: str
    rate: float
    p50_ms: float
    p99_ms: float
    ratio: float
    requests: int
    non_2xx: int
    socket_errors: int
    statuses: dict[int, int]
    log_errors: int
    log_samples: list[str]

    @property
    def failed_share(self) -> float:
        return (self.non_2xx + self.socket_errors) / self.requests if self.requests else 1.0


def summarize(endpoint: Endpoint, measured: list[Measurement], baselines: dict[int, Measurement]) -> Row:
    statuses: Counter[int] = Counter()
    samples: list[str] = []
    for m in measured:
        statuses.update(m.statuses)
        samples += [s for s in m.log_samples if s not in samples]
    ratios = [m.rate / baselines[m.run].rate for m in measured if baselines[m.run].rate > 0]
    return Row(
        name=endpoint.name,
        label=endpoint.label,
        rate=statistics.median(m.rate for m in measured),
        p50_ms=statistics.median(m.p50_ms for m in measured),
        p99_ms=statistics.median(m.p99_ms for m in measured),
        ratio=statistics.median(ratios) if ratios else 0.0,
        requests=sum(m.requests for m in measured),
        non_2xx=sum(m.non_2xx for m in measured),
        socket_errors=sum(m.socket_errors for m in measured),
        statuses=dict(sorted(statuses.items())),
        log_errors=sum(m.log_errors for m in measured),
        log_samples=samples[:LOG_SAMPLES],
    )


def measurement_line(m: Measurement) -> str:
    answers = " ".join(f"{status}×{n}" for status, n in sorted(m.statuses.items()))
    return (
        f"run {m.run} {m.endpoint:<10} {m.rate:8.1f} req/s  p50 {m.p50_ms:7.1f} ms  p99 {m.p99_ms:7.1f} ms  "
        f"[{answers}] socket errors {m.socket_errors}, log errors {m.log_errors}"
    )


def table(rows: list[Row]) -> str:
    lines = [
        f"{'endpoint':<11} {'request':<52} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>16} {'÷healthz':>9}",
    ]
    for row in rows:
        failed = f"{row.non_2xx + row.socket_errors} ({row.failed_share:.2%})"
        lines.append(
            f"{row.name:<11} {row.label:<52} {row.rate:8.1f} {row.p50_ms:8.1f} {row.p99_ms:8.1f} "
            f"{failed:>16} {row.ratio:9.3f}"
        )
    return "\n".join(lines)


def problems(rows: list[Row]) -> list[str]:
    """A line for each endpoint with non-2xx answers, socket errors or server log errors."""
    lines = []
    for row in rows:
        if row.non_2xx or row.socket_errors or row.log_errors:
            answers = " ".join(f"{status}×{n}" for status, n in row.statuses.items())
            lines.append(
                f"{row.name}: answers {answers}; socket errors {row.socket_errors}; server log errors {row.log_errors}"
            )
            lines += [f"    log: {sample}" for sample in row.log_samples]
    return lines


# -- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def child_environment(database_url: str, wechat_base: str, tmp: Path) -> dict[str, str]:
    """The caller's environment without its LINLI_* settings, plus the benchmark's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LINLI_")}
    env.update(
        {
            "LINLI_DATABASE__URL": database_url,
            "LINLI_WECHAT__API_BASE": wechat_base,
            "LINLI_WECHAT__WECOM_API_BASE": wechat_base,
            "LINLI_AUTH__SECRET_KEY": secrets.token_urlsafe(32),
            "LINLI_APP__VAR_DIR": str(tmp / "var"),
            "LINLI_APP__LOG_LEVEL": "WARNING",
            # wrk is one address and a handful of users: the limits would answer most of it 429.
            "LINLI_LIMITS__ENABLED": "false",
            # gunicorn puts its control socket here (else in ~/.gunicorn, shared with any other).
            "XDG_RUNTIME_DIR": str(tmp),
        }
    )
    return env


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (gunicorn's graceful stop), then SIGKILL to the process group it leads."""
    try:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=STOP_TIMEOUT_SECONDS)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        pass  # too slow, or a second Ctrl+C: no more waiting
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # leftover workers, if any; the group is ours alone
        proc.wait()


@contextmanager
def child_process(command: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child in its own session (Ctrl+C reaches only us; we stop it), output appended to a log."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own linli command, no shell
            command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    try:
        yield proc
    finally:
        stop_process(proc)


@contextmanager
def simulator() -> Iterator[str]:
    server = SimulatorServer(host="127.0.0.1", port=0)
    base = server.start()
    try:
        yield base
    finally:
        server.stop()


def linli_command() -> str:
    """The ``linli`` entry point of this interpreter's environment."""
    path = Path(sys.executable).parent / "linli"
    if not path.exists():
        raise UsageError(f"{path} not found: run `python3 dev.py setup` and use .venv/bin/python")
    return str(path)


def log_tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (gunicorn's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def wait_ready(base: str, proc: subprocess.Popen[bytes], workers: int, log_path: Path) -> None:
    """Until /readyz answers 200 and the master has all its workers; BenchError if it died."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"linli serve exited with {proc.returncode}:\n{log_tail(log_path)}")
        try:
            ready = requests.get(f"{base}/readyz", timeout=2).status_code == HTTP_OK
        except requests.RequestException:
            ready = False
        if ready and len(children_of(proc.pid)) >= workers:
            return
        time.sleep(0.2)
    raise BenchError(f"linli serve not ready after {READY_TIMEOUT_SECONDS} s:\n{log_tail(log_path)}")


# -- what the server did ------------------------------------------------------------------------


def vm_hwm_kib(pid: int) -> int | None:
    """Peak resident set size of a live process, in KiB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class PeakRss:
    """The highest VmHWM seen per process: gunicorn's master, each worker, the jobs process."""

    master: int
    jobs: int | None = None
    peaks: dict[int, int] = field(default_factory=dict)

    def sample(self) -> None:
        for pid in [self.master, *children_of(self.master), *([self.jobs] if self.jobs else [])]:
            kib = vm_hwm_kib(pid)
            if kib is not None:
                self.peaks[pid] = max(kib, self.peaks.get(pid, 0))

    def figures(self) -> dict[str, Any]:
        workers = {pid: kib for pid, kib in self.peaks.items() if pid not in {self.master, self.jobs}}
        master = self.peaks.get(self.master, 0)
        return {
            "master_kib": master,
            "workers_kib": list(workers.values()),
            "workers_seen": len(workers),
            "server_total_kib": master + sum(workers.values()),
            "jobs_kib": self.peaks.get(self.jobs) if self.jobs else None,
        }


def rss_line(figures: dict[str, Any], workers: int) -> str:
    mib = [f"{kib / KIB:.1f}" for kib in figures["workers_kib"]]
    line = (
        f"peak RSS (VmHWM, each process's own peak): gunicorn master {figures['master_kib'] / KIB:.1f} MiB, "
        f"workers {' + '.join(mib)} MiB, master+workers {figures['server_total_kib'] / KIB:.1f} MiB"
    )
    if figures["workers_seen"] > workers:
        line += f" ({figures['workers_seen'] - workers} worker(s) replaced during the run)"
    if figures["jobs_kib"] is not None:
        line += f"; linli jobs {figures['jobs_kib'] / KIB:.1f} MiB"
    return line


@dataclass
class LogFindings:
    errors: int
    samples: list[str]


def read_log(path: Path) -> LogFindings:
    """ERROR/CRITICAL lines and traceback endings in a log, which is then emptied (the children
    append to it, so they go on writing at its new end)."""
    text = path.read_text(errors="replace")
    os.truncate(path, 0)
    errors, in_traceback = 0, False
    samples: list[str] = []
    for line in text.splitlines():
        if " ERROR " in line or "[CRITICAL]" in line or "[ERROR]" in line:
            errors += 1
            sample = line[:200]
        elif line.startswith("Traceback"):
            in_traceback = True
            continue
        elif in_traceback and line and not line[0].isspace():
            in_traceback = False
            sample = "  " + line[:200]
        else:
            continue
        if sample not in samples and len(samples) < 2 * LOG_SAMPLES:
            samples.append(sample)
    return LogFindings(errors, samples)


# -- set-up through the API ---------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    label: str
    openid: str
    role: str


@dataclass(frozen=True)
class Targets:
    """Ids and codes picked from the seeded data, and what the lists answered at set-up."""

    detail_id: int
    detail_status: str
    candidates_id: int
    categories: tuple[str, ...]
    list_sizes: dict[str, int]


def call_api(base: str, method: str, path: str, token: str = "", body: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.request(method, base + path, json=body, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)
    if response.status_code != HTTP_OK:
        raise BenchError(f"set-up request {method} {path} -> {response.status_code}: {response.text[:300]}")
    return response.json()


def role_problem(person: Person, user: dict[str, Any], community: str) -> str | None:
    """Why ``person`` cannot play their part in ``community`` (None when they can)."""
    for held in user.get("roles", []):
        area = held.get("area") or {}
        in_community = area.get("code") == community
        if held.get("role") == person.role and (in_community or area.get("kind") == "grid"):
            return None
    roles = ", ".join(f"{r.get('role')}@{(r.get('area') or {}).get('code')}" for r in user.get("roles", []))
    return f"--{person.label} {person.openid} is not {person.role} in {community} (roles: {roles or 'none'})"


def login(base: str, person: Person, community: str) -> str:
    code = f"sim:{person.openid}#{uuid.uuid4().hex[:8]}"
    answer = call_api(base, "POST", "/api/v1/auth/login", body={"code": code})
    problem = role_problem(person, answer["user"], community)
    if problem:
        raise UsageError(problem + "; use the openids bench/seed.py printed")
    token: str = answer["token"]
    return token


def list_items(base: str, path: str, token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = call_api(base, "GET", path, token)["items"]
    return items


def discover(base: str, tokens: dict[str, str], community: str) -> Targets:
    """The detail's and the candidates' orders, the category codes, and each list's length."""
    staff_list = list_items(base, f"/api/v1/orders?scope=community&limit={LIST_LIMIT}", tokens["secretary"])
    if not staff_list:
        raise BenchError(f"the secretary sees no order in {community}: is the database seeded?")
    closed = list_items(base, "/api/v1/orders?scope=community&status=closed&limit=1", tokens["secretary"])
    detail = closed[0] if closed else staff_list[0]
    submitted = list_items(base, "/api/v1/orders?scope=community&status=submitted&limit=1", tokens["secretary"])
    categories = list_items(base, f"/api/v1/categories?community={community}", tokens["resident"])
    if not categories:
        raise BenchError(f"{community} has no service categories")
    sizes = {
        "community": len(staff_list),
        "mine": len(list_items(base, f"/api/v1/orders?scope=mine&limit={LIST_LIMIT}", tokens["resident"])),
        "pool": len(list_items(base, f"/api/v1/tasks/pool?limit={LIST_LIMIT}", tokens["volunteer"])),
    }
    if "grid_worker" in tokens:
        path = f"/api/v1/orders?scope=community&limit={LIST_LIMIT}"
        sizes["grid"] = len(list_items(base, path, tokens["grid_worker"]))
    return Targets(
        detail_id=detail["id"],
        detail_status=detail["status"],
        candidates_id=submitted[0]["id"] if submitted else detail["id"],
        categories=tuple(c["code"] for c in categories),
        list_sizes=sizes,
    )


def endpoints(targets: Targets, tokens: dict[str, str], community: str, skip: set[str]) -> list[Endpoint]:
    """Every endpoint measured, healthz first and the mix last, without the skipped ones."""
    secretary, resident, volunteer = tokens["secretary"], tokens["resident"], tokens["volunteer"]
    page = f"limit={LIST_LIMIT}"
    calls: dict[str, tuple[str, Call]] = {
        "healthz": ("GET /healthz", Call("GET", "/healthz")),
        "detail": (
            "GET /api/v1/orders/{id} (secretary)",
            Call("GET", f"/api/v1/orders/{targets.detail_id}", secretary),
        ),
        "mine": (
            "GET /api/v1/orders?scope=mine (resident)",
            Call("GET", f"/api/v1/orders?scope=mine&{page}", resident),
        ),
        "community": (
            "GET /api/v1/orders?scope=community (secretary)",
            Call("GET", f"/api/v1/orders?scope=community&{page}", secretary),
        ),
        "pool": ("GET /api/v1/tasks/pool (volunteer)", Call("GET", f"/api/v1/tasks/pool?{page}", volunteer)),
        "candidates": (
            "GET /api/v1/orders/{id}/candidates (secretary)",
            Call("GET", f"/api/v1/orders/{targets.candidates_id}/candidates", secretary),
        ),
        "create": (
            "POST /api/v1/orders (resident)",
            Call("POST", "/api/v1/orders", resident, create_body(community, targets.categories)),
        ),
    }
    if "grid_worker" in tokens:
        grid_call = Call("GET", f"/api/v1/orders?scope=community&{page}", tokens["grid_worker"])
        calls["grid"] = ("GET /api/v1/orders?scope=community (grid worker)", grid_call)
    chosen = [Endpoint(name, label, ((call, 1),)) for name, (label, call) in calls.items() if name not in skip]
    mix = [(name, weight) for name, weight in MIX.items() if name not in skip]
    if "mix" not in skip and mix:
        label = "weighted mix of the endpoints (MIX, below)"
        chosen.append(Endpoint("mix", label, tuple((calls[name][1], weight) for name, weight in mix)))
    return chosen


def list_warnings(targets: Targets, skip: set[str]) -> list[str]:
    return [
        f"the {name} list answered {size} items, not {LIST_LIMIT}: its figures are for a shorter list"
        for name, size in targets.list_sizes.items()
        if size < LIST_LIMIT and name not in skip
    ]


# -- the runs -----------------------------------------------------------------------------------


@dataclass
class Server:
    """The running ``linli serve``: its URL, its log, the RSS sampler, the temporary directory."""

    base: str
    log: Path
    rss: PeakRss
    tmp: Path


def start(args: argparse.Namespace, stack: ExitStack) -> Server:
    """Temporary directory, simulator, ``linli serve`` (and ``linli jobs``), each undone by ``stack``."""
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="linli-apibench-")))
    (tmp / "var").mkdir()
    env = child_environment(args.database_url, stack.enter_context(simulator()), tmp)
    port = free_port()
    command = [linli_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(args.workers), "--threads", str(args.threads)]
    server = Server(f"http://127.0.0.1:{port}", tmp / "serve.log", PeakRss(master=0), tmp)
    proc = stack.enter_context(child_process(command, env, server.log))
    server.rss.master = proc.pid
    wait_ready(server.base, proc, args.workers, server.log)
    if args.jobs:
        server.rss.jobs = stack.enter_context(child_process([linli_command(), "jobs"], env, tmp / "jobs.log")).pid
    return server


def prepare(args: argparse.Namespace, base: str) -> tuple[Targets, list[Endpoint], list[str]]:
    """Log the people in, pick the ids, build the endpoints; warnings about short lists."""
    tokens = {person.label.replace("-", "_"): login(base, person, args.community) for person in people(args)}
    targets = discover(base, tokens, args.community)
    return targets, endpoints(targets, tokens, args.community, args.skip), list_warnings(targets, args.skip)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def print_setup(args: argparse.Namespace, base: str, targets: Targets, chosen: list[Endpoint]) -> None:
    print(f"database {make_url(args.database_url).render_as_string(hide_password=True)}, community {args.community}")
    print(f"linli serve --workers {args.workers} --threads {args.threads} at {base}; linli jobs: {args.jobs}")
    print(f"detail: order {targets.detail_id} ({targets.detail_status}); candidates: order {targets.candidates_id}")
    print(f"categories: {', '.join(targets.categories)}; list sizes at set-up: {targets.list_sizes}")
    print(f"load average before: {load_average()} (on {os.cpu_count()} CPUs; others' load skews the figures)")
    estimate = len(chosen) * (args.seconds * args.runs + args.warmup)
    print(f"{len(chosen)} endpoints × {args.runs} runs × {args.seconds} s (+ warm-up): about {estimate} s", flush=True)


@dataclass
class Bench:
    """What a measurement needs: wrk, the server, and the settings of the load."""

    wrk: str
    server: Server
    seconds: int
    warmup: int
    connections: int

    def wrk_figures(self, script: Path, seconds: int) -> dict[str, Any]:
        command = [self.wrk, f"-t{WRK_THREADS}", f"-c{self.connections}", f"-d{seconds}s", f"--timeout={WRK_TIMEOUT}"]
        command += ["-s", str(script), f"{self.server.base}/"]
        proc = subprocess.Popen(  # noqa: S603 - wrk found on PATH, our own arguments
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            out, err = proc.communicate(timeout=seconds + READY_TIMEOUT_SECONDS)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            raise BenchError(f"wrk exited with {proc.returncode}: {err.strip()[:300]}")
        for line in out.splitlines():
            if line.startswith(WRK_MARKER):
                figures: dict[str, Any] = json.loads(line[len(WRK_MARKER) :])
                return figures
        raise BenchError(f"wrk printed no figures:\n{out[-500:]}{err[-500:]}")

    def measure(self, endpoint: Endpoint, run: int, warm: bool) -> Measurement:
        script = self.server.tmp / f"{endpoint.name}.lua"
        script.write_text(lua_script(endpoint))
        if warm and self.warmup:
            self.wrk_figures(script, self.warmup)
            time.sleep(SETTLE_SECONDS)
            read_log(self.server.log)
        measured = parse_wrk(endpoint.name, run, self.wrk_figures(script, self.seconds))
        time.sleep(SETTLE_SECONDS)
        found = read_log(self.server.log)
        measured.log_errors, measured.log_samples = found.errors, found.samples
        self.server.rss.sample()
        return measured


def run_all(bench: Bench, chosen: list[Endpoint], runs: int) -> list[Measurement]:
    measured = []
    for run in range(1, runs + 1):
        for endpoint in chosen:
            m = bench.measure(endpoint, run, warm=run == 1)
            print(measurement_line(m), flush=True)
            measured.append(m)
    return measured


def mix_line(skip: set[str]) -> str:
    weights = [(name, weight) for name, weight in MIX.items() if name not in skip]
    total = sum(weight for _name, weight in weights)
    return "mix: " + ", ".join(f"{name} {weight / total:.0%}" for name, weight in weights)


def report(args: argparse.Namespace, chosen: list[Endpoint], measured: list[Measurement]) -> list[Row]:
    baselines = {m.run: m for m in measured if m.endpoint == "healthz"}
    rows = [summarize(e, [m for m in measured if m.endpoint == e.name], baselines) for e in chosen]
    print()
    print(f"medians of {args.runs} run(s), {args.seconds} s each, {args.connections} connections:")
    print(table(rows))
    if any(e.name == "mix" for e in chosen):
        print(mix_line(args.skip))
    for line in problems(rows):
        print(line)
    created = sum(m.statuses.get(201, 0) for m in measured if m.endpoint in {"create", "mix"})
    if created:
        print(f"orders created in the database by this run: {created}")
    return rows


def jobs_findings(server: Server) -> dict[str, Any]:
    found = read_log(server.tmp / "jobs.log")
    print(f"linli jobs: {found.errors} error line(s) in its log" + "".join(f"\n    log: {s}" for s in found.samples))
    return {"jobs_log_errors": found.errors, "jobs_log_samples": found.samples}


def verdict(rows: list[Row]) -> int:
    failing = [row.name for row in rows if row.failed_share > MAX_FAILED_SHARE]
    print("RESULT: " + (f"FAIL (non-2xx above 1 %: {', '.join(failing)})" if failing else "ok"))
    return EXIT_FAILED if failing else EXIT_OK


def write_json(path: Path, args: argparse.Namespace, *, targets: Targets, rows: list[Row], **extra: Any) -> None:
    settings = {key: getattr(args, key) for key in ("seconds", "warmup", "runs", "workers", "threads", "connections")}
    document = {
        "database": make_url(args.database_url).render_as_string(hide_password=True),
        "community": args.community,
        "settings": {**settings, "wrk_threads": WRK_THREADS, "jobs": args.jobs, "skip": sorted(args.skip)},
        "mix_weights": {name: weight for name, weight in MIX.items() if name not in args.skip},
        "targets": asdict(targets),
        "endpoints": [{**asdict(row), "failed_share": row.failed_share} for row in rows],
        **extra,
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def people(args: argparse.Namespace) -> list[Person]:
    cast = [
        Person("secretary", args.secretary, "secretary"),
        Person("volunteer", args.volunteer, "volunteer"),
        Person("resident", args.resident, "resident"),
    ]
    if args.grid_worker:
        cast.append(Person("grid-worker", args.grid_worker, "grid_worker"))
    return cast


def benchmark(args: argparse.Namespace, wrk: str, stack: ExitStack) -> int:
    server = start(args, stack)
    targets, chosen, warnings = prepare(args, server.base)
    print_setup(args, server.base, targets, chosen)
    for warning in warnings:
        print(f"warning: {warning}")
    measured = run_all(Bench(wrk, server, args.seconds, args.warmup, args.connections), chosen, args.runs)
    rows = report(args, chosen, measured)
    rss = server.rss.figures()
    print(rss_line(rss, args.workers))
    print(f"load average after: {load_average()}")
    extra = jobs_findings(server) if args.jobs else {}
    status = verdict(rows)
    if args.json:
        runs = [{**asdict(m), "rate": m.rate, "non_2xx": m.non_2xx} for m in measured]
        write_json(args.json, args, targets=targets, rows=rows, runs=runs, peak_rss=rss, warnings=warnings, **extra)
        print(f"figures written to {args.json}")
    return status


# -- command line -------------------------------------------------------------------------------


def comma_set(text: str) -> set[str]:
    return {part.strip() for part in text.split(",") if part.strip()}


def check_database_url(parser: argparse.ArgumentParser, raw: str) -> str:
    """A PostgreSQL URL as given, or a SQLite URL made absolute (the server runs elsewhere)."""
    try:
        url = make_url(raw)
    except ArgumentError:
        parser.error(f"--database-url: not a database URL: {raw}")
    if url.get_backend_name() == "postgresql":
        return raw
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        parser.error("--database-url must be a PostgreSQL URL or a SQLite file (sqlite:///path)")
    path = Path(url.database).resolve()
    if not path.is_file():
        parser.error(f"--database-url: no SQLite file at {path}; seed one first (bench/seed.py)")
    return url.set(database=str(path)).render_as_string(hide_password=False)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True, help="the seeded database (PostgreSQL URL or sqlite:///file)")
    parser.add_argument("--community", required=True, help="the focus community's code")
    parser.add_argument("--secretary", required=True, help="openid of a secretary of the community")
    parser.add_argument("--volunteer", required=True, help="openid of a volunteer of the community")
    parser.add_argument("--resident", required=True, help="openid of a resident of the community")
    parser.add_argument("--grid-worker", default="", help="openid of a grid worker there (adds the grid endpoint)")
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per endpoint and run (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per endpoint, first run (default 2)")
    parser.add_argument("--runs", type=int, default=3, help="runs; medians are reported (default 3)")
    serve_help = "as linli serve's option (default %(default)s)"
    parser.add_argument("--workers", type=int, default=_serve_default("workers"), help=serve_help)
    parser.add_argument("--threads", type=int, default=_serve_default("threads"), help=serve_help)
    parser.add_argument("--connections", type=int, default=CONNECTIONS, help="wrk connections (default %(default)s)")
    parser.add_argument("--jobs", action="store_true", help="also run `linli jobs` and report its peak RSS")
    parser.add_argument("--skip", type=comma_set, default=set(), help="endpoints to leave out, e.g. candidates,mix")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    limits = {"seconds": MAX_SECONDS, "runs": MAX_RUNS, "workers": MAX_WORKERS, "threads": MAX_THREADS}
    for name, top in {**limits, "connections": MAX_CONNECTIONS}.items():
        if not 1 <= getattr(args, name) <= top:
            parser.error(f"--{name} must be between 1 and {top}")
    if not 0 <= args.warmup <= MAX_SECONDS:
        parser.error(f"--warmup must be between 0 and {MAX_SECONDS}")
    if args.connections < WRK_THREADS:
        parser.error(f"--connections must be at least {WRK_THREADS} (wrk's threads)")
    unknown = args.skip - {*MIX, "grid", "mix"}
    if unknown:
        parser.error(f"--skip: unknown endpoint(s) {', '.join(sorted(unknown))}; healthz cannot be skipped")
    args.database_url = check_database_url(parser, args.database_url)
    return args


def _interrupt(signum: int, frame: FrameType | None) -> None:
    del frame
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print("bench/api.py needs wrk on PATH: apt-get install -y wrk", file=sys.stderr)
        return EXIT_USAGE
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)  # SIGINT too: a shell's background job starts with it ignored
    try:
        with ExitStack() as stack:
            return benchmark(args, wrk, stack)
    except UsageError as exc:
        print(f"bench/api.py: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BenchError as exc:
        print(f"bench/api.py: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("bench/api.py: interrupted; everything it started is stopped", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
