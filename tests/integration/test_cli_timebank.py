"""The time bank's operator commands: `linli merchant add` and `linli reward add`, bad input first."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cli.main import main
from tests.integration.test_cli import (  # the migrated database of one CLI test, and its areas
    _env,
    _set_up_two_communities,
    cli_db,  # noqa: F401 - a fixture, used by name
)


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        counts = {
            table: int(conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0) for table in ("merchants", "rewards")
        }
    engine.dispose()
    return counts


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["merchant", "add", "NOPE", "惠民超市"], "找不到区域 NOPE"),
        (["merchant", "add", "JD01", "惠民超市"], "找不到区域 JD01"),
        (["merchant", "add", "SQ001", "  "], "商户名称"),
        (["reward", "add", "SQ001", "99", "洗衣液", "30"], "商户不存在或不属于本社区"),
        (["reward", "add", "SQ001", "0", "洗衣液", "30"], "Invalid value"),
        (["reward", "add", "SQ001", "1", "洗衣液", "0"], "Invalid value"),
        (["reward", "add", "SQ001", "1", "洗衣液", "30", "--stock", "0"], "Invalid value"),
        (["reward", "add", "NOPE", "1", "洗衣液", "30"], "找不到区域 NOPE"),
    ],
)
def test_bad_time_bank_commands_say_why_and_change_nothing(
    cli_db: str,  # noqa: F811
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    runner = CliRunner()
    env = _env(cli_db, tmp_path)
    _set_up_two_communities(runner, env)
    result = runner.invoke(main, args, env=env)
    assert result.exit_code != 0
    assert message in result.output
    assert _counts(cli_db) == {"merchants": 0, "rewards": 0}


def test_a_merchant_and_its_rewards(cli_db: str, tmp_path: Path) -> None:  # noqa: F811
    runner = CliRunner()
    env = _env(cli_db, tmp_path)
    _set_up_two_communities(runner, env)
    made = runner.invoke(main, ["merchant", "add", "SQ001", "惠民超市"], env=env)
    assert made.exit_code == 0, made.output
    assert "added merchant 1 惠民超市 in SQ001" in made.output
    twin = runner.invoke(main, ["merchant", "add", "SQ001", "惠民超市"], env=env)
    assert twin.exit_code == 1
    assert "(merchant_name_taken)" in twin.output
    # A merchant of SQ001 gives no reward in SQ002.
    elsewhere = runner.invoke(main, ["reward", "add", "SQ002", "1", "洗衣液", "30"], env=env)
    assert elsewhere.exit_code == 1
    limited = runner.invoke(main, ["reward", "add", "SQ001", "1", "洗衣液一瓶", "30", "--stock", "20"], env=env)
    assert limited.exit_code == 0, limited.output
    assert "added reward 1 洗衣液一瓶 for 30 points (20) in SQ001" in limited.output
    unlimited = runner.invoke(main, ["reward", "add", "SQ001", "1", "理发一次", "50"], env=env)
    assert "(unlimited)" in unlimited.output
    assert _counts(cli_db) == {"merchants": 1, "rewards": 2}
