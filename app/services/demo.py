"""Demo data for `linli run`: a street, two communities, a catalogue and people to log in as."""

from __future__ import annotations

from dataclasses import dataclass

from app.models import AreaKind, Household
from app.runtime import Runtime
from app.services.access import get_area
from app.services.admin import add_area, add_category, database_is_empty, grant_role
from app.workflow import Role


@dataclass(frozen=True, slots=True)
class DemoPerson:
    openid: str
    nickname: str
    role: Role
    area: str

    @property
    def login_code(self) -> str:
        """What to send as ``code`` to POST /api/v1/auth/login against the simulator."""
        return f"sim:{self.openid}"


AREAS: tuple[tuple[AreaKind, str, str, str | None], ...] = (
    (AreaKind.STREET, "JD-XH", "新华街道", None),
    (AreaKind.COMMUNITY, "SQ-HP", "和平社区", "JD-XH"),
    (AreaKind.COMMUNITY, "SQ-YL", "幸福里社区", "JD-XH"),
    (AreaKind.GRID, "SQ-HP-G1", "和平一网格（阳光小区）", "SQ-HP"),
    (AreaKind.GRID, "SQ-HP-G2", "和平二网格（翠苑小区）", "SQ-HP"),
    (AreaKind.GRID, "SQ-YL-G1", "幸福里一网格", "SQ-YL"),
    (AreaKind.BUILDING, "SQ-HP-G1-B3", "3栋", "SQ-HP-G1"),
    (AreaKind.BUILDING, "SQ-HP-G1-B5", "5栋", "SQ-HP-G1"),
    (AreaKind.BUILDING, "SQ-YL-G1-B1", "1栋", "SQ-YL-G1"),
)

#: (code, name, points, SLA hours, skill)
CATEGORIES: tuple[tuple[str, str, int, int, str | None], ...] = (
    ("grocery", "买菜代购", 5, 24, None),
    ("appliance", "家电维修", 15, 72, "electrician"),
    ("escort", "陪同就医", 20, 48, "escort"),
    ("companion", "助老陪伴", 10, 72, None),
    ("legal", "法律咨询", 15, 120, "legal"),
    ("sanitation", "环境卫生", 5, 48, None),
)

PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("street-admin-sun", "孙主任", Role.STREET_ADMIN, "JD-XH"),
    DemoPerson("secretary-wang", "王书记", Role.SECRETARY, "SQ-HP"),
    DemoPerson("secretary-zhou", "周书记", Role.SECRETARY, "SQ-YL"),
    DemoPerson("gridworker-zhao", "赵网格员", Role.GRID_WORKER, "SQ-HP-G1"),
    DemoPerson("volunteer-li", "李志愿者", Role.VOLUNTEER, "SQ-HP"),
    DemoPerson("volunteer-chen", "陈志愿者", Role.VOLUNTEER, "SQ-HP"),
    DemoPerson("volunteer-liu", "刘志愿者", Role.VOLUNTEER, "SQ-YL"),
    DemoPerson("alice", "张阿姨", Role.RESIDENT, "SQ-HP"),
    DemoPerson("resident-wu", "吴大爷", Role.RESIDENT, "SQ-YL"),
)

#: Where demo residents live: openid → (community, grid, building, unit, room).
HOMES: dict[str, tuple[str, str, str, str, str]] = {
    "alice": ("SQ-HP", "SQ-HP-G1", "3", "2", "301"),
    "resident-wu": ("SQ-YL", "SQ-YL-G1", "1", "1", "102"),
}


def load_demo(rt: Runtime) -> bool:
    """Load the demo set into an empty database in one transaction; False if it was not empty."""
    if not database_is_empty(rt):
        return False
    with rt.db.write() as session:
        for kind, code, name, parent in AREAS:
            add_area(session, kind, code, name, parent)
        for community in ("SQ-HP", "SQ-YL"):
            for code, name, points, sla_hours, skill in CATEGORIES:
                add_category(session, community, code, name, points=points, sla_hours=sla_hours, skill=skill)
        for person in PEOPLE:
            user = grant_role(session, person.openid, person.role, person.area, nickname=person.nickname)
            home = HOMES.get(person.openid)
            if home is not None:
                community, grid, building, unit, room = home
                grid_area = get_area(session, grid)
                session.add(
                    Household(
                        user_id=user.id,
                        community_id=get_area(session, community).id,
                        grid_id=grid_area.id,
                        building=building,
                        unit=unit,
                        room=room,
                        verified=True,
                    )
                )
                user.phone = "13800138000" if person.openid == "alice" else "13900139000"
    return True
