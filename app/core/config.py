"""Settings: config.toml, then the LINLI_CONFIG file, then LINLI_<SECTION>__<KEY> variables.

This is the only module that reads ``os.environ`` for configuration. The result is a frozen,
typed :class:`Settings`, validated once at start-up; a bad key stops the process with a
message that names it.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config.toml"
ENV_PREFIX = "LINLI_"
PRODUCTION_WECHAT_HOST = "api.weixin.qq.com"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the offending key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AppSection(_Section):
    environment: Literal["development", "production"] = "development"
    var_dir: Path = Path("var")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: "text" for a person at a terminal, "json" (one object per line) for a log collector.
    log_format: Literal["text", "json"] = "text"


class ServerSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    #: How many reverse proxies in front of the API append to X-Forwarded-For (0: none is trusted).
    trusted_proxies: int = Field(default=0, ge=0, le=10)
    #: Browser origins allowed to call the API (CORS); empty: no CORS headers at all.
    cors_origins: list[str] = []
    #: Largest request body of a JSON endpoint; uploads have their own limit (uploads.max_bytes).
    max_json_bytes: int = Field(default=64 * 1024, ge=1024)

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            # A "*" with bearer tokens would let any web page script the API for a logged-in
            # browser tab of an admin; name each origin instead.
            parts = urlsplit(origin)
            if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path not in {"", "/"}:
                raise ValueError(f"{origin!r} is not an origin such as https://admin.example.cn")
        return [origin.rstrip("/") for origin in origins]


class DatabaseSection(_Section):
    url: str = "sqlite:///var/linli.db"
    sqlite_busy_timeout_seconds: float = Field(default=10, gt=0)
    pool_size: int = Field(default=10, ge=1)
    pool_pre_ping: bool = False
    pool_recycle_seconds: int = Field(default=300, ge=1)
    echo: bool = False


class AuthSection(_Section):
    secret_key: str = ""
    token_ttl_hours: int = Field(default=72, ge=1)
    invitation_ttl_hours: int = Field(default=168, ge=1)


class MiniProgramSection(_Section):
    appid: str = "wxsimminiprogram"
    secret: str = ""


class OfficialAccountSection(_Section):
    appid: str = "wxsimofficialacct"
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""

    @model_validator(mode="after")
    def _aes_key_length(self) -> OfficialAccountSection:
        if self.encoding_aes_key and len(self.encoding_aes_key) != 43:  # noqa: PLR2004 - WeChat's fixed size
            raise ValueError("encoding_aes_key must be the 43 characters shown in the WeChat console")
        return self


class SimulatorSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=0, le=65535)


class WeChatSection(_Section):
    api_base: str = "http://127.0.0.1:8001"
    wecom_api_base: str = "http://127.0.0.1:8001"
    timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    miniprogram: MiniProgramSection = MiniProgramSection()
    official_account: OfficialAccountSection = OfficialAccountSection()
    simulator: SimulatorSection = SimulatorSection()

    @property
    def talks_to_real_wechat(self) -> bool:
        return urlsplit(self.api_base).hostname == PRODUCTION_WECHAT_HOST


#: Where 三事分流 may suggest a level goes; the values of ``app.orders.workflow.Lane`` (core sits
#: below the order domain, so the names are repeated here and a test keeps the two equal).
LaneName = Literal["escalate", "grid_worker", "property_company", "volunteers"]


class LanesSection(_Section):
    """三事分流: the lane each triage level suggests, and so who hears of the triage."""

    major: LaneName = "escalate"
    minor: LaneName = "grid_worker"
    routine: LaneName = "volunteers"

    def of(self, level: str) -> LaneName:
        """The lane of a triage level's value (``major``, ``minor``, ``routine``)."""
        return {"major": self.major, "minor": self.minor, "routine": self.routine}[level]


class ReportsSection(_Section):
    """随手拍: when a new report is offered earlier ones as likely duplicates (app/orders/duplicates.py)."""

    #: Open reports of the same grid and category created this many days back at most.
    duplicate_window_days: float = Field(default=14, gt=0, le=365)
    #: The similarity (0–1) from which an earlier report is offered.
    duplicate_threshold: float = Field(default=0.35, gt=0, le=1)
    #: Both reports carry coordinates and lie farther apart than this: not the same problem.
    duplicate_radius_m: float = Field(default=300, gt=0)
    #: At most this many offered, the most similar first.
    max_duplicates: int = Field(default=5, ge=1, le=20)
    #: At most this many candidate rows read (the newest), however busy the grid is.
    max_candidates: int = Field(default=200, ge=1, le=2000)


class OrdersSection(_Section):
    urge_interval_hours: float = Field(default=4, gt=0)
    idempotency_hours: int = Field(default=24, ge=1)
    max_photos: int = Field(default=9, ge=0, le=9)
    lanes: LanesSection = LanesSection()
    reports: ReportsSection = ReportsSection()


TEMPLATE_KEYS = (
    "order_submitted",
    "order_dispatched",
    "order_claimed",
    "order_started",
    "order_completed",
    "order_escalated",
    "reminder",
    "digest",
    # The time bank's messages to volunteers: points moved, a code verified or expired, the
    # month's summary (app.timebank.texts).
    "points_changed",
    # A care visit not completed in time (app.care.visits): to the community's secretaries.
    "care_missed",
    # The month's property survey, to residents (app.surveys.texts).
    "survey_invite",
    # A property company flagged to the street (黑名单候选), to its street admins.
    "property_flagged",
    # A background work ledger is written (app.community.exports): to whoever asked for it.
    "export_ready",
)


ChainChannel = Literal["subscribe", "template", "wecom"]
#: Where messages go when ``[notify.chains]`` does not say: members are in the mini-program first,
#: staff on the Official Account, then the mini-program, then their community's WeCom group.
DEFAULT_CHAINS: dict[str, tuple[ChainChannel, ...]] = {
    "member": ("subscribe", "template"),
    "staff": ("template", "subscribe", "wecom"),
}


class NotifySection(_Section):
    max_attempts: int = Field(default=6, ge=1, le=50)
    backoff_base_seconds: float = Field(default=30, gt=0)
    backoff_max_seconds: float = Field(default=3600, gt=0)
    lease_seconds: float = Field(default=60, gt=0)
    batch_size: int = Field(default=50, ge=1, le=1000)
    #: Sends in flight at once per batch: a batch lasts as long as its slowest send, so with
    #: WeChat answering in 50 ms one worker delivers at most send_threads / 0.05 s. As many as a
    #: batch holds: one round of sends per batch (measured: docs/operations.md, "Outbox goals").
    send_threads: int = Field(default=50, ge=1, le=128)
    quota_pause_seconds: float = Field(default=600, gt=0)
    wecom_per_minute: int = Field(default=20, ge=1)
    miniprogram_state: Literal["developer", "trial", "formal"] = "formal"
    #: Which report of a subscribe-message acceptance adds the grant: "api" (POST /subscriptions)
    #: or "events" (WeChat's subscribe_msg_popup_event); the other is not counted.
    consent_from: Literal["api", "events"] = "api"
    #: template key → mini-program subscribe-message template id
    subscribe_templates: dict[str, str] = {}
    #: template key → Official Account template-message template id
    oa_templates: dict[str, str] = {}
    #: purpose → the channels tried in order (app/notify/chains.py); the inbox is always written.
    #: A purpose is "member" (residents, volunteers), "staff", or "<member|staff>.<template key>".
    #: Keys not given keep their defaults.
    chains: dict[str, list[ChainChannel]] = Field(default_factory=dict, validate_default=True)

    @model_validator(mode="after")
    def _known_template_keys(self) -> NotifySection:
        for table in (self.subscribe_templates, self.oa_templates):
            unknown = sorted(set(table) - set(TEMPLATE_KEYS))
            if unknown:
                raise ValueError(f"unknown template keys {unknown}; known: {list(TEMPLATE_KEYS)}")
        return self

    @field_validator("chains", mode="after")
    @classmethod
    def _chains(cls, chains: dict[str, list[ChainChannel]]) -> dict[str, list[ChainChannel]]:
        for purpose, channels in chains.items():
            addressee, _, template_key = purpose.partition(".")
            if addressee not in DEFAULT_CHAINS or (template_key and template_key not in TEMPLATE_KEYS):
                raise ValueError(
                    f"unknown purpose {purpose!r} in notify.chains: "
                    "'member', 'staff' or '<member|staff>.<template key>'"
                )
            if len(set(channels)) != len(channels):
                raise ValueError(f"notify.chains.{purpose} names a channel twice")
        return {**{k: list(v) for k, v in DEFAULT_CHAINS.items()}, **chains}


class RedemptionsSection(_Section):
    """Codes of rewards redeemed with time-bank points (``[timebank.redemptions]``)."""

    #: An unverified code expires after this many hours; its points and its stock come back.
    valid_hours: float = Field(default=168, gt=0)
    #: Expired codes the expiry job looks up at a time (each is settled in its own transaction).
    expiry_batch: int = Field(default=100, ge=1, le=1000)


class RemindersSection(_Section):
    """Thresholds of the reminder and escalation rules, in hours."""

    undispatched_hours: float = Field(default=2, gt=0)
    unaccepted_remind_hours: float = Field(default=2, gt=0)
    unaccepted_return_hours: float = Field(default=8, gt=0)
    overdue_escalate_hours: float = Field(default=24, gt=0)
    unrated_remind_hours: float = Field(default=24, gt=0)
    unrated_close_days: float = Field(default=7, gt=0)
    appointment_soon_minutes: float = Field(default=60, gt=0)
    digest_hour: int = Field(default=8, ge=0, le=23)
    digest_minute: int = Field(default=30, ge=0, le=59)

    @model_validator(mode="after")
    def _return_after_remind(self) -> RemindersSection:
        if self.unaccepted_return_hours <= self.unaccepted_remind_hours:
            raise ValueError("unaccepted_return_hours must be greater than unaccepted_remind_hours")
        return self


class CareSection(_Section):
    """Care plans' visits (``[care]``): when their orders are made and when one counts as missed."""

    #: An occurrence's order is made this many hours before the visit.
    lead_hours: float = Field(default=24, gt=0, le=24 * 14)
    #: A visit's due end is this many hours after its start (the order's preferred_end).
    visit_hours: float = Field(default=2, gt=0, le=24)
    #: A visit not completed this many hours after its due end is missed: the secretaries hear.
    missed_grace_hours: float = Field(default=2, ge=0, le=24 * 7)


class RedisSection(_Section):
    url: str = ""


#: Each rate limit of [limits]: its key in config.toml → what it counts per (docs/operations.md).
RATE_LIMIT_KEYS = (
    "login_per_ip",
    "login_per_openid",
    "order_create_per_user",
    "urge_per_user",
    "claim_per_user",
    "redeem_per_user",
    "redeem_per_ip",
    "bind_code_per_user",
    "bind_code_per_ip",
    "verify_redemption_per_user",
)


def check_rate_limit(value: str) -> str:
    """A rate limit in the `limits` notation: ``"120/minute"``, or several: ``"10/minute;100/day"``."""
    try:
        items = parse_many(value)
    except ValueError:
        raise ValueError(f'{value!r} is not a rate limit; write e.g. "120/minute" or "10/minute;100/day"') from None
    if any(item.amount < 1 for item in items):
        raise ValueError(f"{value!r}: a limit of 0 refuses everything; set limits.enabled = false instead")
    return value


class LimitsSection(_Section):
    """Rate limits, counted across every API process (app/core/ratelimit.py)."""

    enabled: bool = True
    storage: Literal["auto", "redis", "database", "memory"] = "auto"
    login_per_ip: str = "120/minute"
    login_per_openid: str = "10/minute;60/hour"
    order_create_per_user: str = "10/minute;100/day"
    urge_per_user: str = "10/minute;60/day"
    claim_per_user: str = "10/minute"
    redeem_per_user: str = "5/minute;20/hour"
    redeem_per_ip: str = "60/minute;300/hour"
    bind_code_per_user: str = "5/minute;20/hour"
    bind_code_per_ip: str = "120/minute"
    verify_redemption_per_user: str = "60/minute;600/hour"

    @field_validator(*RATE_LIMIT_KEYS)
    @classmethod
    def _parse(cls, value: str) -> str:
        return check_rate_limit(value)

    def limit(self, name: str) -> str:
        """The configured string of one of ``RATE_LIMIT_KEYS``."""
        if name not in RATE_LIMIT_KEYS:
            raise KeyError(name)
        value: str = getattr(self, name)
        return value


class UploadsSection(_Section):
    """Photo uploads: what is accepted, how large it is kept, how many a day, how long unused ones stay."""

    max_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    #: A photo link's shortest life; its expiry is rounded up to a multiple of this (app/core/tokens.py).
    link_minutes: int = Field(default=30, ge=1, le=1440)
    #: Most pixels ever decoded into memory: the whole image for PNG and WebP, the reduced size
    #: for a JPEG decoded at 1/2, 1/4 or 1/8 (app/uploads/images.py). Pillow's own limit is tied to it.
    max_pixels: int = Field(default=24_000_000, ge=1_000_000, le=100_000_000)
    #: The decode budget in MB, checked before decoding with the measured cost of each format and mode.
    max_decode_mb: int = Field(default=96, ge=16, le=1024)
    #: Stored photos are scaled down to at most this many pixels on their longest side.
    max_side: int = Field(default=2000, ge=256, le=8192)
    #: Uploads per user per Asia/Shanghai day; over it, 429 until midnight.
    daily_quota: int = Field(default=100, ge=1)
    #: An upload that no order or completion has used after this many hours is deleted by the daily purge.
    unattached_hours: int = Field(default=24, ge=1)


class ImportsSection(_Section):
    """Excel imports of residents and volunteers (app/community/imports): how large a sheet may be."""

    #: Largest .xlsx accepted, in bytes (the request body may be this plus the form's overhead).
    max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    #: Most data rows (after the header, empty rows not counted) in one file.
    max_rows: int = Field(default=10_000, ge=1, le=200_000)


class ExportsSection(_Section):
    """Excel exports of the work ledger (app/community/work_ledger.py): over HTTP at once, or in
    the background (app/community/exports)."""

    #: Most orders one ledger request may write: writing a row costs about 1–4 ms of the API
    #: worker's CPU (bench/stats.py --export), so a street's busy month would hold a worker
    #: thread and a database transaction for minutes. Larger ranges: narrower dates, or
    #: `linli export orders` on the server, which has no limit.
    max_rows: int = Field(default=20_000, ge=1, le=1_000_000)
    #: Background exports (POST /api/v1/exports/orders, app/community/exports): days a file and
    #: its download stay before the export job deletes them.
    keep_days: int = Field(default=7, ge=1, le=90)
    #: Exports one person may have queued or running at once; one more is a 429.
    max_open_per_user: int = Field(default=3, ge=1, le=50)
    #: A running export not finished after this many minutes is taken to be abandoned (its
    #: process killed) and is taken again; longer than the slowest ledger (110k orders ≈ 2 min).
    run_timeout_minutes: int = Field(default=30, ge=1, le=1440)
    #: Times an export is tried (failures and abandoned runs) before it stays failed.
    max_attempts: int = Field(default=3, ge=1, le=10)
    #: Seconds between runs of the export job (it writes queued exports one at a time).
    poll_seconds: int = Field(default=30, ge=1, le=3600)


class SurveysSection(_Section):
    """The monthly property surveys (app/surveys): how long they stay open and how they are judged."""

    #: Days a month's survey takes answers after it opens on the 1st.
    window_days: int = Field(default=14, ge=1, le=28)
    #: A company scoring under this (0–100) with enough answers is below the mark that month.
    threshold: float = Field(default=80, ge=0, le=100)
    #: Fewer responses than this: the month is "not enough answers", never counted against anyone.
    min_responses: int = Field(default=5, ge=1)


class EarningRule(_Section):
    """How an order of one category earns points (app/timebank/rules.py); every key optional in a
    ``[timebank.categories.<code>]`` override, the rest taken from ``[timebank]``."""

    #: Hours counted for an order with no start (completed straight from accepted).
    default_hours: float | None = Field(default=None, gt=0, le=24)
    #: Fewest and most hours one order counts for, after rounding.
    min_hours: float | None = Field(default=None, ge=0, le=24)
    max_hours: float | None = Field(default=None, gt=0, le=24)
    #: Points added for a 5-star rating.
    five_star_bonus: int | None = Field(default=None, ge=0, le=1000)


class TimebankSection(_Section):
    """时间银行: points = the category's points × hours worked (+ a 5-star bonus); see config.toml."""

    #: Hours are rounded to the nearest multiple of this many minutes (half up).
    round_minutes: int = Field(default=30, ge=1, le=240)
    default_hours: float = Field(default=1, gt=0, le=24)
    min_hours: float = Field(default=1, ge=0, le=24)
    max_hours: float = Field(default=8, gt=0, le=24)
    five_star_bonus: int = Field(default=2, ge=0, le=1000)
    #: A closed order may be disputed (reopened, its points reversed) for this many days.
    dispute_window_days: float = Field(default=7, ge=0, le=90)
    #: Per category code: the keys of ``[timebank]`` this category counts differently.
    categories: dict[str, EarningRule] = {}
    redemptions: RedemptionsSection = RedemptionsSection()

    @model_validator(mode="after")
    def _floor_below_cap(self) -> TimebankSection:
        for code in ["", *sorted(self.categories)]:
            floor, cap = self.hours_bounds(code)
            if floor > cap:
                where = f"timebank.categories.{code}" if code else "timebank"
                raise ValueError(f"{where}: min_hours must not exceed max_hours")
        return self

    def hours_bounds(self, code: str) -> tuple[float, float]:
        rule = self.categories.get(code, EarningRule())
        return (
            self.min_hours if rule.min_hours is None else rule.min_hours,
            self.max_hours if rule.max_hours is None else rule.max_hours,
        )


class PrivacySection(_Section):
    """How long personal data of finished orders is kept (app/orders/anonymise.py)."""

    #: Days after an order was closed, cancelled or rejected before its photos are deleted and its
    #: contact phone and room are cleared.
    retention_days: int = Field(default=365, ge=1, le=3650)


#: Menu CLICK keys the bot understands (app/bot/events.py maps each to a command).
BOT_MENU_KEYS = ("CMD_TODO", "CMD_HELP", "CMD_BIND")
#: WeChat's limits for custom menus: 3 top-level buttons of ≤ 16 bytes, 5 sub-buttons of ≤ 60 bytes.
_MENU_MAX_BUTTONS, _MENU_MAX_SUB_BUTTONS = 3, 5
_MENU_MAX_NAME_BYTES, _MENU_MAX_SUB_NAME_BYTES = 16, 60


def _default_menu() -> list[dict[str, Any]]:
    return [
        {"type": "click", "name": "我的待办", "key": "CMD_TODO"},
        {"type": "click", "name": "绑定账号", "key": "CMD_BIND"},
        {"type": "click", "name": "使用帮助", "key": "CMD_HELP"},
    ]


def _check_button(button: dict[str, Any], max_name_bytes: int) -> None:
    name = button.get("name")
    if not isinstance(name, str) or not name or len(name.encode("utf-8")) > max_name_bytes:
        raise ValueError(f"menu button name {name!r} must be 1–{max_name_bytes} bytes of UTF-8")
    if button.get("type") == "click" and button.get("key") not in BOT_MENU_KEYS:
        raise ValueError(f"menu button {name!r}: click key must be one of {list(BOT_MENU_KEYS)}")


class BotSection(_Section):
    """The Official Account bot: bind codes, the reply deadline, and the menu `linli bot menu` pushes."""

    bind_code_ttl_minutes: int = Field(default=10, ge=1, le=1440)
    reply_budget_seconds: float = Field(default=4.0, gt=0, lt=5)
    menu: list[dict[str, Any]] = Field(default_factory=_default_menu)

    @model_validator(mode="after")
    def _menu_fits_wechat(self) -> BotSection:
        if not 1 <= len(self.menu) <= _MENU_MAX_BUTTONS:
            raise ValueError(f"menu must have 1–{_MENU_MAX_BUTTONS} top-level buttons")
        for button in self.menu:
            _check_button(button, _MENU_MAX_NAME_BYTES)
            subs = button.get("sub_button")
            if subs is not None:
                if not isinstance(subs, list) or not 1 <= len(subs) <= _MENU_MAX_SUB_BUTTONS:
                    raise ValueError(f"sub_button of {button['name']!r} must list 1–{_MENU_MAX_SUB_BUTTONS} buttons")
                for sub in subs:
                    _check_button(sub, _MENU_MAX_SUB_NAME_BYTES)
            elif "type" not in button:
                raise ValueError(f"menu button {button['name']!r} needs a type or a sub_button list")
        return self


class MetricsSection(_Section):
    """Prometheus figures: where gunicorn's workers share them, and the job process's own port."""

    #: Directory of prometheus_client's multiprocess files for `linli serve` (emptied of them at
    #: each start); empty: ``<app.var_dir>/metrics``. Relative paths are taken from the project root.
    multiproc_dir: str = ""
    #: Port on which `linli jobs` (and `linli run`'s scheduler) serve their figures; 0: off.
    jobs_port: int = Field(default=0, ge=0, le=65535)
    #: Address of that port: loopback by default, since the page needs no token.
    jobs_host: str = "127.0.0.1"


class Settings(_Section):
    """Everything Linli can be configured with; see config.toml for the meaning of each key."""

    app: AppSection = AppSection()
    server: ServerSection = ServerSection()
    database: DatabaseSection = DatabaseSection()
    auth: AuthSection = AuthSection()
    wechat: WeChatSection = WeChatSection()
    orders: OrdersSection = OrdersSection()
    notify: NotifySection = NotifySection()
    reminders: RemindersSection = RemindersSection()
    redis: RedisSection = RedisSection()
    limits: LimitsSection = LimitsSection()
    uploads: UploadsSection = UploadsSection()
    imports: ImportsSection = ImportsSection()
    exports: ExportsSection = ExportsSection()
    bot: BotSection = BotSection()
    privacy: PrivacySection = PrivacySection()
    timebank: TimebankSection = TimebankSection()
    metrics: MetricsSection = MetricsSection()
    care: CareSection = CareSection()
    surveys: SurveysSection = SurveysSection()

    @model_validator(mode="after")
    def _limits_storage_fits(self) -> Settings:
        if self.limits.storage == "redis" and not self.redis.url:
            raise ValueError('limits.storage = "redis" needs redis.url')
        if self.limits.storage == "memory" and self.limits.enabled and self.app.environment == "production":
            # Each process would count on its own: N workers would allow N times every limit.
            raise ValueError('limits.storage = "memory" counts per process; use "auto" in production')
        return self

    @model_validator(mode="after")
    def _real_use_needs_secrets(self) -> Settings:
        # The simulator accepts any credentials, so a laptop needs no secret; production and
        # anything talking to the real WeChat must have them, and we say which are missing.
        wechat_secrets = (
            ("wechat.miniprogram.secret", self.wechat.miniprogram.secret),
            ("wechat.official_account.secret", self.wechat.official_account.secret),
            ("wechat.official_account.token", self.wechat.official_account.token),
        )
        required: tuple[tuple[str, str], ...] = ()
        if self.app.environment == "production":
            required = (("auth.secret_key", self.auth.secret_key), *wechat_secrets)
        elif self.wechat.talks_to_real_wechat:
            required = wechat_secrets
        missing = [key for key, value in required if not value]
        if missing:
            raise ValueError(f"these secrets must be set in the environment: {', '.join(missing)}")
        return self

    @property
    def var_path(self) -> Path:
        """The var directory, relative paths taken from the project root."""
        path = self.app.var_dir
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def metrics_multiproc_path(self) -> Path:
        """``metrics.multiproc_dir`` resolved: relative to the project root, by default under var."""
        if not self.metrics.multiproc_dir:
            return self.var_path / "metrics"
        path = Path(self.metrics.multiproc_dir)
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite path resolved against the project root."""
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(PROJECT_ROOT / url[len(prefix) :])
        return url


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _parse_env_value(raw: str) -> Any:
    # Flask's from_prefixed_env rule: JSON where it parses ("8080", "true", "[1]"), else the string.
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Turn ``LINLI_A__B__C=value`` variables into ``{"a": {"b": {"c": value}}}``.

    Only names with a ``__`` are settings; ``LINLI_CONFIG`` and test-only variables are not.
    """
    result: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        if any(not part for part in path):
            raise ConfigError(f"{name}: malformed variable name (empty part between '__')")
        node = result
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{name}: {'.'.join(path)} conflicts with another LINLI_ variable")
            node = child
        node[path[-1]] = _parse_env_value(raw)
    return result


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(settings)"
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        lines.append(f"{key}: {message}")
    return "invalid configuration: " + "; ".join(lines)


def load_settings(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Load and validate settings; raise :class:`ConfigError` naming any bad key.

    ``overrides`` (a nested dict) is applied last; tests use it instead of the environment.
    """
    env = os.environ if environ is None else environ
    data = _read_toml(path or DEFAULT_CONFIG_PATH)
    extra_file = env.get("LINLI_CONFIG")
    if extra_file:
        data = _deep_merge(data, _read_toml(Path(extra_file)))
    data = _deep_merge(data, env_overrides(env))
    if overrides:
        data = _deep_merge(data, overrides)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
