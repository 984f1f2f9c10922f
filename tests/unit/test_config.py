"""Configuration: defaults, file and environment overrides, and clear errors naming bad keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.config import DEFAULT_CONFIG_PATH, PROJECT_ROOT, ConfigError, env_overrides, load_settings


def test_committed_config_loads_as_is() -> None:
    settings = load_settings(DEFAULT_CONFIG_PATH, environ={})
    assert settings.database.url == "sqlite:///var/linli.db"
    assert settings.database_url.endswith("/var/linli.db")
    assert settings.database_url.startswith("sqlite:////")  # resolved to an absolute path
    assert settings.wechat.api_base == "http://127.0.0.1:8001"
    assert not settings.wechat.talks_to_real_wechat


def test_environment_overrides_single_keys_with_json_values() -> None:
    settings = load_settings(
        DEFAULT_CONFIG_PATH,
        environ={
            "LINLI_DATABASE__URL": "postgresql+psycopg://u@h/db",
            "LINLI_SERVER__PORT": "9090",
            "LINLI_DATABASE__ECHO": "true",
            "LINLI_WECHAT__MINIPROGRAM__APPID": "wx123",
            "LINLI_CONFIG_UNRELATED": "ignored: no double underscore",
        },
    )
    assert settings.database.url == "postgresql+psycopg://u@h/db"
    assert settings.server.port == 9090
    assert settings.database.echo is True
    assert settings.wechat.miniprogram.appid == "wx123"


def test_linli_config_file_overrides_the_committed_file(tmp_path: Path) -> None:
    extra = tmp_path / "prod.toml"
    extra.write_text('[server]\nport = 7000\n[wechat.miniprogram]\nappid = "wxfile"\n', encoding="utf-8")
    settings = load_settings(DEFAULT_CONFIG_PATH, environ={"LINLI_CONFIG": str(extra), "LINLI_SERVER__PORT": "7001"})
    assert settings.wechat.miniprogram.appid == "wxfile"
    assert settings.server.port == 7001  # the environment wins over the file


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"LINLI_DATABASE__URLL": "x"}, "database.urll: unknown key"),
        ({"LINLI_NOSUCH__KEY": "1"}, "nosuch: unknown key"),
        ({"LINLI_SERVER__PORT": "not-a-port"}, "server.port"),
        ({"LINLI_SERVER__PORT": "70000"}, "server.port"),
        ({"LINLI_APP__ENVIRONMENT": "staging"}, "app.environment"),
        ({"LINLI_WECHAT__OFFICIAL_ACCOUNT__ENCODING_AES_KEY": "short"}, "wechat.official_account"),
        ({"LINLI_UPLOADS__LINK_MINUTES": "0"}, "uploads.link_minutes"),
        ({"LINLI_UPLOADS__LINK_MINUTES": "1441"}, "uploads.link_minutes"),
        ({"LINLI_LIMITS__LOGIN_PER_IP": "120/minit"}, "limits.login_per_ip: Value error, '120/minit' is not"),
        ({"LINLI_LIMITS__CLAIM_PER_USER": "lots"}, "limits.claim_per_user"),
        ({"LINLI_LIMITS__URGE_PER_USER": "10"}, "limits.urge_per_user"),
        ({"LINLI_LIMITS__REDEEM_PER_IP": "0/minute"}, "limits.redeem_per_ip: Value error, '0/minute': a limit of 0"),
        ({"LINLI_LIMITS__LOGIN_PER_OPENID": "10/minute;x"}, "limits.login_per_openid"),
        ({"LINLI_LIMITS__STORAGE": "memcached"}, "limits.storage"),
        ({"LINLI_LIMITS__STORAGE": "redis"}, 'limits.storage = "redis" needs redis.url'),
        ({"LINLI_SERVER__TRUSTED_PROXIES": "-1"}, "server.trusted_proxies"),
        ({"LINLI_SERVER__CORS_ORIGINS": '["*"]'}, "server.cors_origins"),
        ({"LINLI_SERVER__CORS_ORIGINS": '["https://a.example/path"]'}, "server.cors_origins"),
        ({"LINLI_SERVER__MAX_JSON_BYTES": "10"}, "server.max_json_bytes"),
    ],
)
def test_bad_keys_are_named(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_settings(DEFAULT_CONFIG_PATH, environ=environ)


def test_unknown_key_in_a_file_is_named(tmp_path: Path) -> None:
    extra = tmp_path / "typo.toml"
    extra.write_text("[database]\nurll = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"database\.urll: unknown key"):
        load_settings(DEFAULT_CONFIG_PATH, environ={"LINLI_CONFIG": str(extra)})


def test_missing_and_broken_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, environ={})


def test_production_refuses_to_start_without_secrets() -> None:
    with pytest.raises(ConfigError, match=r"auth\.secret_key"):
        load_settings(DEFAULT_CONFIG_PATH, environ={"LINLI_APP__ENVIRONMENT": "production"})
    settings = load_settings(
        DEFAULT_CONFIG_PATH,
        environ={
            "LINLI_APP__ENVIRONMENT": "production",
            "LINLI_AUTH__SECRET_KEY": "k",
            "LINLI_WECHAT__MINIPROGRAM__SECRET": "s1",
            "LINLI_WECHAT__OFFICIAL_ACCOUNT__SECRET": "s2",
            "LINLI_WECHAT__OFFICIAL_ACCOUNT__TOKEN": "t",
        },
    )
    assert settings.app.environment == "production"


def test_real_wechat_needs_real_secrets() -> None:
    with pytest.raises(ConfigError, match=r"wechat\.miniprogram\.secret"):
        load_settings(DEFAULT_CONFIG_PATH, environ={"LINLI_WECHAT__API_BASE": "https://api.weixin.qq.com"})


def test_settings_are_frozen() -> None:
    settings = load_settings(DEFAULT_CONFIG_PATH, environ={})
    with pytest.raises(ValueError, match="frozen"):
        settings.server.port = 1  # type: ignore[misc]


def test_malformed_variable_names_are_rejected() -> None:
    with pytest.raises(ConfigError, match="LINLI_DATABASE____URL"):
        env_overrides({"LINLI_DATABASE____URL": "x"})


def test_every_key_in_config_toml_has_a_comment() -> None:
    lines = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            assert lines[index - 1].lstrip().startswith("#"), f"no comment above: {line}"


def test_the_configured_lanes_are_the_order_domains_lanes() -> None:
    """config.py repeats the lane names (core sits below orders); they must stay the same."""
    from typing import get_args

    from app.core.config import LaneName
    from app.orders.workflow import Lane, TriageLevel

    assert set(get_args(LaneName)) == {lane.value for lane in Lane}
    lanes = load_settings(environ={}).orders.lanes
    assert {level.value: lanes.of(level.value) for level in TriageLevel} == {
        "major": "escalate",
        "minor": "grid_worker",
        "routine": "volunteers",
    }


def test_shipped_limits_are_on_and_counted_across_processes() -> None:
    limits = load_settings(DEFAULT_CONFIG_PATH, environ={}).limits
    assert limits.enabled
    assert limits.storage == "auto"  # Redis with redis.url, else the database; never memory
    assert load_settings(DEFAULT_CONFIG_PATH, environ={}).server.trusted_proxies == 0


def test_several_windows_in_one_limit_are_accepted() -> None:
    environ = {"LINLI_LIMITS__CLAIM_PER_USER": "3/second; 5 per 10 minutes"}
    settings = load_settings(DEFAULT_CONFIG_PATH, environ=environ)
    assert settings.limits.claim_per_user == "3/second; 5 per 10 minutes"
    with pytest.raises(KeyError):
        settings.limits.limit("nosuch")


def test_memory_limits_are_refused_in_production() -> None:
    production = {
        "LINLI_APP__ENVIRONMENT": "production",
        "LINLI_AUTH__SECRET_KEY": "k",
        "LINLI_WECHAT__MINIPROGRAM__SECRET": "s1",
        "LINLI_WECHAT__OFFICIAL_ACCOUNT__SECRET": "s2",
        "LINLI_WECHAT__OFFICIAL_ACCOUNT__TOKEN": "t",
    }
    with pytest.raises(ConfigError, match=r'limits\.storage = "memory" counts per process'):
        load_settings(DEFAULT_CONFIG_PATH, environ={**production, "LINLI_LIMITS__STORAGE": "memory"})
    # Memory is for a laptop and the tests, when asked for.
    assert load_settings(DEFAULT_CONFIG_PATH, environ={"LINLI_LIMITS__STORAGE": "memory"}).limits.storage == "memory"


def test_cors_origins_are_kept_without_a_trailing_slash() -> None:
    environ = {"LINLI_SERVER__CORS_ORIGINS": '["https://admin.example.cn/", "http://127.0.0.1:5173"]'}
    origins = load_settings(DEFAULT_CONFIG_PATH, environ=environ).server.cors_origins
    assert origins == ["https://admin.example.cn", "http://127.0.0.1:5173"]


def test_metrics_directory_defaults_under_var_and_resolves_relative_paths(tmp_path: Path) -> None:
    shipped = load_settings(DEFAULT_CONFIG_PATH, environ={})
    assert shipped.metrics_multiproc_path == PROJECT_ROOT / "var" / "metrics"
    assert shipped.metrics.jobs_port == 0  # the job process serves no figures unless asked
    moved = load_settings(DEFAULT_CONFIG_PATH, environ={"LINLI_APP__VAR_DIR": str(tmp_path)})
    assert moved.metrics_multiproc_path == tmp_path / "metrics"
    relative = load_settings(DEFAULT_CONFIG_PATH, environ={"LINLI_METRICS__MULTIPROC_DIR": "run/prom"})
    assert relative.metrics_multiproc_path == PROJECT_ROOT / "run" / "prom"
    with pytest.raises(ConfigError, match=r"metrics\.jobs_port"):
        load_settings(DEFAULT_CONFIG_PATH, environ={"LINLI_METRICS__JOBS_PORT": "70000"})
