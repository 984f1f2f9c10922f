"""The city seed.py builds: its size, its streets and communities, the area tree and the catalogues.

``build_city`` decides every community's share of residents, volunteers and orders up front (so
that the row-writing phases can run one community at a time); the people phase then fills in the
user ids each community's orders need (staff, residents' homes, skilled volunteers, teams).
"""

from __future__ import annotations

import math
import random
from array import array
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, Protocol

from seed_rows import AREAS, CATEGORIES, DAY, Row, Stamper, shanghai_midnight

from app.areas.models import AreaKind

#: A community's residents follow a Pareto law (most small, a few large), capped at this many times
#: the smallest weight so that no ordinary community outgrows the focus one.
PARETO_ALPHA = 1.5
PARETO_CAP = 30.0
MIN_RESIDENTS = 20
MIN_VOLUNTEERS = 2
MIN_ORDERS = 1
MAX_GRIDS = 99
MIN_CATEGORIES = 3
#: Staff users per property company.
PROPERTY_STAFF = 2
FOCUS_CODE = "SQ0001"


class Sink(Protocol):
    """Where generated rows go (seed_load.Loader)."""

    stamp: Stamper

    def add(self, table: str, row: Row) -> None: ...

    def next_id(self, table: str) -> int: ...


@dataclass(frozen=True)
class CitySize:
    """How big the city is: the command line's counts, --scale already applied."""

    streets: int = 20
    communities: int = 400
    grids_per_community: float = 6.0
    buildings_per_grid: int = 8
    residents: int = 1_000_000
    volunteers: int = 100_000
    orders: int = 1_000_000
    days: int = 365
    secretaries_per_community: int = 2
    grid_workers_per_grid: int = 1
    community_grid_workers: int = 1
    property_companies_per_community: float = 1.0
    categories_per_community: int = 10
    team_share: float = 0.3
    team_size: int = 25
    focus_community_volunteers: int = 10_000
    focus_community_users: int = 60_000
    focus_community_orders: int = 200_000

    @property
    def has_focus(self) -> bool:
        return self.focus_community_volunteers > 0

    @property
    def ordinary(self) -> int:
        """Communities other than the focus one."""
        return self.communities - (1 if self.has_focus else 0)

    def left_for_ordinary(self) -> tuple[int, int, int]:
        """Residents, volunteers and orders the ordinary communities share."""
        if not self.has_focus:
            return self.residents, self.volunteers, self.orders
        return (
            self.residents - self.focus_community_users,
            self.volunteers - self.focus_community_volunteers,
            self.orders - self.focus_community_orders,
        )

    def problem(self) -> str:
        """Why this city cannot be built, or ''."""
        if not MIN_CATEGORIES <= self.categories_per_community <= len(CATALOGUE):
            return f"--categories-per-community must be between {MIN_CATEGORIES} and {len(CATALOGUE)}"
        if self.has_focus and not (
            0 < self.focus_community_volunteers <= self.focus_community_users and self.focus_community_orders > 0
        ):
            return "the focus community needs volunteers <= users and some orders (after --scale)"
        residents, volunteers, orders = self.left_for_ordinary()
        n = self.ordinary
        if residents < MIN_RESIDENTS * n or volunteers < MIN_VOLUNTEERS * n or orders < MIN_ORDERS * n:
            return (
                f"too few residents, volunteers or orders for {n} ordinary communities (each needs "
                f"{MIN_RESIDENTS}, {MIN_VOLUNTEERS} and {MIN_ORDERS}): lower --communities or raise the counts"
            )
        if volunteers * 2 > residents:
            return "volunteers are residents too: at most half of the ordinary communities' residents"
        return ""

    def describe(self) -> str:
        focus = (
            f"; focus community {FOCUS_CODE}: {self.focus_community_users} residents, "
            f"{self.focus_community_volunteers} volunteers, {self.focus_community_orders} orders"
            if self.has_focus
            else "; no focus community"
        )
        return (
            f"city: {self.streets} streets, {self.communities} communities, {self.residents} residents "
            f"({self.volunteers} volunteers), {self.orders} orders over {self.days} days{focus}"
        )


@dataclass(frozen=True)
class CatalogueEntry:
    code: str
    name: str
    points: int
    sla_hours: int
    skill: str | None
    #: How often residents ask for it, relative to the others.
    weight: float
    #: A 随手拍 matter (a problem in a public space) more than a service.
    report: bool
    #: (title, description) of orders of this category.
    titles: tuple[tuple[str, str], ...]


CATALOGUE: Final[tuple[CatalogueEntry, ...]] = (
    CatalogueEntry(
        "grocery",
        "买菜代购",
        5,
        24,
        None,
        20,
        False,
        (
            ("帮忙买菜", "腿脚不便，想请人帮忙买两斤青菜和一袋米。"),
            ("代买日用品", "家里洗衣液和纸巾用完了，麻烦帮忙带一些。"),
        ),
    ),
    CatalogueEntry(
        "sanitation",
        "环境卫生",
        5,
        48,
        None,
        7,
        True,
        (
            ("楼道堆放杂物", "楼道里堆了很多纸箱，影响通行，也有消防隐患。"),
            ("垃圾桶满溢", "小区门口的垃圾桶满了两天没人清理。"),
        ),
    ),
    CatalogueEntry(
        "facility",
        "公共设施报修",
        5,
        72,
        None,
        9,
        True,
        (("楼道灯坏了", "楼道灯不亮，晚上上下楼不安全。"), ("单元门禁失灵", "单元门的门禁刷卡没反应，门关不上。")),
    ),
    CatalogueEntry(
        "companion",
        "助老陪伴",
        10,
        72,
        None,
        12,
        False,
        (("陪老人聊聊天", "老伴住院了，家里老人一个人在家，想请志愿者陪陪他。"),),
    ),
    CatalogueEntry(
        "escort",
        "陪同就医",
        20,
        48,
        "escort",
        8,
        False,
        (("陪同去医院复查", "下周要去医院复查，子女不在身边，想请人陪同。"),),
    ),
    CatalogueEntry(
        "appliance",
        "家电维修",
        15,
        72,
        "electrician",
        10,
        False,
        (
            ("电饭煲不加热", "用了五年的电饭煲突然不加热了，想请懂电器的志愿者看看。"),
            ("插座没电", "厨房的插座突然没电了，空开没有跳。"),
        ),
    ),
    CatalogueEntry(
        "plumbing",
        "水管疏通",
        15,
        48,
        "plumber",
        8,
        False,
        (("下水道堵了", "厨房下水道堵了，水下不去。"), ("水龙头漏水", "卫生间水龙头一直滴水，关不紧。")),
    ),
    CatalogueEntry(
        "haircut", "上门理发", 10, 72, "barber", 5, False, (("上门理发", "老人行动不便，想请人上门理个发。"),)
    ),
    CatalogueEntry(
        "legal",
        "法律咨询",
        15,
        120,
        "legal",
        3,
        False,
        (("租房合同咨询", "房东要提前收回房子，想咨询一下合同怎么算。"),),
    ),
    CatalogueEntry(
        "tutoring",
        "课业辅导",
        10,
        120,
        "tutor",
        4,
        False,
        (("孩子数学辅导", "孩子上初二，数学跟不上，想请志愿者周末辅导。"),),
    ),
    CatalogueEntry(
        "computer",
        "手机电脑帮忙",
        10,
        72,
        "it",
        5,
        False,
        (("教用手机挂号", "想学会用手机在医院公众号上挂号。"), ("电脑开不了机", "家里电脑开机黑屏，孩子上网课要用。")),
    ),
    CatalogueEntry(
        "medicine", "代购药品", 10, 24, None, 6, False, (("帮忙取药", "降压药吃完了，想请人去社区卫生站帮忙取一下。"),)
    ),
    CatalogueEntry(
        "health", "健康咨询", 10, 72, "nurse", 4, False, (("量血压", "最近头晕，想请懂护理的志愿者上门量量血压。"),)
    ),
    CatalogueEntry(
        "counseling",
        "心理疏导",
        15,
        120,
        "counselor",
        2,
        False,
        (("想找人聊聊", "最近心情不好，睡不着，想找人聊聊。"),),
    ),
    CatalogueEntry(
        "parking", "停车秩序", 5, 48, None, 2, True, (("消防通道被占", "消防通道上长期停着一辆车，车主联系不上。"),)
    ),
)
#: Every community has these; the rest of its catalogue is drawn from the others.
ALWAYS: Final = ("grocery", "sanitation", "facility")
#: The skills volunteers can have: those the catalogue asks for, in catalogue order.
SKILL_NAMES: Final = tuple(entry.skill for entry in CATALOGUE if entry.skill)

STREET_NAMES: Final = (
    "新华",
    "人民",
    "解放",
    "和平",
    "建设",
    "朝阳",
    "东风",
    "红旗",
    "胜利",
    "光明",
    "长江",
    "黄河",
    "中山",
    "民主",
    "团结",
    "幸福",
    "前进",
    "复兴",
    "振兴",
    "文化",
)
COMMUNITY_WORDS: Final = (
    "和平",
    "幸福里",
    "阳光",
    "翠苑",
    "锦绣",
    "春晖",
    "桂花",
    "枫林",
    "梧桐",
    "南湖",
    "北苑",
    "东城",
    "西园",
    "金桥",
    "银杏",
    "紫荆",
    "滨江",
    "青山",
    "绿水",
    "明珠",
    "华庭",
    "怡景",
    "康乐",
    "安居",
)
COMPANY_WORDS: Final = ("阳光", "万家", "安居", "绿城", "中海", "金地", "友邦", "嘉园", "恒通", "宏达")


@dataclass(frozen=True)
class Street:
    index: int
    code: str
    name: str
    id: int = 0


@dataclass(frozen=True)
class Category:
    id: int
    entry: CatalogueEntry
    points: int
    sla_hours: int


@dataclass
class Homes:
    """Where each resident of a community lives, by their index among its residents."""

    grid: array[int] = field(default_factory=lambda: array("h"))  # grid index, -1 for none
    building: array[int] = field(default_factory=lambda: array("h"))  # building index in the grid, or label - 1
    unit: array[int] = field(default_factory=lambda: array("B"))
    room: array[int] = field(default_factory=lambda: array("H"))


@dataclass(eq=False)
class Community:
    """One community: its shares decided by build_city, its ids filled in as rows are written."""

    index: int
    code: str
    name: str
    street: Street
    residents: int
    volunteers: int
    orders: int
    focus: bool
    #: Buildings of each grid.
    building_counts: list[int]
    id: int = 0
    grid_ids: list[int] = field(default_factory=list)
    building_ids: list[list[int]] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)
    secretaries: list[int] = field(default_factory=list)
    community_grid_workers: list[int] = field(default_factory=list)
    #: Grid workers of each grid.
    grid_workers: list[list[int]] = field(default_factory=list)
    street_admin: int = 0
    #: Company id → its staff's user ids (ids in the order made).
    companies: dict[int, list[int]] = field(default_factory=dict)
    #: Team id → its members' user ids.
    teams: dict[int, list[int]] = field(default_factory=dict)
    #: User id of the community's first resident; residents are consecutive, volunteers first.
    first_resident: int = 0
    homes: Homes = field(default_factory=Homes)
    #: Volunteers by skill.
    skilled: dict[str, list[int]] = field(default_factory=dict)
    #: Who to log in as (role → openid), filled in as people and orders are made.
    logins: dict[str, str] = field(default_factory=dict)

    @property
    def grid_count(self) -> int:
        return len(self.building_counts)


@dataclass
class City:
    size: CitySize
    streets: list[Street]
    communities: list[Community]
    #: The history covers the Shanghai days [start, until).
    start: date
    until: date

    @property
    def start_instant(self) -> int:
        return shanghai_midnight(self.start)

    @property
    def until_instant(self) -> int:
        return shanghai_midnight(self.until)

    def focus_or_largest(self) -> Community:
        return max(self.communities, key=lambda c: (c.focus, c.orders, -c.index))

    def logins(self, community: Community) -> list[tuple[str, str]]:
        return sorted(community.logins.items())

    def write_areas(self, sink: Sink) -> None:
        """Streets, then each community with its grids and their buildings ("3栋", label "3")."""
        created = sink.stamp(self.start_instant - 400 * DAY)
        self.streets = [Street(s.index, s.code, s.name, sink.next_id(AREAS)) for s in self.streets]
        for street in self.streets:
            sink.add(AREAS, (street.id, AreaKind.STREET.value, street.code, street.name, None, None, None, created))
        for community in self.communities:
            community.street = self.streets[community.street.index]
            community.id = sink.next_id(AREAS)
            sink.add(
                AREAS,
                (
                    community.id,
                    AreaKind.COMMUNITY.value,
                    community.code,
                    community.name,
                    community.street.id,
                    community.id,
                    None,
                    created,
                ),
            )
            for g, buildings in enumerate(community.building_counts, start=1):
                grid_id = sink.next_id(AREAS)
                grid_code = f"{community.code}-G{g:02d}"
                community.grid_ids.append(grid_id)
                sink.add(
                    AREAS,
                    (
                        grid_id,
                        AreaKind.GRID.value,
                        grid_code,
                        f"{community.name}第{g}网格",
                        community.id,
                        community.id,
                        None,
                        created,
                    ),
                )
                ids = [sink.next_id(AREAS) for _ in range(buildings)]
                community.building_ids.append(ids)
                for b, building_id in enumerate(ids, start=1):
                    sink.add(
                        AREAS,
                        (
                            building_id,
                            AreaKind.BUILDING.value,
                            f"{grid_code}-B{b:02d}",
                            f"{b}栋",
                            grid_id,
                            community.id,
                            None,
                            created,
                        ),
                    )

    def write_categories(self, sink: Sink, rng: random.Random) -> None:
        """Each community's catalogue: the common entries plus a draw of the others, points and SLA varied."""
        created = sink.stamp(self.start_instant - 390 * DAY)
        optional = [entry for entry in CATALOGUE if entry.code not in ALWAYS]
        for community in self.communities:
            chosen = [entry for entry in CATALOGUE if entry.code in ALWAYS]
            chosen += rng.sample(optional, self.size.categories_per_community - len(chosen))
            for entry in chosen:
                points = max(0, entry.points + rng.choice((-5, 0, 0, 0, 5)))
                sla = entry.sla_hours * rng.choice((1, 1, 1, 2))
                category = Category(sink.next_id(CATEGORIES), entry, points, sla)
                community.categories.append(category)
                sink.add(
                    CATEGORIES,
                    (category.id, community.id, entry.code, entry.name, points, sla, entry.skill, True, created),
                )


def allocate(total: int, weights: list[float], minimum: int) -> list[int]:
    """``total`` split over ``weights`` (largest remainder), each share at least ``minimum``."""
    spare = total - minimum * len(weights)
    weight_sum = sum(weights)
    raw = [spare * w / weight_sum for w in weights]
    shares = [int(x) for x in raw]
    by_remainder = sorted(range(len(weights)), key=lambda i: shares[i] - raw[i])
    for i in by_remainder[: spare - sum(shares)]:
        shares[i] += 1
    return [minimum + share for share in shares]


def _ordinary_shares(size: CitySize, rng: random.Random) -> list[tuple[int, int, int]]:
    """(residents, volunteers, orders) of each ordinary community."""
    residents_left, volunteers_left, orders_left = size.left_for_ordinary()
    n = size.ordinary
    weights = [min(PARETO_CAP, rng.paretovariate(PARETO_ALPHA)) for _ in range(n)]
    residents = allocate(residents_left, weights, MIN_RESIDENTS)
    volunteers = allocate(volunteers_left, [r * rng.uniform(0.5, 1.5) for r in residents], MIN_VOLUNTEERS)
    # Volunteers are residents: move any excess (only possible in the smallest ones) to the largest.
    largest = max(range(n), key=residents.__getitem__)
    for i in range(n):
        excess = volunteers[i] - residents[i] // 2
        if excess > 0 and i != largest:
            volunteers[i] -= excess
            volunteers[largest] += excess
    orders = allocate(orders_left, [r * rng.lognormvariate(0, 0.4) for r in residents], MIN_ORDERS)
    return list(zip(residents, volunteers, orders, strict=True))


def _grid_buildings(size: CitySize, residents: int, mean_residents: float, rng: random.Random) -> list[int]:
    """Buildings of each grid: more grids in larger communities (by the square root of the size)."""
    grids = max(1, min(MAX_GRIDS, round(size.grids_per_community * math.sqrt(residents / mean_residents))))
    b = size.buildings_per_grid
    return [rng.randint(max(1, b // 2), b + b // 2) for _ in range(grids)]


def build_city(size: CitySize, rng: random.Random, *, until: date) -> City:
    """Every street and community with its share of the city, before any row is written."""
    streets = [
        Street(i, f"JD{i + 1:02d}", f"{STREET_NAMES[i % len(STREET_NAMES)]}街道{_nth(i, len(STREET_NAMES))}")
        for i in range(size.streets)
    ]
    shares = _ordinary_shares(size, rng)
    if size.has_focus:
        shares.insert(0, (size.focus_community_users, size.focus_community_volunteers, size.focus_community_orders))
    mean_residents = size.residents / size.communities
    communities = []
    for i, (residents, volunteers, orders) in enumerate(shares):
        # Every street gets a community first; the rest are spread at random.
        street = streets[i] if i < len(streets) else rng.choice(streets)
        word = COMMUNITY_WORDS[i % len(COMMUNITY_WORDS)]
        communities.append(
            Community(
                index=i,
                code=f"SQ{i + 1:04d}",
                name=f"{word}社区{_nth(i, len(COMMUNITY_WORDS))}",
                street=street,
                residents=residents,
                volunteers=volunteers,
                orders=orders,
                focus=size.has_focus and i == 0,
                building_counts=_grid_buildings(size, residents, mean_residents, rng),
            )
        )
    return City(size, streets, communities, until - timedelta(days=size.days), until)


def _nth(index: int, names: int) -> str:
    """A suffix that tells apart areas which reuse a name: none the first time, then 2, 3 ..."""
    round_ = index // names
    return "" if round_ == 0 else f"{round_ + 1}"
