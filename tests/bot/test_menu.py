"""`linli bot menu` pushes the configured menu through the gateway; the menu is checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from app.bot.events import MENU_COMMANDS
from app.core.config import BOT_MENU_KEYS, DEFAULT_CONFIG_PATH, BotSection, ConfigError, load_settings
from cli.main import main
from tests.bot.wechat_server import OA_APPID
from wechat_sim import SimulatorServer


def _env(simulator: SimulatorServer, tmp_path: Path) -> dict[str, str]:
    return {
        "LINLI_WECHAT__API_BASE": simulator.base_url,
        "LINLI_DATABASE__URL": f"sqlite:///{tmp_path / 'menu.db'}",
        "LINLI_APP__VAR_DIR": str(tmp_path),
        "LINLI_AUTH__SECRET_KEY": "k",
    }


def test_bot_menu_pushes_the_configured_menu(simulator: SimulatorServer, tmp_path: Path) -> None:
    assert simulator.state.get_menu(OA_APPID) is None
    result = CliRunner().invoke(main, ["bot", "menu"], env=_env(simulator, tmp_path))
    assert result.exit_code == 0, result.output
    assert "我的待办" in result.output
    assert simulator.state.get_menu(OA_APPID) == {"button": BotSection().menu}


def test_bot_menu_reports_a_refusal(simulator: SimulatorServer, tmp_path: Path) -> None:
    simulator.state.inject_fault("/cgi-bin/menu/create", errcode=40016)
    result = CliRunner().invoke(main, ["bot", "menu"], env=_env(simulator, tmp_path))
    assert result.exit_code == 1
    assert "WeChat refused the menu" in result.output
    assert "40016" in result.output
    assert simulator.state.get_menu(OA_APPID) is None


@pytest.mark.parametrize(
    ("menu", "problem"),
    [
        ([], "1–3 top-level buttons"),
        ([{"type": "click", "name": f"按钮{i}", "key": "CMD_HELP"} for i in range(4)], "1–3 top-level buttons"),
        ([{"type": "click", "name": "一个很长很长的菜单名字", "key": "CMD_HELP"}], "bytes"),
        ([{"type": "click", "name": "待办", "key": "CMD_NOPE"}], "click key"),
        ([{"name": "更多"}], "needs a type"),
        ([{"name": "更多", "sub_button": []}], "sub_button"),
    ],
)
def test_a_menu_wechat_would_refuse_is_a_config_error(menu: list[dict[str, object]], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_settings(DEFAULT_CONFIG_PATH, environ={}, overrides={"bot": {"menu": menu}})


def test_every_menu_key_the_config_allows_is_one_the_bot_answers() -> None:
    assert set(BOT_MENU_KEYS) == set(MENU_COMMANDS)
    assert {button["key"] for button in BotSection().menu} <= set(MENU_COMMANDS)
