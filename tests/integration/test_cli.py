"""The `linli` command: operator set-up, clear errors, and `linli run` as a newcomer uses it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from click.testing import CliRunner

from app.core.config import PROJECT_ROOT
from cli.main import main
from tests.dbutil import fresh_database_url


def _env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    return {"LINLI_DATABASE__URL": database_url, "LINLI_APP__VAR_DIR": str(var_dir), **extra}


@pytest.fixture
def cli_db(tmp_path: Path) -> str:
    url = fresh_database_url(tmp_path, "cli")
    result = CliRunner().invoke(main, ["db", "upgrade"], env=_env(url, tmp_path))
    assert result.exit_code == 0, result.output
    return url


def test_operator_set_up_commands(cli_db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = _env(cli_db, tmp_path)
    commands = [
        ["area", "add", "street", "JD01", "新华街道"],
        ["area", "add", "community", "SQ001", "和平社区", "--parent", "JD01"],
        ["area", "add", "grid", "SQ001-G1", "阳光小区", "--parent", "SQ001"],
        ["category", "add", "SQ001", "grocery", "买菜代购", "--points", "5", "--sla-hours", "24"],
        ["grant", "o-wang", "secretary", "SQ001"],
        ["grant", "o-wang", "secretary", "SQ001"],  # idempotent
        ["area", "robot", "SQ001", "--key", "robot-key-1"],
    ]
    for args in commands:
        result = runner.invoke(main, args, env=env)
        assert result.exit_code == 0, (args, result.output)
    engine = sa.create_engine(cli_db)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM areas")) == 3
        assert conn.scalar(sa.text("SELECT community_id FROM areas WHERE code='SQ001-G1'")) == conn.scalar(
            sa.text("SELECT id FROM areas WHERE code='SQ001'")
        )
        assert conn.scalar(sa.text("SELECT count(*) FROM role_memberships")) == 1
        assert conn.scalar(sa.text("SELECT wecom_robot_key FROM areas WHERE code='SQ001'")) == "robot-key-1"
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["area", "add", "community", "SQ9", "无上级社区"], "需要上级区域"),
        (["area", "add", "grid", "G9", "网格", "--parent", "NOPE"], "找不到区域 NOPE"),
        (["area", "add", "street", "JD01", "重复", "--parent", "X"], "街道不能有上级区域"),
        (["category", "add", "NOPE", "c", "类别", "--points", "1", "--sla-hours", "1"], "找不到区域 NOPE"),
        (["category", "add", "JD01", "c", "类别", "--points", "-1", "--sla-hours", "1"], "积分不能为负"),
        (["grant", "o-x", "volunteer", "NOPE"], "找不到区域 NOPE"),
    ],
)
def test_bad_commands_say_why_and_change_nothing(cli_db: str, tmp_path: Path, args: list[str], message: str) -> None:
    env = _env(cli_db, tmp_path)
    assert CliRunner().invoke(main, ["area", "add", "street", "JD01", "新华街道"], env=env).exit_code == 0
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 1
    assert message in result.output
    engine = sa.create_engine(cli_db)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM areas")) == 1
        assert conn.scalar(sa.text("SELECT count(*) FROM users")) == 0
    engine.dispose()


def _set_up_two_communities(runner: CliRunner, env: dict[str, str]) -> None:
    for args in (
        ["area", "add", "street", "JD01", "新华街道"],
        ["area", "add", "community", "SQ001", "和平社区", "--parent", "JD01"],
        ["area", "add", "community", "SQ002", "幸福里社区", "--parent", "JD01"],
        ["grant", "o-li", "volunteer", "SQ001"],
        ["grant", "o-chen", "volunteer", "SQ001"],
        ["grant", "o-far", "volunteer", "SQ002"],
    ):
        result = runner.invoke(main, args, env=env)
        assert result.exit_code == 0, (args, result.output)


def test_teams_and_property_companies(cli_db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = _env(cli_db, tmp_path)
    _set_up_two_communities(runner, env)
    made = runner.invoke(main, ["team", "add", "SQ001", "党员先锋队", "--leader", "o-li"], env=env)
    assert made.exit_code == 0, made.output
    assert "added team 1 党员先锋队 to SQ001" in made.output
    for _ in range(2):  # joining twice is joining once
        joined = runner.invoke(main, ["team", "member", "add", "1", "o-chen"], env=env)
        assert joined.exit_code == 0, joined.output
        assert "o-chen is a member of team 1 党员先锋队" in joined.output
    company = runner.invoke(
        main,
        ["property-company", "add", "阳光物业", "--community", "SQ001", "--community", "SQ002", "--staff", "o-pm"],
        env=env,
    )
    assert company.exit_code == 0, company.output
    assert "serving SQ001, SQ002" in company.output
    engine = sa.create_engine(cli_db)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT leader_id FROM teams")) == conn.scalar(
            sa.text("SELECT id FROM users WHERE openid = 'o-li'")
        )
        assert conn.scalar(sa.text("SELECT count(*) FROM team_members")) == 2
        assert conn.scalar(sa.text("SELECT count(*) FROM property_company_communities")) == 2
        assert conn.scalar(sa.text("SELECT count(*) FROM property_company_staff")) == 1
        # The staff member holds the role in each community the company serves.
        assert conn.scalar(sa.text("SELECT count(*) FROM role_memberships WHERE role = 'property_company'")) == 2
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["team", "add", "NOPE", "队"], "找不到区域 NOPE"),
        (["team", "add", "SQ001", "队", "--leader", "o-far"], "不是本社区的志愿者"),
        (["team", "add", "SQ001", "队", "--member", "o-nobody"], "o-nobody 不存在"),
        (["team", "add", "SQ001", "  "], "服务队名称"),
        (["team", "member", "add", "99", "o-li"], "找不到该服务队"),
        (["team", "member", "add", "0", "o-li"], "Invalid value"),
        (["team", "member", "add", str(2**63), "o-li"], "Invalid value"),
        (["property-company", "add", "阳光物业"], "Missing option '--community'"),
        (["property-company", "add", "阳光物业", "--community", "NOPE"], "找不到区域 NOPE"),
        (["property-company", "add", "阳光物业", "--community", "JD01"], "找不到区域 JD01"),
    ],
)
def test_bad_team_and_company_commands_say_why_and_change_nothing(
    cli_db: str, tmp_path: Path, args: list[str], message: str
) -> None:
    runner = CliRunner()
    env = _env(cli_db, tmp_path)
    _set_up_two_communities(runner, env)
    result = runner.invoke(main, args, env=env)
    assert result.exit_code != 0
    assert message in result.output
    engine = sa.create_engine(cli_db)
    with engine.connect() as conn:
        for table in ("teams", "team_members", "property_companies", "property_company_communities"):
            assert conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) == 0, table
    engine.dispose()


def test_a_team_name_is_taken_once_per_community(cli_db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = _env(cli_db, tmp_path)
    _set_up_two_communities(runner, env)
    assert runner.invoke(main, ["team", "add", "SQ001", "先锋队"], env=env).exit_code == 0
    again = runner.invoke(main, ["team", "add", "SQ001", "先锋队"], env=env)
    assert again.exit_code == 1
    assert "已有名为「先锋队」的服务队 (conflict)" in again.output
    assert runner.invoke(main, ["team", "add", "SQ002", "先锋队"], env=env).exit_code == 0


def test_unknown_config_key_stops_with_a_message_naming_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"LINLI_DATABASE__URLL": "sqlite:///x.db"})
    assert result.exit_code == 2
    assert "database.urll: unknown key" in result.output


def test_a_bad_rate_limit_stops_start_up_with_one_line_naming_the_key() -> None:
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"LINLI_LIMITS__LOGIN_PER_IP": "120/minit"})
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("linli: invalid configuration: limits.login_per_ip: ")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[str], seconds: float = 30) -> requests.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited early"
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {seconds}s")


@pytest.mark.parametrize(
    ("command", "port_variable", "health_path"),
    [
        (["serve", "--workers", "1", "--threads", "2"], "LINLI_SERVER__PORT", "/healthz"),
        (["wechat-sim"], "LINLI_WECHAT__SIMULATOR__PORT", "/_sim/health"),
    ],
)
def test_serve_and_wechat_sim_start_and_stop(
    tmp_path: Path, command: list[str], port_variable: str, health_path: str
) -> None:
    port = _free_port()
    env = {**os.environ, **_env(f"sqlite:///{tmp_path / 's.db'}", tmp_path), port_variable: str(port)}
    linli = Path(sys.executable).parent / "linli"
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [str(linli), *command],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        response = _wait_http(f"http://127.0.0.1:{port}{health_path}", process)
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=15)


def _readme_round_trip() -> str:
    """The shell block after "A round trip" in README.md, as a reader copies it."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    after = text.split("A round trip, to paste", 1)[1]
    return after.split("```sh\n", 1)[1].split("```", 1)[0]


def _round_trip_as_the_readme_pastes_it(api_port: int, env: dict[str, str]) -> None:
    """Run the README's round trip with bash against this server: only the port differs (and the
    `linli` of this interpreter's environment stands for `.venv/bin/linli`)."""
    script = _readme_round_trip().replace("127.0.0.1:8000", f"127.0.0.1:{api_port}")
    script = script.replace(".venv/bin/linli", str(Path(sys.executable).parent / "linli"))
    done = subprocess.run(  # noqa: S603 - bash running the README's own lines
        ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"dispatch \d+: 200", lines[0]), done.stdout
    assert re.fullmatch(r"pool: \['\d{8}-\d{4}'(, '\d{8}-\d{4}')*\]", lines[1]), done.stdout
    assert lines[2:7] == ["claim: 200", "start: 200", "complete: 200", "rate: 200", "points: 7"], done.stdout
    # The bot answers the secretary's 待办 with the one order still waiting (of the demo's two).
    assert lines[7] == "【待派单】共 1 件", done.stdout
    assert "3栋楼道灯坏了" in lines[8], done.stdout


def _token(api: str, openid: str) -> dict[str, str]:
    login = requests.post(f"{api}/api/v1/auth/login", json={"code": f"sim:{openid}"}, timeout=5)
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


def _demo_time_bank_round_trip(api: str) -> None:
    """The demo's volunteer can spend points at once, and the demo's cashier takes the code."""
    volunteer, cashier = _token(api, "volunteer-chen"), _token(api, "merchant-qian")
    balance = requests.get(f"{api}/api/v1/points", headers=volunteer, timeout=5).json()["balance"]
    rewards = requests.get(f"{api}/api/v1/rewards?community=SQ-HP", headers=volunteer, timeout=5).json()["items"]
    haircut = next(r for r in rewards if r["name"] == "理发一次")
    issued = requests.post(f"{api}/api/v1/redemptions", json={"reward_id": haircut["id"]}, headers=volunteer, timeout=5)
    assert issued.status_code == 201, issued.text
    code = issued.json()["redemption"]["code"]
    verified = requests.post(f"{api}/api/v1/redemptions/{code}/verify", json={}, headers=cashier, timeout=5)
    assert verified.status_code == 200, verified.text
    assert verified.json()["redemption"]["status"] == "redeemed"
    after = requests.get(f"{api}/api/v1/points", headers=volunteer, timeout=5).json()["balance"]
    assert after == balance - haircut["points"]


#: Runs argv[1:] with SIGINT ignored (exec keeps an ignored signal ignored).
_WITH_SIGINT_IGNORED = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"
)


def test_linli_run_serves_the_demo_and_login_works(tmp_path: Path) -> None:
    """What the README promises: one command, then log in as sim:alice and read /me."""
    api_port, sim_port = _free_port(), _free_port()
    env = {
        **os.environ,
        **_env(
            fresh_database_url(tmp_path, "run"),
            tmp_path,
            LINLI_SERVER__PORT=str(api_port),
            LINLI_WECHAT__SIMULATOR__PORT=str(sim_port),
            LINLI_WECHAT__API_BASE=f"http://127.0.0.1:{sim_port}",
            PYTHONFAULTHANDLER="1",
        ),
    }
    linli = Path(sys.executable).parent / "linli"
    # Started with SIGINT ignored, as a shell starts its background jobs (a CI script's `… &`):
    # Ctrl+C must stop it all the same.
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [sys.executable, "-c", _WITH_SIGINT_IGNORED, str(linli), "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = []
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            output.append(line)
            if "Press Ctrl+C" in line or process.poll() is not None:
                break
        text = "".join(output)
        assert "sim:alice" in text, text
        assert "linli bot say oa-secretary-wang" in text, text
        api = f"http://127.0.0.1:{api_port}"
        login = requests.post(f"{api}/api/v1/auth/login", json={"code": "sim:alice"}, timeout=5)
        assert login.status_code == 200, login.text
        token = login.json()["token"]
        me = requests.get(f"{api}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
        assert me["nickname"] == "张阿姨"
        assert {"role": "resident", "area": {"code": "SQ-HP", "name": "和平社区", "kind": "community"}} in me["roles"]
        assert me["household"]["room"] == "301"
        assert me["phone"] == "138****8000"
        assert requests.get(f"{api}/readyz", timeout=5).status_code == 200
        _round_trip_as_the_readme_pastes_it(api_port, env)
        _demo_time_bank_round_trip(api)
        time.sleep(4.5)  # two polls of the outbox (every 2 s): neither may print a line
    finally:
        _stop_with_ctrl_c(process)


def _stop_with_ctrl_c(process: subprocess.Popen[str]) -> None:
    """Ctrl+C, then it exits 0 without running another job; on failure, what it was doing."""
    process.send_signal(signal.SIGINT)
    try:
        # Alone it stops in about a second; allow a loaded CI box far more.
        assert process.wait(timeout=30) == 0
        assert process.stdout is not None
        rest = process.stdout.read()
        assert "Running job" not in rest, rest
        assert "executed successfully" not in rest, rest
    except subprocess.TimeoutExpired:
        # SIGABRT makes faulthandler (PYTHONFAULTHANDLER) print every thread's stack: what it
        # printed after Ctrl+C, and those stacks, say what it was still doing.
        process.send_signal(signal.SIGABRT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        tail = process.stdout.read()[-8000:] if process.stdout is not None else ""
        pytest.fail(f"linli run did not stop on Ctrl+C; its last output:\n{tail}")
    finally:
        if process.stdout is not None:
            process.stdout.close()


def test_bot_say_fails_clearly_without_a_server_or_in_safe_mode(tmp_path: Path) -> None:
    env = _env(f"sqlite:///{tmp_path}/none.db", tmp_path, LINLI_SERVER__PORT=str(_free_port()))
    nobody = CliRunner().invoke(main, ["bot", "say", "oa-secretary-wang", "待办"], env=env)
    assert nobody.exit_code == 1
    assert "could not talk to the bot" in nobody.output
    safe = {**env, "LINLI_WECHAT__OFFICIAL_ACCOUNT__ENCODING_AES_KEY": "a" * 43}
    refused = CliRunner().invoke(main, ["bot", "say", "oa-secretary-wang", "待办"], env=safe)
    assert refused.exit_code == 1
    assert "plain mode only" in refused.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["skill", "add", "NOPE", "sewing", "缝补"], "找不到区域 NOPE"),
        (["skill", "add", "SQ001", "electrician", "电工"], "已在本社区的技能库中"),  # seeded with the community
        (["skill", "add", "SQ001", "x" * 33, "太长"], "技能编码、名称"),
        (["skill", "add", "SQ001", "sewing", "  "], "技能编码、名称"),
        (["category", "add", "SQ001", "c", "类别", "--points", "1", "--sla-hours", "1", "--skill", "sewing"], "技能库"),
    ],
)
def test_bad_skill_commands_say_why_and_change_nothing(
    cli_db: str, tmp_path: Path, args: list[str], message: str
) -> None:
    runner = CliRunner()
    env = _env(cli_db, tmp_path)
    _set_up_two_communities(runner, env)
    engine = sa.create_engine(cli_db)
    with engine.connect() as conn:
        before = conn.scalar(sa.text("SELECT count(*) FROM skills"))
    result = runner.invoke(main, args, env=env)
    assert result.exit_code != 0
    assert message in result.output
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM skills")) == before
        assert conn.scalar(sa.text("SELECT count(*) FROM service_categories")) == 0
    engine.dispose()


def test_skills_are_added_to_one_communitys_catalogue_and_categories_may_ask_for_them(
    cli_db: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = _env(cli_db, tmp_path)
    _set_up_two_communities(runner, env)
    added = runner.invoke(main, ["skill", "add", "SQ001", "sewing", "缝补"], env=env)
    assert added.exit_code == 0, added.output
    assert "added skill sewing 缝补 to SQ001" in added.output
    asks = ["category", "add", "SQ001", "mend", "缝补衣物", "--points", "5", "--sla-hours", "24", "--skill", "sewing"]
    assert runner.invoke(main, asks, env=env).exit_code == 0
    elsewhere = runner.invoke(main, [*asks[:2], "SQ002", *asks[3:]], env=env)
    assert elsewhere.exit_code != 0
    assert "sewing" in elsewhere.output


def test_a_deactivated_skill_can_no_longer_be_asked_for(cli_db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = _env(cli_db, tmp_path)
    _set_up_two_communities(runner, env)
    missing = runner.invoke(main, ["skill", "deactivate", "SQ001", "juggling"], env=env)
    assert missing.exit_code != 0
    assert "juggling" in missing.output
    retired = runner.invoke(main, ["skill", "deactivate", "SQ001", "haircut"], env=env)
    assert retired.exit_code == 0, retired.output
    assert "skill haircut 理发 of SQ001 is no longer offered" in retired.output
    asks = ["category", "add", "SQ001", "cut", "理发", "--points", "5", "--sla-hours", "24", "--skill", "haircut"]
    refused = runner.invoke(main, asks, env=env)
    assert refused.exit_code != 0
    assert "haircut" in refused.output
    assert runner.invoke(main, [*asks[:2], "SQ002", *asks[3:]], env=env).exit_code == 0  # theirs is still offered
    # Added again: offered again.
    assert runner.invoke(main, ["skill", "add", "SQ001", "haircut", "理发"], env=env).exit_code == 0
    assert runner.invoke(main, asks, env=env).exit_code == 0


def test_a_team_leader_is_one_of_its_members(cli_db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = _env(cli_db, tmp_path)
    _set_up_two_communities(runner, env)
    assert runner.invoke(main, ["team", "add", "SQ001", "党员先锋队", "--leader", "o-li"], env=env).exit_code == 0
    refused = runner.invoke(main, ["team", "leader", "1", "o-chen"], env=env)
    assert refused.exit_code != 0
    assert "队长须是本服务队的队员" in refused.output
    assert runner.invoke(main, ["team", "member", "add", "1", "o-chen"], env=env).exit_code == 0
    changed = runner.invoke(main, ["team", "leader", "1", "o-chen"], env=env)
    assert changed.exit_code == 0, changed.output
    assert "o-chen leads team 1 党员先锋队" in changed.output
    engine = sa.create_engine(cli_db)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT leader_id FROM teams")) == conn.scalar(
            sa.text("SELECT id FROM users WHERE openid = 'o-chen'")
        )
    engine.dispose()
