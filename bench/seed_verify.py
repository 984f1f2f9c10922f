"""Consistency queries over a seeded database: each counts the rows that break one rule (0 passes).

They check what the schema cannot: the audit trail against the order's columns, ratings, points and
return visits against each other, numbers against their counters and their Shanghai day, and the
area tree's denormalised community. The constraints themselves were checked while loading.
"""

from __future__ import annotations

import time
from typing import Final

import sqlalchemy as sa
from seed_city import City
from seed_load import Target
from seed_rows import Stamper

#: (what must hold, the query counting the rows where it does not)
CHECKS: Final[tuple[tuple[str, str], ...]] = (
    (
        "each order: submit first, one event per version, the last in its status at updated_at",
        """SELECT count(*) FROM orders o
        LEFT JOIN (SELECT order_id, count(*) AS n, min(id) AS first_id, max(id) AS last_id
                   FROM order_events GROUP BY order_id) e ON e.order_id = o.id
        LEFT JOIN order_events f ON f.id = e.first_id
        LEFT JOIN order_events l ON l.id = e.last_id
        WHERE e.order_id IS NULL OR o.version <> e.n OR f.action <> 'submit' OR f.from_status IS NOT NULL
           OR f.created_at <> o.created_at OR l.to_status <> o.status OR l.created_at <> o.updated_at""",
    ),
    (
        "each event starts where the one before ended, and not before it",
        """SELECT count(*) FROM order_events a JOIN order_events b ON b.id = a.id + 1 AND b.order_id = a.order_id
        WHERE b.from_status <> a.to_status OR b.created_at < a.created_at""",
    ),
    ("no event at or after --until", "SELECT count(*) FROM order_events WHERE created_at >= :until"),
    (
        "assignment and time columns agree with the status",
        """SELECT count(*) FROM orders WHERE
           (status IN ('accepted', 'in_service')
            AND (assignee_id IS NULL OR accepted_at IS NULL OR completed_at IS NOT NULL))
        OR (status IN ('submitted', 'pooled', 'rejected', 'cancelled', 'escalated')
            AND (assignee_id IS NOT NULL OR team_id IS NOT NULL OR property_company_id IS NOT NULL
                 OR accepted_at IS NOT NULL))
        OR (status = 'assigned' AND (CASE WHEN assignee_id IS NULL THEN 0 ELSE 1 END
            + CASE WHEN team_id IS NULL THEN 0 ELSE 1 END
            + CASE WHEN property_company_id IS NULL THEN 0 ELSE 1 END) <> 1)
        OR (status IN ('completed', 'closed') AND completed_at IS NULL)
        OR ((status = 'closed') <> (closed_at IS NOT NULL))
        OR (status = 'escalated' AND (escalated_department IS NULL OR escalation_due_at IS NULL))""",
    ),
    (
        "assignees are the community's volunteers or its company's staff, and members of the team",
        """SELECT count(*) FROM orders o WHERE o.assignee_id IS NOT NULL AND (
            NOT EXISTS (SELECT 1 FROM role_memberships m WHERE m.user_id = o.assignee_id AND m.area_id = o.community_id
                        AND m.role IN ('volunteer', 'property_company'))
            OR (o.team_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM team_members t
                                                      WHERE t.team_id = o.team_id AND t.user_id = o.assignee_id)))""",
    ),
    (
        "an order's category belongs to its community",
        """SELECT count(*) FROM orders o JOIN service_categories c ON c.id = o.category_id
        WHERE c.community_id <> o.community_id""",
    ),
    (
        "ratings only of closed orders, naming the order's assignee; one for each rate event",
        """SELECT (SELECT count(*) FROM ratings r JOIN orders o ON o.id = r.order_id
                   WHERE o.status <> 'closed' OR COALESCE(r.assignee_id, 0) <> COALESCE(o.assignee_id, 0))
            + (SELECT count(*) FROM order_events e LEFT JOIN ratings r ON r.order_id = e.order_id
               WHERE e.action = 'rate' AND r.id IS NULL)""",
    ),
    (
        "an order's rating_score is its rating's score, and only rated orders have one",
        """SELECT count(*) FROM orders o LEFT JOIN ratings r ON r.order_id = o.id
        WHERE o.rating_score IS DISTINCT FROM r.score""",
    ),
    (
        "points exactly for rated orders with an assignee and a category worth points",
        """SELECT count(*) FROM ratings r JOIN orders o ON o.id = r.order_id
        JOIN service_categories c ON c.id = o.category_id
        LEFT JOIN points_entries p ON p.order_id = r.order_id
        WHERE ((r.assignee_id IS NOT NULL AND c.points > 0) <> (p.id IS NOT NULL))
           OR (p.id IS NOT NULL AND (p.user_id <> r.assignee_id OR p.delta <> c.points))""",
    ),
    (
        "a low rating puts the order on the return-visit list",
        """SELECT count(*) FROM ratings r
        LEFT JOIN return_visits v ON v.order_id = r.order_id AND v.reason = 'low_rating'
        WHERE (r.score <= 2) <> (v.id IS NOT NULL)""",
    ),
    (
        "each volunteer's running rating figures equal their ratings",
        """SELECT (SELECT count(*) FROM (SELECT assignee_id, count(*) AS n, sum(score) AS total FROM ratings
                   WHERE assignee_id IS NOT NULL GROUP BY assignee_id) r
                   LEFT JOIN volunteer_stats s ON s.user_id = r.assignee_id
                   WHERE s.user_id IS NULL OR s.rated_count <> r.n OR s.score_sum <> r.total)
            + (SELECT count(*) FROM volunteer_stats s
               WHERE NOT EXISTS (SELECT 1 FROM ratings r WHERE r.assignee_id = s.user_id))""",
    ),
    (
        "numbers run 1..last of their community's counter for the day",
        """SELECT (SELECT count(*) FROM orders o LEFT JOIN order_number_counters c
                   ON c.community_id = o.community_id AND c.day = substr(o.number, 1, 8)
                   WHERE c.community_id IS NULL OR CAST(substr(o.number, 10) AS INTEGER) > c.last)
            + (SELECT count(*) FROM order_number_counters c LEFT JOIN
                  (SELECT community_id, substr(number, 1, 8) AS day, count(*) AS n FROM orders
                   GROUP BY community_id, substr(number, 1, 8)) o ON o.community_id = c.community_id AND o.day = c.day
               WHERE o.n IS NULL OR o.n <> c.last)""",
    ),
    (
        "an order's number is of the Shanghai day it was posted",
        "SELECT count(*) FROM orders WHERE substr(number, 1, 8) <> {shanghai_day}",
    ),
    (
        "the area tree: kinds under kinds, community_id denormalised",
        """SELECT count(*) FROM areas a LEFT JOIN areas p ON p.id = a.parent_id WHERE
           (a.kind = 'street' AND (a.parent_id IS NOT NULL OR a.community_id IS NOT NULL))
        OR (a.kind <> 'street' AND p.id IS NULL)
        OR (a.kind = 'community' AND (p.kind <> 'street' OR a.community_id <> a.id))
        OR (a.kind = 'grid' AND (p.kind <> 'community' OR a.community_id <> p.id))
        OR (a.kind = 'building' AND (p.kind <> 'grid' OR a.community_id <> p.community_id))""",
    ),
    (
        "households: the resident role in that community, its grid, its building by label",
        """SELECT count(*) FROM households h
        LEFT JOIN areas g ON g.id = h.grid_id LEFT JOIN areas b ON b.id = h.building_id
        WHERE NOT EXISTS (SELECT 1 FROM role_memberships m WHERE m.user_id = h.user_id AND m.role = 'resident'
                          AND m.area_id = h.community_id)
           OR (h.grid_id IS NOT NULL AND g.parent_id <> h.community_id)
           OR (h.building_id IS NOT NULL AND (b.parent_id <> h.grid_id OR b.name <> h.building || '栋'))""",
    ),
)

SHANGHAI_DAY: Final = {
    "sqlite": "strftime('%Y%m%d', created_at, '+8 hours')",
    "postgresql": "to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')",
}


def verify(target: Target, city: City) -> int:
    """Run every check and print the status mix; the number of checks that failed."""
    until = Stamper(with_offset=not target.is_sqlite)(city.until_instant)
    engine = target.engine()
    failed = 0
    try:
        with engine.connect() as conn:
            for rule, query in CHECKS:
                started = time.perf_counter()
                statement = query.replace("{shanghai_day}", SHANGHAI_DAY[engine.dialect.name])
                bad = int(conn.execute(sa.text(statement), {"until": until}).scalar_one())
                failed += 1 if bad else 0
                verdict = "ok" if not bad else f"FAIL: {bad} rows"
                print(f"  check {rule}: {verdict} ({time.perf_counter() - started:.1f} s)", flush=True)
            _print_statuses(conn, city)
    finally:
        engine.dispose()
    return failed


def _print_statuses(conn: sa.Connection, city: City) -> None:
    focus = city.focus_or_largest()
    for label, where in (("city", "1 = 1"), (focus.code, "community_id = :community")):
        rows = conn.execute(
            sa.text(f"SELECT status, count(*) FROM orders WHERE {where} GROUP BY status ORDER BY status"),  # noqa: S608 - fixed text
            {"community": focus.id},
        ).all()
        print(f"  statuses ({label}): " + ", ".join(f"{status} {count:,}" for status, count in rows))
