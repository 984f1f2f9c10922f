"""Synthetic city generator: a whole city of Linli data, loaded fast into a database that is kept.

What it makes (defaults: the goal city; ``--scale 0.01`` for a quick one):

* the area tree: 20 streets, 400 communities of skewed sizes (Pareto: most small, a few large),
  grids per community (more in larger ones), buildings per grid; each community's catalogue of
  service categories (``skill``, ``points``, ``sla_hours``);
* people: 1,000,000 residents (role ``resident`` in their community and a household on one of its
  grids and buildings), 100,000 of them also volunteers (role ``volunteer``, skills from the
  catalogue's, some in teams); per community its secretaries, a grid worker per grid and one for
  the whole community, property companies with their staff; a street admin per street;
* 1,000,000 orders over ``--days`` days, each with the audit trail of its way through the workflow
  (``order_events``), the ratings, points and return visits that way wrote, numbers
  ``YYYYMMDD-NNNN`` per community and Shanghai day, and ``order_number_counters`` at the last number
  of each day. Most are closed; every community with enough orders has some open in each open
  status, as young as the reminder jobs' windows allow (``seed_orders.py`` says how);
* one focus community, ``SQ0001``, the API benchmark's target: ``--focus-community-volunteers``
  volunteers among ``--focus-community-users`` residents and ``--focus-community-orders`` orders
  (0 volunteers: none).

Every count marked (scaled) in ``--help`` is multiplied by ``--scale``. The same ``--seed``,
``--scale``, counts and ``--until`` give the same rows, on SQLite and PostgreSQL alike (each phase
has its own ``random.Random`` seeded from ``--seed``). ``--until`` (a Shanghai date, default today)
is where the history ends: every timestamp is before its midnight.

How it loads (``seed_load.py``): a new database (PostgreSQL: ``<base>_linli_city_<seed>`` beside
``--database-url``, or ``--database-name``; SQLite: the file of ``--database-url``), refused if it
exists with tables in it unless ``--replace``; ``alembic upgrade head``; then one transaction that
drops the secondary indexes (PostgreSQL: also the unique constraints and foreign keys), writes
plain tuples with ids assigned here (PostgreSQL: ``COPY ... FROM STDIN`` on a background thread;
SQLite: ``executemany``, ``synchronous=OFF``), and builds what it dropped again from the
database's own definitions, which checks every row (SQLite: ``PRAGMA foreign_key_check``). Then
the sequences past the ids used, ``VACUUM ANALYZE`` / ``ANALYZE``, and the consistency queries of
``seed_verify.py``. The database is kept (``--discard`` drops it, for measuring only); its URL,
the focus community and openids to log in as through the WeChat simulator (``sim:<openid>``) are
printed last, after rows/s per table and in total.

Usage: ``.venv/bin/python bench/seed.py [--database-url URL] [--database-name NAME] [--seed 1]
[--scale 1.0] [--until YYYY-MM-DD] [--replace] [--discard]`` (``--help`` for every count).
Exit status 1 if a consistency query failed (the database is kept, to look at); 2 on bad arguments
or a target that exists and is not empty.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import fields, replace
from datetime import date

from seed_city import City, CitySize, build_city
from seed_load import Loader, LoadReport, Target, open_target, prepare_target
from seed_orders import OrderMaker
from seed_people import PeopleMaker
from seed_rows import AREAS, CATEGORIES, check_columns
from seed_verify import verify

from app.core.clock import shanghai_today

#: Most rows a buffer holds before it is written (one COPY or executemany each).
CHUNK_ROWS = 50_000
MAX_SCALE = 10.0
#: Counts that --scale multiplies (the others are per community, per grid, or shares).
SCALED = (
    "streets",
    "communities",
    "residents",
    "volunteers",
    "orders",
    "focus_community_volunteers",
    "focus_community_users",
    "focus_community_orders",
)


def city_size(args: argparse.Namespace) -> CitySize:
    """The counts of the command line with --scale applied (at least one street and two communities)."""
    given = CitySize(**{f.name: getattr(args, f.name) for f in fields(CitySize)})
    scaled = {name: round(getattr(given, name) * args.scale) for name in SCALED}
    scaled["streets"] = max(1, scaled["streets"])
    scaled["communities"] = max(2, scaled["streets"], scaled["communities"])
    return replace(given, **scaled)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    target = parser.add_argument_group("target")
    target.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL server URL (its database names the new one: <base>_linli_city_<seed>), or the SQLite "
        "file to create, e.g. sqlite:////tmp/city.db. Default: sqlite:////tmp/linli-city-<seed>.db",
    )
    target.add_argument("--database-name", default="", help="PostgreSQL: the database to create and seed instead")
    target.add_argument("--replace", action="store_true", help="drop an existing non-empty target first")
    target.add_argument("--discard", action="store_true", help="drop the database at the end (to measure only)")
    shape = parser.add_argument_group("shape")
    shape.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    shape.add_argument("--scale", type=float, default=1.0, help="multiplies the counts marked (scaled) (default 1.0)")
    shape.add_argument(
        "--until", type=date.fromisoformat, default=None, help="Shanghai date the history ends at (default today)"
    )
    for f in fields(CitySize):
        scaled = " (scaled)" if f.name in SCALED else ""
        flag = f"--{f.name.replace('_', '-')}"
        shape.add_argument(flag, type=type(f.default), default=f.default, help=f"default {f.default}{scaled}")
    args = parser.parse_args(argv)
    problem = _argument_problem(args)
    if problem:
        parser.error(problem)
    return args


def _argument_problem(args: argparse.Namespace) -> str:
    """What is wrong with the arguments, or ''."""
    if not 0 < args.scale <= MAX_SCALE:
        return f"--scale must be in (0, {MAX_SCALE}]"
    if any(getattr(args, f.name) < 0 for f in fields(CitySize)):
        return "counts must not be negative"
    if args.days < 1 or args.buildings_per_grid < 1 or args.grids_per_community <= 0 or args.team_size < 1:
        return "--days, --buildings-per-grid, --grids-per-community and --team-size must be positive"
    if args.team_share > 1 or args.secretaries_per_community < 1:
        return "--team-share must be at most 1, and every community needs a secretary"
    return city_size(args).problem()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = city_size(args)
    until: date = args.until or shanghai_today()
    check_columns()
    url = args.database_url or f"sqlite:////tmp/linli-city-{args.seed}.db"
    try:
        target = prepare_target(url, args.database_name, seed=args.seed, replace=args.replace)
    except (FileExistsError, ValueError) as exc:
        print(f"seed.py: {exc}", file=sys.stderr)
        return 2
    print(f"seeding {target.safe_url} (seed {args.seed}, scale {args.scale}, history until {until} Shanghai)")
    print(size.describe(), flush=True)
    return seed(target, size, seed_number=args.seed, until=until, discard=args.discard)


def seed(target: Target, size: CitySize, *, seed_number: int, until: date, discard: bool) -> int:
    """Migrate, load, finish and verify ``target``; drop it on failure (or when ``discard``)."""
    report = LoadReport()
    started = time.perf_counter()
    try:
        with report.phase("migrate"):
            target.migrate()
        city = build_city(size, _rng(seed_number, "city"), until=until)
        with open_target(target, report, chunk_rows=CHUNK_ROWS) as loader:
            load_city(loader, city, seed_number)
        with report.phase("derived figures"):
            target.derive()
        with report.phase("vacuum+analyze" if not target.is_sqlite else "analyze"):
            target.analyze()
        wall = time.perf_counter() - started
        print("verifying:", flush=True)
        with report.phase("verify"):
            failed = verify(target, city)
        size_bytes = target.size_bytes()
    except BaseException:
        target.drop()
        raise
    if discard:
        target.drop()
    report.print_summary(wall, size_bytes)
    print_logins(city, target)
    if failed:
        kept = "dropped (--discard)" if target.dropped else "kept to look at"
        print(f"RESULT: FAIL ({failed} consistency checks failed; the database is {kept})")
        return 1
    print("RESULT: ok")
    return 0


def load_city(loader: Loader, city: City, seed_number: int) -> None:
    """Every table's rows, phase by phase, into ``loader``."""
    with loader.phase("areas+catalogues", (AREAS, CATEGORIES)):
        city.write_areas(loader)
        city.write_categories(loader, _rng(seed_number, "categories"))
    with loader.phase("people", PeopleMaker.TABLES):
        PeopleMaker(city, loader, _rng(seed_number, "people")).write()
    with loader.phase("orders", OrderMaker.TABLES):
        OrderMaker(city, loader, _rng(seed_number, "orders")).write()


def _rng(seed_number: int, phase: str) -> random.Random:
    """The phase's own generator, so that changing one phase leaves the others' rows as they were."""
    return random.Random(f"{seed_number}/{phase}")  # noqa: S311 - synthetic data, not secrets


def print_logins(city: City, target: Target) -> None:
    focus = city.focus_or_largest()
    print(f"database: {target.safe_url}" + (" (dropped: --discard)" if target.dropped else " (kept)"))
    print(
        f"focus community: {focus.code} {focus.name} (id {focus.id}): {focus.residents} residents, "
        f"{focus.volunteers} volunteers, {focus.orders} orders"
    )
    print('log in with POST /api/v1/auth/login {"code": "sim:<openid>"} as:')
    for role, openid in city.logins(focus):
        print(f"  {role:<13} {openid}")


if __name__ == "__main__":
    sys.exit(main())
