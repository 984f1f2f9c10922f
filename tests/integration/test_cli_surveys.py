"""`linli surveys open` and `linli surveys evaluate`: a bad month first, then once per month."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from cli.main import main
from tests.integration.test_cli import (  # the migrated database of one CLI test, and its areas
    _env,
    _set_up_two_communities,
    cli_db,  # noqa: F401 - a fixture, used by name
)


def _surveys(url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT a.code, s.month FROM property_surveys s JOIN areas a ON a.id = s.community_id ORDER BY a.code"
            )
        ).all()
    engine.dispose()
    return [(code, month) for code, month in rows]


def test_surveys_open_once_per_month_and_evaluate(cli_db: str, tmp_path: Path) -> None:  # noqa: F811
    runner = CliRunner()
    env = _env(cli_db, tmp_path)
    _set_up_two_communities(runner, env)
    added = runner.invoke(
        main, ["property-company", "add", "阳光物业", "--community", "SQ001", "--community", "SQ002"], env=env
    )
    assert added.exit_code == 0, added.output
    for month in ("2026-13", "12-2026", ""):
        bad = runner.invoke(main, ["surveys", "open", "--month", month], env=env)
        assert bad.exit_code != 0
        assert "is not YYYY-MM" in bad.output
    assert runner.invoke(main, ["surveys", "open"], env=env).exit_code != 0
    assert _surveys(cli_db) == []
    first = runner.invoke(main, ["surveys", "open", "--month", "2026-12"], env=env)
    assert first.exit_code == 0, first.output
    assert "opened=2 invited=0" in first.output  # nobody has a household yet
    again = runner.invoke(main, ["surveys", "open", "--month", "2026-12"], env=env)
    assert "opened=0 invited=0" in again.output
    assert _surveys(cli_db) == [("SQ001", "2026-12"), ("SQ002", "2026-12")]
    judged = runner.invoke(main, ["surveys", "evaluate", "--month", "2026-12"], env=env)
    assert judged.exit_code == 0, judged.output
    assert "flagged=0" in judged.output
    assert runner.invoke(main, ["surveys", "evaluate", "--month", "2026/12"], env=env).exit_code != 0
