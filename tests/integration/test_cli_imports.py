"""`linli import residents` and `linli import volunteers`: exit codes, the row report in Chinese,
nothing written on a bad row."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from app.core.config import Settings
from app.identity.models import User
from app.runtime import Runtime
from cli.main import main
from tests.factories import make_world
from tests.sheets import VOLUNTEER_HEADER, residents, volunteers, xlsx


def _run(settings: Settings, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {"LINLI_DATABASE__URL": settings.database_url, "LINLI_APP__VAR_DIR": str(tmp_path)}
    result = CliRunner().invoke(main, ["import", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def _count(rt: Runtime) -> int:
    with rt.db.read() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(User).where(User.imported_at.is_not(None))) or 0


def test_bad_rows_are_reported_in_chinese_with_exit_1_and_nothing_written(
    rt: Runtime, settings: Settings, tmp_path: Path
) -> None:
    make_world(rt)
    rows = residents(600)
    rows[9][1] = "1234"
    rows[599][2] = "火星"
    sheet = tmp_path / "居民.xlsx"
    sheet.write_bytes(xlsx(rows))
    code, out, err = _run(settings, tmp_path, "residents", str(sheet), "--community", "SQ1")
    assert code == 1
    assert "第 11 行 [手机号]：手机号格式不正确（应为 11 位大陆手机号）" in err
    assert "第 601 行 [网格]：本社区没有网格“火星”" in err
    assert "导入文件有 2 处错误，未导入任何数据" in err
    assert out == ""
    assert _count(rt) == 0


def test_other_refusals_exit_1_or_2(rt: Runtime, settings: Settings, tmp_path: Path) -> None:
    make_world(rt)
    not_xlsx = tmp_path / "list.xls"
    not_xlsx.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 64)
    code, _, err = _run(settings, tmp_path, "residents", str(not_xlsx), "--community", "SQ1")
    assert (code, "另存为 .xlsx" in err) == (1, True)
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx(residents(1)))
    code, _, err = _run(settings, tmp_path, "residents", str(good), "--community", "NOPE")
    assert code == 1
    assert "not_found" in err
    assert _run(settings, tmp_path, "residents", str(good))[0] == 2  # --community is required
    assert _run(settings, tmp_path, "residents", str(tmp_path / "missing.xlsx"), "--community", "SQ1")[0] == 2
    assert _count(rt) == 0


def test_a_good_file_imports_with_a_progress_bar(rt: Runtime, settings: Settings, tmp_path: Path) -> None:
    make_world(rt)
    sheet = tmp_path / "good.xlsx"
    sheet.write_bytes(xlsx(residents(600)))
    code, out, err = _run(settings, tmp_path, "residents", str(sheet), "--community", "SQ1")
    assert code == 0, err
    assert out.strip() == "已导入 600 位居民到 SQ1"
    assert "检查中" in err  # the bar's label (not a terminal here: the label only)
    assert _count(rt) == 600


def test_volunteers_bad_rows_are_reported_then_a_good_file_imports(
    rt: Runtime, settings: Settings, tmp_path: Path
) -> None:
    make_world(rt)
    rows = volunteers(600)
    rows[9][3] = "电工、开飞机"
    rows[599][5] = "区财政局"  # 双报到 of someone not a party member
    sheet = tmp_path / "志愿者.xlsx"
    sheet.write_bytes(xlsx(rows, VOLUNTEER_HEADER))
    code, out, err = _run(settings, tmp_path, "volunteers", str(sheet), "--community", "SQ1")
    assert code == 1
    assert "第 11 行 [技能]：本社区的技能库中没有：开飞机" in err
    assert "第 601 行 [报到单位]：填写报到单位（在职党员双报到）须“是否党员”为“是”" in err
    assert "导入文件有 2 处错误，未导入任何数据" in err
    assert (out, _count(rt)) == ("", 0)
    sheet.write_bytes(xlsx(volunteers(600), VOLUNTEER_HEADER))
    code, out, err = _run(settings, tmp_path, "volunteers", str(sheet), "--community", "SQ1")
    assert code == 0, err
    assert out.strip() == "已导入 600 位志愿者到 SQ1"
    assert "检查中" in err
    assert _count(rt) == 600
    assert _run(settings, tmp_path, "volunteers", str(sheet), "--community", "NOPE")[0] == 1
