"""`linli serve --workers 2`: /metrics answers for every worker (prometheus_client's multiprocess
mode), whichever worker the scrape reaches, and the metrics directory starts empty."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from app.core.config import PROJECT_ROOT
from cli.main import main
from tests.integration.test_cli import _env, _free_port, _wait_http

REQUESTS = 60
#: Rounds of REQUESTS at most, until both workers have served some.
ROUNDS = 10


def _healthz_count(text: str) -> float:
    """linli_http_requests_total of GET /healthz 200, summed over what the text holds."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "linli_http_requests"
        for sample in family.samples
        if sample.name == "linli_http_requests_total" and sample.labels.get("endpoint") == "/healthz"
    )


def _one_worker(counter_file: Path, tmp_path: Path) -> float:
    """What a per-process registry in that worker would have shown: its own file alone."""
    # A directory of its own each time: the test asks again after every round of requests.
    with tempfile.TemporaryDirectory(dir=tmp_path) as alone:
        shutil.copy(counter_file, alone)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=alone)  # type: ignore[no-untyped-call]
        return _healthz_count(generate_latest(registry).decode())


def test_metrics_add_up_across_gunicorn_workers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert CliRunner().invoke(main, ["db", "upgrade"], env=_env(url, tmp_path)).exit_code == 0
    metrics_dir = tmp_path / "metrics"  # the default: <app.var_dir>/metrics
    metrics_dir.mkdir()
    # A previous run's file (here unreadable too): summed into this run, or failing every scrape,
    # unless `linli serve` clears it.
    (metrics_dir / "counter_1.db").write_bytes(b"left over from the last run")
    (metrics_dir / "keep.txt").write_text("not ours")

    port = _free_port()
    env = {**os.environ, **_env(url, tmp_path), "LINLI_SERVER__PORT": str(port)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    linli = Path(sys.executable).parent / "linli"
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [str(linli), "serve", "--workers", "2", "--threads", "2"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait_http(f"{base}/readyz", process).status_code == 200
        assert not (metrics_dir / "counter_1.db").exists()
        assert (metrics_dir / "keep.txt").exists()  # only *.db files are cleared

        # Each request on a new connection, several at a time, so that both workers take some. The
        # kernel may still hand one worker a whole round (seen under load), so rounds go on, a
        # bounded number of them, until each worker has served some: the point is the sum.
        sent, per_worker = 0, []
        for _ in range(ROUNDS):
            with ThreadPoolExecutor(max_workers=8) as pool:
                statuses = list(
                    pool.map(lambda _: requests.get(f"{base}/healthz", timeout=10).status_code, range(REQUESTS))
                )
            assert statuses == [200] * REQUESTS
            sent += REQUESTS
            per_worker = [_one_worker(path, tmp_path) for path in sorted(metrics_dir.glob("counter_*.db"))]
            if len([count for count in per_worker if count]) == 2:
                break
        # Without the shared files, a scrape would show one worker's part only.
        served = [count for count in per_worker if count]
        assert len(served) == 2, f"one worker took every request of {ROUNDS} rounds: {per_worker}"
        assert sum(served) == sent
        assert all(count < sent for count in served)

        scrapes = [requests.get(f"{base}/metrics", timeout=10) for _ in range(6)]
        # Every scrape, whichever worker answers it, counts all the requests of both workers.
        assert [_healthz_count(page.text) for page in scrapes] == [sent] * 6
        assert 'linli_outbox_messages{status="dead"} 0.0' in scrapes[0].text
        assert "linli_http_request_duration_seconds_bucket" in scrapes[0].text

        # A worker killed outright: gunicorn's master calls child_exit, which removes the worker's
        # "live" gauge files (a stand-in here: we keep no such gauge); its counters stay counted.
        victim = int(sorted(metrics_dir.glob("counter_*.db"))[0].stem.split("_")[1])
        live_gauge = metrics_dir / f"gauge_livemax_{victim}.db"
        live_gauge.write_bytes(b"")
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while live_gauge.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not live_gauge.exists(), "child_exit did not mark the killed worker dead"
        assert _healthz_count(requests.get(f"{base}/metrics", timeout=10).text) == sent
    finally:
        process.terminate()
        process.wait(timeout=15)
