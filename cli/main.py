"""The ``linli`` command: database, servers, the all-in-one demo and operator set-up."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from app.areas.models import AreaKind
from app.core.config import ConfigError, Settings, load_settings
from app.core.errors import LinliError
from app.core.logs import configure_logging
from app.identity.roles import Role
from app.runtime import Runtime, build_runtime

log = logging.getLogger("linli")

F = TypeVar("F", bound=Callable[..., Any])


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        # Exit code 2 and one clear line naming the bad key; no traceback for a typo.
        click.echo(f"linli: {exc}", err=True)
        sys.exit(2)
    configure_logging(settings.app.log_level, settings.app.log_format)
    return settings


@contextmanager
def _runtime() -> Iterator[Runtime]:
    """A runtime for one command, its connections closed afterwards."""
    runtime = build_runtime(_settings())
    try:
        yield runtime
    finally:
        runtime.db.dispose()


def _friendly_errors(func: F) -> F:
    """Turn our domain errors into a one-line message and exit code 1."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LinliError as exc:
            raise click.ClickException(f"{exc.message} ({exc.code})") from exc

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper  # type: ignore[return-value]


@click.group()
def main() -> None:
    """Linli (邻里) — community volunteer-service backend."""


# -- database ----------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations to the configured database."""
    from app.core.migrate import upgrade

    settings = _settings()
    upgrade(settings, revision)
    click.echo(f"database at {revision}: {_safe_url(settings.database_url)}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# -- servers -----------------------------------------------------------------------------------


@main.command()
@click.option("--host", default=None, help="default: server.host")
@click.option("--port", type=int, default=None, help="default: server.port")
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn worker processes")
@click.option("--threads", type=int, default=4, show_default=True, help="threads per worker")
def serve(host: str | None, port: int | None, workers: int, threads: int) -> None:
    """Serve the API under gunicorn (production); never starts the scheduler."""
    settings = _settings()
    # Before anything imports prometheus_client: it picks in-memory or file-backed values once, at
    # its import, from this variable; the workers inherit both the variable and the choice.
    _prepare_multiprocess_metrics(settings.metrics_multiproc_path)
    from miniprogram_api.server import run_gunicorn

    run_gunicorn(
        host=host or settings.server.host,
        port=port or settings.server.port,
        workers=workers,
        threads=threads,
        log_format=settings.app.log_format,
        multiprocess=True,
    )


def _prepare_multiprocess_metrics(path: Path) -> None:
    """An empty PROMETHEUS_MULTIPROC_DIR for this server's workers.

    Files of an earlier run would be summed into this one's counters (prometheus_client's docs ask
    for the directory to be wiped between runs). Only its ``*.db`` files are deleted, not the
    directory: a mistyped ``metrics.multiproc_dir`` must not empty an unrelated folder.
    """
    if "prometheus_client" in sys.modules:
        # Too late to switch to files: the workers would count in memory and /metrics would be empty.
        raise click.ClickException("internal: prometheus_client was imported before the metrics directory was set")
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


@main.command("wechat-sim")
@click.option("--host", default=None, help="default: wechat.simulator.host")
@click.option("--port", type=int, default=None, help="default: wechat.simulator.port")
def wechat_sim(host: str | None, port: int | None) -> None:
    """Serve the WeChat simulator in the foreground."""
    from wechat_sim import SimulatorServer

    settings = _settings()
    host = host or settings.wechat.simulator.host
    port = port or settings.wechat.simulator.port
    server = SimulatorServer(host=host, port=port)
    click.echo(f"WeChat simulator on http://{host}:{port}  (what was sent: /_sim/messages)")
    server.serve_forever()


def _interruptible(*, also_sigterm: bool = False) -> None:
    """Ctrl+C (SIGINT) raises KeyboardInterrupt, even where the command was started with SIGINT
    ignored: a shell starts its background jobs so (``linli run &``, a CI script's ``… &``), and
    Python then leaves it ignored, so Ctrl+C or ``kill -INT`` would never stop it. With
    ``also_sigterm``, ``kill`` stops it the same way."""
    import signal

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    if also_sigterm:
        signal.signal(signal.SIGTERM, interrupt)


@main.command()
def jobs() -> None:
    """The job process: outbox delivery, reminders, digests (run one or more)."""
    import signal
    import threading

    from jobs.scheduler import run_forever

    stop = threading.Event()
    with _runtime() as rt:

        def stopping(*_: object) -> None:
            # Work in hand ends early (the outbox gives back what it has not sent), then the
            # scheduler waits for it and the process exits.
            rt.stopping.set()
            stop.set()

        signal.signal(signal.SIGTERM, stopping)
        _interruptible()
        click.echo("Linli jobs running; Ctrl+C to stop.")
        try:
            run_forever(rt, stop)
        except KeyboardInterrupt:
            stopping()


@main.command()
@click.option("--demo/--no-demo", default=True, show_default=True, help="load demo data into an empty database")
def run(demo: bool) -> None:
    """All-in-one for a laptop: migrate, demo data, WeChat simulator and the API."""
    from werkzeug.serving import make_server

    from app.core.migrate import upgrade
    from cli.bot_chat import with_bot_token
    from cli.demo import PEOPLE, load_demo
    from jobs.metrics import serve_metrics, stop_metrics
    from jobs.scheduler import build_scheduler
    from miniprogram_api import create_app
    from miniprogram_api.server import DevRequestHandler
    from wechat_sim import SimulatorServer

    _interruptible(also_sigterm=True)
    settings = with_bot_token(_settings())
    upgrade(settings, "head")
    sim_cfg = settings.wechat.simulator
    simulator = SimulatorServer(host=sim_cfg.host, port=sim_cfg.port)
    sim_url = simulator.start()
    runtime = build_runtime(settings)
    loaded = demo and _friendly_errors(load_demo)(runtime)
    app = create_app(runtime=runtime)
    scheduler = build_scheduler(runtime)
    scheduler.start()
    jobs_metrics = serve_metrics(settings)
    server = make_server(
        settings.server.host, settings.server.port, app, threaded=True, request_handler=DevRequestHandler
    )
    api_url = f"http://{settings.server.host}:{server.server_port}"

    click.echo("")
    click.echo("Linli 邻里 is running.")
    click.echo(f"  API            {api_url}/api/v1   (docs: {api_url}/docs, health: {api_url}/healthz)")
    click.echo(f"  WeChat sim     {sim_url}   (what was sent: {sim_url}/_sim/messages)")
    click.echo(f"  Database       {_safe_url(settings.database_url)}")
    click.echo("  Jobs           outbox delivery every 2 s, reminders every minute, digest daily")
    click.echo(f"  Bot            {api_url}/wechat/callback   (talk to it: linli bot say oa-secretary-wang 待办)")
    if loaded:
        click.echo('  Demo data loaded. Log in with POST /api/v1/auth/login {"code": "sim:<openid>"}:')
        for person in PEOPLE:
            click.echo(f"    {person.login_code:<24} {person.nickname}  {person.role.value} @ {person.area}")
    click.echo(
        f"  Try: curl -s -XPOST {api_url}/api/v1/auth/login -H 'Content-Type: application/json' "
        '-d \'{"code":"sim:alice"}\''
    )
    click.echo("Press Ctrl+C to stop.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        # As `linli jobs` on SIGTERM: a delivery in hand puts the rest of its batch back, so the
        # process does not wait at exit for sends to a simulator that is about to stop.
        runtime.stopping.set()
        server.server_close()
        scheduler.shutdown(wait=False)
        stop_metrics(jobs_metrics)
        simulator.stop()
        runtime.db.dispose()


# -- operator set-up ---------------------------------------------------------------------------


@main.group()
def area() -> None:
    """The area tree (street → community → grid → building)."""


@area.command("add")
@click.argument("kind", type=click.Choice([k.value for k in AreaKind]))
@click.argument("code")
@click.argument("name")
@click.option("--parent", "parent_code", default=None, help="code of the parent area")
@_friendly_errors
def area_add(kind: str, code: str, name: str, parent_code: str | None) -> None:
    """Create an area, e.g. `linli area add community SQ001 和平社区 --parent JD01`."""
    from app.areas.tree import add_area

    with _runtime() as rt:
        created = add_area(rt, AreaKind(kind), code, name, parent_code)
        click.echo(f"added {created.kind.value} {created.code} {created.name}")


@area.command("robot")
@click.argument("community")
@click.option("--key", envvar="LINLI_ROBOT_KEY", required=True, help="the robot's webhook key (or $LINLI_ROBOT_KEY)")
@_friendly_errors
def area_robot(community: str, key: str) -> None:
    """Set COMMUNITY's WeCom work-group robot, which receives the daily digest."""
    from app.areas.tree import set_robot_key

    with _runtime() as rt:
        set_robot_key(rt, community, key)
        click.echo(f"digest robot set for {community}")


@main.group()
def category() -> None:
    """A community's service catalogue."""


@category.command("add")
@click.argument("community")
@click.argument("code")
@click.argument("name")
@click.option("--points", type=int, required=True, help="time-bank points per hour worked on an order")
@click.option("--sla-hours", type=int, required=True, help="hours within which it should be done")
@click.option("--skill", default=None, help="volunteer skill that matches it")
@_friendly_errors
def category_add(community: str, code: str, name: str, points: int, sla_hours: int, skill: str | None) -> None:
    """Add a service category to COMMUNITY's catalogue."""
    from app.areas.catalogue import add_category

    with _runtime() as rt:
        created = add_category(rt, community, code, name, points=points, sla_hours=sla_hours, skill=skill)
        click.echo(f"added category {created.code} {created.name} to {community}")


@main.group()
def skill() -> None:
    """A community's skill catalogue (技能库): what categories ask for and volunteers declare."""


@skill.command("add")
@click.argument("community")
@click.argument("code")
@click.argument("name")
@_friendly_errors
def skill_add(community: str, code: str, name: str) -> None:
    """Add skill CODE named NAME to COMMUNITY's catalogue, e.g. `linli skill add SQ001 sewing 缝补`."""
    from app.volunteers.catalogue import add_skill

    with _runtime() as rt:
        created = add_skill(rt, community, code, name)
        click.echo(f"added skill {created.code} {created.name} to {community}")


@skill.command("deactivate")
@click.argument("community")
@click.argument("code")
@_friendly_errors
def skill_deactivate(community: str, code: str) -> None:
    """COMMUNITY's skill CODE can no longer be chosen; those who have it keep it."""
    from app.volunteers.catalogue import retire_skill

    with _runtime() as rt:
        retired = retire_skill(rt, community, code)
        click.echo(f"skill {retired.code} {retired.name} of {community} is no longer offered")


@main.command()
@click.argument("openid")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.argument("area_code")
@_friendly_errors
def grant(openid: str, role: str, area_code: str) -> None:
    """Give OPENID the ROLE in AREA_CODE (creates the user if new)."""
    from app.identity.grants import grant_role

    with _runtime() as rt:
        user = grant_role(rt, openid, Role(role), area_code)
        click.echo(f"user {user.id} ({openid}) is {role} in {area_code}")


@main.group()
def team() -> None:
    """Volunteer teams (志愿服务队)."""


@team.command("add")
@click.argument("community")
@click.argument("name")
@click.option("--leader", "leader_openid", default=None, help="openid of the leader, a volunteer of COMMUNITY")
@click.option("--member", "member_openids", multiple=True, help="openid of a member (repeat for more)")
@_friendly_errors
def team_add(community: str, name: str, leader_openid: str | None, member_openids: tuple[str, ...]) -> None:
    """Create a team in COMMUNITY, e.g. `linli team add SQ001 党员先锋队 --leader o-li`."""
    from app.volunteers.teams import add_team

    with _runtime() as rt:
        created = add_team(rt, community, name, leader_openid=leader_openid, member_openids=member_openids)
        click.echo(f"added team {created.id} {created.name} to {community}")


@team.group("member")
def team_member() -> None:
    """A team's members."""


@team_member.command("add")
# The range of an id column: a larger number would reach the driver as an overflow, not a message.
@click.argument("team_id", type=click.IntRange(1, 2**63 - 1))
@click.argument("openid")
@_friendly_errors
def team_member_add(team_id: int, openid: str) -> None:
    """OPENID, a volunteer of the team's community, joins team TEAM_ID (idempotent)."""
    from app.volunteers.teams import add_team_member

    with _runtime() as rt:
        joined = add_team_member(rt, team_id, openid)
        click.echo(f"{openid} is a member of team {joined.id} {joined.name}")


@team.command("leader")
@click.argument("team_id", type=click.IntRange(1, 2**63 - 1))
@click.argument("openid")
@_friendly_errors
def team_leader(team_id: int, openid: str) -> None:
    """OPENID, a member of team TEAM_ID, becomes its leader."""
    from app.volunteers.teams import make_leader_by_openid

    with _runtime() as rt:
        team = make_leader_by_openid(rt, team_id, openid)
        click.echo(f"{openid} leads team {team.id} {team.name}")


@main.group("property-company")
def property_company() -> None:
    """Property companies (物业企业) and the communities they serve."""


@property_company.command("add")
@click.argument("name")
@click.option(
    "--community", "communities", multiple=True, required=True, help="code of a community it serves (repeat for more)"
)
@click.option("--staff", "staff_openids", multiple=True, help="openid of someone who acts for it (repeat for more)")
@_friendly_errors
def property_company_add(name: str, communities: tuple[str, ...], staff_openids: tuple[str, ...]) -> None:
    """Register a company, e.g. `linli property-company add 阳光物业 --community SQ001 --community SQ002`."""
    from app.property.companies import add_property_company

    with _runtime() as rt:
        created = add_property_company(rt, name, communities=communities, staff_openids=staff_openids)
        click.echo(f"added property company {created.id} {created.name} serving {', '.join(communities)}")


@main.group()
def surveys() -> None:
    """Monthly property surveys (物业满意度测评); the job property_surveys does both on the 1st."""


def _month_option(func: F) -> F:
    return click.option("--month", required=True, help="the Shanghai month, YYYY-MM")(func)


@surveys.command("open")
@_month_option
@_friendly_errors
def surveys_open(month: str) -> None:
    """Open MONTH's surveys of every company in each community it serves and invite the residents
    (once: a second run opens and tells nothing more), e.g. `linli surveys open --month 2026-12`."""
    from app.core.clock import now_utc
    from app.surveys.monthly import open_surveys

    with _runtime() as rt:
        try:
            opened, invited = open_surveys(rt, month, now_utc())
        except ValueError:
            raise click.BadParameter(f"{month!r} is not YYYY-MM", param_hint="--month") from None
        click.echo(f"opened={opened} invited={invited}")


@surveys.command("evaluate")
@_month_option
@_friendly_errors
def surveys_evaluate(month: str) -> None:
    """Flag to the street each company below the threshold in MONTH and the month before (once)."""
    from app.core.clock import now_utc
    from app.surveys.monthly import evaluate_month

    with _runtime() as rt:
        try:
            flagged = evaluate_month(rt, month, now_utc())
        except ValueError:
            raise click.BadParameter(f"{month!r} is not YYYY-MM", param_hint="--month") from None
        click.echo(f"flagged={flagged}")


# -- the time bank ----------------------------------------------------------------------------------


@main.group()
def merchant() -> None:
    """Partner merchants (商业合伙人) that take time-bank points."""


@merchant.command("add")
@click.argument("community")
@click.argument("name")
@_friendly_errors
def merchant_add(community: str, name: str) -> None:
    """Register a merchant of COMMUNITY, e.g. `linli merchant add SQ001 惠民超市`."""
    from app.timebank.merchants import add_merchant

    with _runtime() as rt:
        created = add_merchant(rt, community, name)
        click.echo(f"added merchant {created.id} {created.name} in {community}")


@main.group()
def reward() -> None:
    """Rewards of a community's catalogue, redeemed with points."""


@reward.command("add")
@click.argument("community")
@click.argument("merchant_id", type=click.IntRange(1, 2**63 - 1))
@click.argument("name")
@click.argument("points", type=click.IntRange(1, 1_000_000))
@click.option("--stock", type=click.IntRange(1, 1_000_000), help="how many there are (default: no limit)")
@_friendly_errors
def reward_add(community: str, merchant_id: int, name: str, points: int, stock: int | None) -> None:
    """Add a reward of COMMUNITY given by merchant MERCHANT_ID, e.g. `linli reward add SQ001 1 洗衣液 30 --stock 20`."""
    from app.timebank.rewards import add_reward

    with _runtime() as rt:
        created = add_reward(rt, community, merchant_id=merchant_id, name=name, points=points, stock=stock)
        left = "unlimited" if created.stock is None else str(created.stock)
        click.echo(f"added reward {created.id} {created.name} for {created.points} points ({left}) in {community}")


# -- reports -----------------------------------------------------------------------------------------


@main.group()
def report() -> None:
    """Reports of a community or street."""


@report.command("volunteer-hours")
@click.option("--area", required=True, help="a community's or a street's code")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="first day (Shanghai)")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="last day, included")
@click.option("--by", type=click.Choice(["volunteer", "team", "employer_unit"]), default="volunteer", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="write an .xlsx here")
@_friendly_errors
def report_volunteer_hours(area: str, start: datetime, end: datetime, by: str, output: str | None) -> None:
    """Service hours of AREA's volunteers, e.g. `linli report volunteer-hours --area SQ001 --from 2026-11-01
    --to 2026-11-30 --by employer_unit -o hours.xlsx` (without -o: a table on the terminal)."""
    from app.community.hours_out import report_out, report_sheets
    from app.community.hours_rules import GroupBy
    from app.community.volunteer_hours import operator_report
    from app.core.spreadsheets import write_workbook

    with _runtime() as rt:
        result = operator_report(rt, area, start=start.date(), end=end.date(), by=GroupBy(by))
    if output:
        write_workbook(output, report_sheets(result))
        click.echo(f"wrote {output}")
        return
    answer = report_out(result)
    for row in answer.rows:
        click.echo(
            f"{row.key}\t{row.volunteers}\t{row.hours}h\t{row.orders}\t{row.service_points}\t{row.adjusted_points}"
        )
    totals = answer.totals
    click.echo(
        f"合计\t{totals.volunteers}\t{totals.hours}h\t{totals.orders}\t{totals.service_points}\t{totals.adjusted_points}"
    )


@main.group()
def export() -> None:
    """Excel exports of a community or street."""


@export.command("orders")
@click.option("--area", required=True, help="a community's or a street's code")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="first day (Shanghai)")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="last day, included")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="the .xlsx to write")
@_friendly_errors
def export_orders(area: str, start: datetime, end: datetime, output: str | None) -> None:
    """The work ledger (工作台账) of AREA, e.g. `linli export orders --area SQ001 --from 2026-11-01
    --to 2026-11-30 -o ledger.xlsx` (without -o: 工作台账_<area>_<from>_<to>.xlsx here)."""
    from app.community.work_ledger import operator_ledger
    from app.core.spreadsheets import Sheet, write_workbook

    def write(sheets: list[Sheet], filename: str) -> str:
        target = output or filename
        write_workbook(target, sheets)
        return target

    with _runtime() as rt:
        written = operator_ledger(rt, area=area, first=start.date(), last=end.date(), write=write)
    click.echo(f"wrote {written}")


# -- the Official Account bot ------------------------------------------------------------------


@main.group()
def bot() -> None:
    """The Official Account bot."""


@bot.command("menu")
def bot_menu() -> None:
    """Push the menu defined in config ([bot] menu) to the Official Account (menu/create)."""
    from app.wechat.errors import WeChatError

    with _runtime() as rt:
        buttons = list(rt.settings.bot.menu)
        try:
            rt.wechat.create_menu({"button": buttons})
        except WeChatError as exc:
            raise click.ClickException(f"WeChat refused the menu: {exc}") from exc
    click.echo(f"menu pushed: {', '.join(str(b.get('name')) for b in buttons)}")


@bot.command("say")
@click.argument("oa_openid")
@click.argument("words", nargs=-1, required=True)
@click.option("--url", help="the running server (default: http://server.host:server.port)")
def bot_say(oa_openid: str, words: tuple[str, ...], url: str | None) -> None:
    """Send WORDS to the bot as follower OA_OPENID and print its reply (a laptop's stand-in for
    the Official Account chat; the demo people follow as oa-<openid>, e.g. oa-secretary-wang)."""
    import urllib.error

    from cli.bot_chat import say

    settings = _settings()
    base = url or f"http://{settings.server.host}:{settings.server.port}"
    try:
        reply = say(settings, base, oa_openid, " ".join(words))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise click.ClickException(f"could not talk to the bot at {base}: {exc}") from exc
    click.echo(reply or "(no reply)")


# -- Excel imports -----------------------------------------------------------------------------


#: Below this many rows the check is instant and a progress bar would only flicker.
_PROGRESS_FROM_ROWS = 500


@main.group("import")
def import_() -> None:
    """Import a community's people from Excel (all rows or none)."""


@import_.command("residents")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--community", required=True, help="code of the community, e.g. SQ001")
def import_residents(file: Path, community: str) -> None:
    """Import the residents listed in FILE.xlsx into COMMUNITY; every bad row is reported, nothing
    is written then (exit code 1)."""
    from app.community.imports.residents import import_residents_file

    imported = _import_sheet(import_residents_file, file, community)
    click.echo(f"已导入 {imported} 位居民到 {community}")


@import_.command("volunteers")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--community", required=True, help="code of the community, e.g. SQ001")
def import_volunteers(file: Path, community: str) -> None:
    """Import the volunteers listed in FILE.xlsx into COMMUNITY (skills, registry entry, teams);
    every bad row is reported, nothing is written then (exit code 1)."""
    from app.community.imports.volunteers import import_volunteers_file

    imported = _import_sheet(import_volunteers_file, file, community)
    click.echo(f"已导入 {imported} 位志愿者到 {community}")


def _import_sheet(importer: Callable[..., Any], file: Path, community: str) -> int:
    """Run ``importer`` on FILE with a progress bar for long sheets; bad rows reported on stderr."""
    from app.core.errors import ImportRejectedError

    def run() -> int:
        with _runtime() as rt, file.open("rb") as stream, ExitStack() as bars:

            def progress(total: int) -> Callable[[int], None]:
                if total < _PROGRESS_FROM_ROWS:
                    return lambda _: None
                bar = bars.enter_context(click.progressbar(length=total, label="检查中", file=sys.stderr))
                return bar.update

            return int(importer(rt, community, stream, progress=progress).imported)

    try:
        return run()
    except ImportRejectedError as exc:
        # The bar is closed by now: the report starts on a line of its own.
        for problem in exc.details["rows"]:
            click.echo(f"第 {problem['row']} 行 [{problem['column']}]：{problem['message']}", err=True)
        raise click.ClickException(exc.message) from exc
    except LinliError as exc:
        raise click.ClickException(f"{exc.message} ({exc.code})") from exc
