"""`linli report volunteer-hours`: bad input first, then a table on the terminal and an .xlsx file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cli.main import main
from tests.integration.test_cli import (  # the migrated database of one CLI test, and its areas
    _env,
    _set_up_two_communities,
    cli_db,  # noqa: F401 - a fixture, used by name
)

REPORT = ["report", "volunteer-hours"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--area", "NOPE", "--from", "2026-11-01", "--to", "2026-11-30"], "找不到社区或街道 NOPE"),
        (["--area", "SQ001", "--from", "2026-11-30", "--to", "2026-11-01"], "开始日期不能晚于结束日期"),
        (["--area", "SQ001", "--from", "2025-01-01", "--to", "2026-11-01"], "最长 366 天"),
        (["--area", "SQ001", "--from", "2026-11-31", "--to", "2026-12-01"], "Invalid value"),
        (["--area", "SQ001", "--from", "2026-11-01", "--to", "2026-11-30", "--by", "grid"], "Invalid value"),
    ],
)
def test_bad_reports_say_why_and_write_no_file(
    cli_db: str,  # noqa: F811
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    runner = CliRunner()
    env = _env(cli_db, tmp_path)
    _set_up_two_communities(runner, env)
    target = tmp_path / "hours.xlsx"
    result = runner.invoke(main, [*REPORT, *args, "-o", str(target)], env=env)
    assert result.exit_code != 0
    assert message in result.output
    assert not target.exists()


def test_a_streets_hours_on_the_terminal_and_in_a_file(cli_db: str, tmp_path: Path) -> None:  # noqa: F811
    runner = CliRunner()
    env = _env(cli_db, tmp_path)
    _set_up_two_communities(runner, env)
    engine = sa.create_engine(cli_db)
    with engine.begin() as conn:
        for openid, delta in (("o-li", 3), ("o-far", -2)):
            user_id = conn.scalar(sa.text("SELECT id FROM users WHERE openid = :o"), {"o": openid})
            conn.execute(
                sa.text(
                    "INSERT INTO points_entries (user_id, delta, reason, kind, created_at)"
                    " VALUES (:u, :d, '补录', 'adjusted', :at)"
                ),
                {"u": user_id, "d": delta, "at": datetime(2026, 11, 10, 2, tzinfo=UTC)},
            )
    engine.dispose()
    window = ["--from", "2026-11-01", "--to", "2026-11-30"]
    shown = runner.invoke(main, [*REPORT, "--area", "JD01", *window], env=env)
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[-1] == "合计\t3\t0.0h\t0\t0\t1"
    target = tmp_path / "hours.xlsx"
    written = runner.invoke(main, [*REPORT, "--area", "SQ001", *window, "--by", "team", "-o", str(target)], env=env)
    assert written.exit_code == 0, written.output
    workbook = openpyxl.load_workbook(target)
    assert workbook.sheetnames == ["汇总", "按服务队", "成员明细"]
    rows = list(workbook["按服务队"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in rows] == ["不在服务队", "合计"]
    assert rows[-1][1] == 2  # o-li and o-chen
    assert rows[-1][6] == 3  # o-li's +3
