"""Demo data for `linli run`: a street, two communities, a catalogue and people to log in as."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.catalogue import create_category
from app.areas.models import AreaKind, ServiceCategory
from app.areas.tree import create_area, database_is_empty, get_area
from app.care.models import CarePlan, HouseholdCareTag
from app.care.vocabulary import CareTag, Every, PlanStatus
from app.core.clock import now_utc, shanghai_today
from app.identity.grants import assign_role
from app.identity.models import Household, User
from app.identity.roles import Role
from app.orders.models import Order, OrderEvent
from app.orders.submit import next_order_number
from app.orders.workflow import Action, OrderKind, OrderStatus
from app.property.companies import create_property_company
from app.runtime import Runtime
from app.timebank.ledger import PointsKind, credit
from app.timebank.merchants import create_merchant, link_merchant_staff
from app.timebank.rewards import create_reward
from app.volunteers.models import UserSkill
from app.volunteers.teams import create_team


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
    DemoPerson("property-sun", "阳光物业孙经理", Role.PROPERTY_COMPANY, "SQ-HP"),
    DemoPerson("merchant-qian", "便民超市钱老板", Role.MERCHANT, "SQ-HP"),
)

#: (name, points, stock or None for no limit): what 和平社区's partner shop offers for points.
REWARDS: tuple[tuple[str, int, int | None], ...] = (("大米一袋（5 公斤）", 30, 20), ("理发一次", 15, None))
#: Points volunteer-chen starts with, so that a redemption can be tried at once.
OPENING_POINTS = 40

#: openid → skills (match ServiceCategory.skill).
SKILLS: dict[str, tuple[str, ...]] = {"volunteer-li": ("electrician",), "volunteer-chen": ("escort",)}

#: (resident openid, category, kind, title, description, status) — orders to look at right away.
ORDERS: tuple[tuple[str, str, OrderKind, str, str, OrderStatus], ...] = (
    (
        "alice",
        "grocery",
        OrderKind.SERVICE,
        "帮忙买菜",
        "腿脚不便，想请人帮忙买两斤青菜和一袋米。",
        OrderStatus.SUBMITTED,
    ),
    (
        "alice",
        "appliance",
        OrderKind.SERVICE,
        "电饭煲不加热",
        "用了五年的电饭煲突然不加热了，想请懂电器的志愿者看看。",
        OrderStatus.POOLED,
    ),
    (
        "alice",
        "sanitation",
        OrderKind.REPORT,
        "3栋楼道灯坏了",
        "3栋2单元三楼楼道灯不亮，晚上上下楼不安全。",
        OrderStatus.SUBMITTED,
    ),
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
            create_area(session, kind, code, name, parent)
        for community in ("SQ-HP", "SQ-YL"):
            for code, name, points, sla_hours, skill in CATEGORIES:
                create_category(session, community, code, name, points=points, sla_hours=sla_hours, skill=skill)
        for person in PEOPLE:
            user = assign_role(session, person.openid, person.role, person.area, nickname=person.nickname)
            # Every demo person follows the Official Account and is bound to it, as the simulator's
            # follower oa-<openid> (its user info gives the same unionid as sim:<openid>), so that
            # `linli bot say oa-secretary-wang 待办` works at once and template messages reach them.
            user.oa_openid, user.oa_following = f"oa-{person.openid}", True
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
        for openid, skills in SKILLS.items():
            user_id = session.scalar(sa.select(User.id).where(User.openid == openid))
            session.add_all(UserSkill(user_id=user_id, skill=skill) for skill in skills)
        create_team(
            session, "SQ-HP", "和平党员先锋队", ["volunteer-li", "volunteer-chen"], leader_openid="volunteer-li"
        )
        # One firm for both communities of the street, as property companies often are.
        create_property_company(session, "阳光物业", communities=["SQ-HP", "SQ-YL"], staff_openids=["property-sun"])
        _demo_time_bank(session)
        _demo_orders(session)
        _demo_care(session)
    return True


def _demo_time_bank(session: Session) -> None:
    """A partner shop (商业合伙人) with its cashier and rewards, and points to spend there."""
    shop = create_merchant(session, "SQ-HP", "和平便民超市")
    cashier_id = session.scalar(sa.select(User.id).where(User.openid == "merchant-qian"))
    assert cashier_id is not None  # noqa: S101 - created above
    link_merchant_staff(session, shop.id, cashier_id)
    for name, points, stock in REWARDS:
        create_reward(session, "SQ-HP", merchant_id=shop.id, name=name, points=points, stock=stock)
    volunteer_id = session.scalar(sa.select(User.id).where(User.openid == "volunteer-chen"))
    assert volunteer_id is not None  # noqa: S101 - created above
    credit(session, volunteer_id, OPENING_POINTS, "演示初始积分", kind=PointsKind.ADJUSTED)


def _demo_orders(session: Session) -> None:
    now = now_utc()
    for openid, category_code, kind, title, description, status in ORDERS:
        resident = session.scalar(sa.select(User).where(User.openid == openid))
        assert resident is not None  # noqa: S101 - created above
        household = session.scalar(sa.select(Household).where(Household.user_id == resident.id))
        assert household is not None  # noqa: S101 - created above
        category = session.scalar(
            sa.select(ServiceCategory).where(
                ServiceCategory.community_id == household.community_id, ServiceCategory.code == category_code
            )
        )
        assert category is not None  # noqa: S101 - created above
        order = Order(
            number=next_order_number(session, household.community_id, now),
            community_id=household.community_id,
            grid_id=household.grid_id,
            category_id=category.id,
            kind=kind,
            status=OrderStatus.SUBMITTED,
            title=title,
            description=description,
            resident_id=resident.id,
            created_by_id=resident.id,
            contact_phone=resident.phone,
            building=household.building,
            unit=household.unit,
            room=household.room,
        )
        session.add(order)
        session.flush()
        session.add(
            OrderEvent(
                order_id=order.id,
                actor_id=resident.id,
                action=Action.SUBMIT,
                to_status=OrderStatus.SUBMITTED,
                channel="api",
            )
        )
        if status is OrderStatus.POOLED:
            # Published by the secretary, so that volunteers find something in the pool.
            secretary_id = session.scalar(sa.select(User.id).where(User.openid == "secretary-wang"))
            order.status = OrderStatus.POOLED
            order.dispatched_at = now
            session.add(
                OrderEvent(
                    order_id=order.id,
                    actor_id=secretary_id,
                    action=Action.PUBLISH,
                    from_status=OrderStatus.SUBMITTED,
                    to_status=OrderStatus.POOLED,
                    channel="api",
                )
            )
    session.flush()


def _demo_care(session: Session) -> None:
    """张阿姨 lives alone (a care tag set by her grid worker) and 李志愿者 visits her every week on
    today's weekday at 09:30 (助老陪伴), starting today: the care job makes the visits' orders."""
    alice = session.scalar(sa.select(Household).join(User, User.id == Household.user_id).where(User.openid == "alice"))
    assert alice is not None  # noqa: S101 - created above, as the rest
    worker_id = session.scalar(sa.select(User.id).where(User.openid == "gridworker-zhao"))
    volunteer_id = session.scalar(sa.select(User.id).where(User.openid == "volunteer-li"))
    companion = session.scalar(
        sa.select(ServiceCategory.id).where(
            ServiceCategory.code == "companion", ServiceCategory.community_id == alice.community_id
        )
    )
    assert worker_id is not None  # noqa: S101
    assert volunteer_id is not None  # noqa: S101
    assert companion is not None  # noqa: S101
    session.add(
        HouseholdCareTag(
            household_id=alice.id,
            community_id=alice.community_id,
            tag=CareTag.LIVING_ALONE,
            note="子女在外地，每周电话联系",
            set_by_id=worker_id,
        )
    )
    today = shanghai_today()
    session.add(
        CarePlan(
            community_id=alice.community_id,
            household_id=alice.id,
            resident_id=alice.user_id,
            volunteer_id=volunteer_id,
            category_id=companion,
            every=Every.WEEK,
            weekday=today.isoweekday(),
            at=time(9, 30),
            starts_on=today,
            note="陪张阿姨聊聊天，看看药够不够",
            status=PlanStatus.ACTIVE,
            created_by_id=worker_id,
        )
    )
    session.flush()
