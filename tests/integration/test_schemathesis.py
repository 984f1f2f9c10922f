"""Property-based tests of the whole API from its own OpenAPI document (schemathesis), against
a real `linli run` with the demo data, as a resident, a secretary and a volunteer: every
operation, generated paths, queries and bodies, and the stateful links between operations.

Checks: never a server error; every status is one the document lists for the operation; bodies,
content types and headers are the documented ones. A few examples per operation keep this to
about a minute; `LINLI_SCHEMATHESIS_EXAMPLES` raises it for a longer run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from app.core.config import PROJECT_ROOT
from tests.dbutil import fresh_database_url
from tests.integration.test_cli import _env, _free_port, _wait_http

EXAMPLES = os.environ.get("LINLI_SCHEMATHESIS_EXAMPLES", "5")
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "response_schema_conformance",
        "content_type_conformance",
        "response_headers_conformance",
    )
)
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def demo_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `linli run` of its own (API, jobs, simulator, demo data) on free ports."""
    tmp = tmp_path_factory.mktemp("schemathesis")
    api_port, sim_port = _free_port(), _free_port()
    env = {
        **os.environ,
        **_env(
            fresh_database_url(tmp, "schemathesis"),
            tmp,
            LINLI_SERVER__PORT=str(api_port),
            LINLI_WECHAT__SIMULATOR__PORT=str(sim_port),
            LINLI_WECHAT__API_BASE=f"http://127.0.0.1:{sim_port}",
        ),
    }
    log = (tmp / "server.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [str(BIN / "linli"), "run"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_http(f"http://127.0.0.1:{api_port}/readyz", process, seconds=60)
        yield f"http://127.0.0.1:{api_port}"
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()
    server_log = (tmp / "server.log").read_text(encoding="utf-8")
    assert "Traceback" not in server_log, server_log[-4000:]


@pytest.mark.parametrize("openid", ["alice", "secretary-wang", "volunteer-li"])
def test_every_operation_conforms_and_never_fails(demo_api: str, openid: str, tmp_path: Path) -> None:
    login = requests.post(f"{demo_api}/api/v1/auth/login", json={"code": f"sim:{openid}#st"}, timeout=10)
    assert login.status_code == 200, login.text
    done = subprocess.run(  # noqa: S603 - the schemathesis of this environment
        [
            str(BIN / "schemathesis"),
            "run",
            f"{demo_api}/openapi.json",
            "--header",
            f"Authorization: Bearer {login.json()['token']}",
            "--checks",
            CHECKS,
            "--max-examples",
            EXAMPLES,
            "--seed",
            "20261201",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "passed" in done.stdout, done.stdout[-2000:]
