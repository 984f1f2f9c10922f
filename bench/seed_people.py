"""The people of the city: users, their roles, households, skills, teams and property companies.

Per community, in this order of user ids: secretaries, community-wide grid workers, each grid's
grid workers, property companies' staff, then the residents (the community's volunteers first).
A street admin per street comes before the street's first community. Openids say what a user was
made as: ``seed-a-`` street admin, ``seed-s-`` secretary, ``seed-g-`` grid worker, ``seed-p-``
property staff, ``seed-v-`` volunteer, ``seed-r-`` resident, followed by the user id.
"""

from __future__ import annotations

import random
from typing import Final

from seed_city import COMPANY_WORDS, PROPERTY_STAFF, SKILL_NAMES, City, Community, Sink
from seed_rows import (
    COMPANIES,
    COMPANY_COMMUNITIES,
    COMPANY_STAFF,
    DAY,
    HOUR,
    HOUSEHOLDS,
    MEMBERSHIPS,
    SECOND,
    SKILLS,
    TEAM_MEMBERS,
    TEAMS,
    USERS,
)

from app.identity.roles import Role

SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN: Final = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍建国建华志强文秀云海燕红梅春兰德胜淑珍凤英玉珍"
)
ELDERS: Final = ("阿姨", "大爷", "奶奶", "爷爷", "叔叔", "婆婆")
#: Share of households without a grid (an address the community could not place yet).
NO_GRID_SHARE = 0.03
VERIFIED_SHARE = 0.6
#: Share of residents who have logged in at all (the others were registered by staff, or long ago).
LOGGED_IN_SHARE = 0.7
NICKNAMED_SHARE = 0.7
#: Of those with a nickname: how many go by 张阿姨, 李大爷.
ELDER_NAME_SHARE = 0.2
#: Share of users, by kind, who also follow the Official Account (oa_openid, unionid).
OA_SHARE: Final = {"a": 0.95, "s": 0.95, "g": 0.9, "p": 0.8, "v": 0.5, "r": 0.15}
#: Of those: how many still follow it (the others unfollowed: no template messages).
STILL_FOLLOWING_SHARE = 0.9
#: How many skills a volunteer has: weights of 0, 1, 2, 3.
SKILL_COUNT_WEIGHTS: Final = (40, 35, 20, 5)


def phone_of(user_id: int) -> str:
    """A made-up mobile number, the same every time for a user (no table stores it twice)."""
    return f"1{3 + user_id % 7}{(user_id * 2_654_435_761) % 1_000_000_000:09d}"


class PeopleMaker:
    """Writes every person of the city and records in each Community what the orders need."""

    TABLES: Final = (
        USERS,
        MEMBERSHIPS,
        HOUSEHOLDS,
        SKILLS,
        TEAMS,
        TEAM_MEMBERS,
        COMPANIES,
        COMPANY_COMMUNITIES,
        COMPANY_STAFF,
    )

    def __init__(self, city: City, sink: Sink, rng: random.Random) -> None:
        self.city, self.sink, self.rng = city, sink, rng
        self.stamp = sink.stamp
        self.start = city.start_instant
        self.until = city.until_instant

    def write(self) -> None:
        admins: dict[int, int] = {}
        for community in self.city.communities:
            street = community.street
            if street.id not in admins:
                admins[street.id] = self._staff("a", "主任", Role.STREET_ADMIN, street.id, None)
            community.street_admin = admins[street.id]
            self._staff_of(community)
            self._residents_of(community)
            self._teams_of(community)

    # -- users and roles ----------------------------------------------------------------------------

    def _user(self, kind: str, nickname: str, created: int, last_login: int | None) -> int:
        user_id = self.sink.next_id(USERS)
        follows = self.rng.random() < OA_SHARE[kind]
        self.sink.add(
            USERS,
            (
                user_id,
                f"seed-{kind}-{user_id}",
                f"seed-u-{user_id}" if follows else None,
                nickname,
                f"seed-oa-{user_id}" if follows else None,
                follows and self.rng.random() < STILL_FOLLOWING_SHARE,
                phone_of(user_id),
                None,
                0,
                self.stamp.maybe(last_login),
                self.stamp(created),
            ),
        )
        return user_id

    def _member(self, user_id: int, role: Role, area_id: int, granted_by: int | None, created: int) -> None:
        self.sink.add(
            MEMBERSHIPS, (self.sink.next_id(MEMBERSHIPS), user_id, role.value, area_id, granted_by, self.stamp(created))
        )

    def _staff(self, kind: str, title: str, role: Role, area_id: int, granted_by: int | None) -> int:
        """A staff user ("王书记") holding ``role`` on ``area_id``; logged in within the last two days."""
        created = self.start - self.rng.randint(30, 700) * DAY
        last_login = self.until - self.rng.randint(SECOND, 48 * HOUR)
        user_id = self._user(kind, self.rng.choice(SURNAMES) + title, created, last_login)
        self._member(user_id, role, area_id, granted_by, created + self.rng.randint(0, DAY))
        return user_id

    def _staff_of(self, community: Community) -> None:
        size = self.city.size
        admin = community.street_admin
        community.secretaries = [
            self._staff("s", "书记", Role.SECRETARY, community.id, admin) for _ in range(size.secretaries_per_community)
        ]
        granter = community.secretaries[0] if community.secretaries else admin
        community.community_grid_workers = [
            self._staff("g", "网格员", Role.GRID_WORKER, community.id, granter)
            for _ in range(size.community_grid_workers)
        ]
        community.grid_workers = [
            [self._staff("g", "网格员", Role.GRID_WORKER, grid_id, granter) for _ in range(size.grid_workers_per_grid)]
            for grid_id in community.grid_ids
        ]
        self._companies_of(community, granter)
        self._note_staff_logins(community)

    def _companies_of(self, community: Community, granter: int) -> None:
        """As many as an average community has, in proportion to its grids (estates); one at least in
        the focus community."""
        size = self.city.size
        wanted = size.property_companies_per_community * community.grid_count / size.grids_per_community
        count = int(wanted) + (1 if self.rng.random() < wanted - int(wanted) else 0)
        count = max(count, 1 if community.focus and size.property_companies_per_community else 0)
        created = self.stamp(self.start - 380 * DAY)
        for n in range(count):
            company_id = self.sink.next_id(COMPANIES)
            name = f"{self.rng.choice(COMPANY_WORDS)}物业{community.code}-{n + 1}"
            self.sink.add(COMPANIES, (company_id, name, created))
            # Each seeded company serves its own community only (the app allows several).
            self.sink.add(COMPANY_COMMUNITIES, (company_id, community.id))
            staff = [
                self._staff("p", "经理", Role.PROPERTY_COMPANY, community.id, granter) for _ in range(PROPERTY_STAFF)
            ]
            for user_id in staff:
                self.sink.add(COMPANY_STAFF, (company_id, user_id))
            community.companies[company_id] = staff

    def _note_staff_logins(self, community: Community) -> None:
        if community.secretaries:
            community.logins["secretary"] = f"seed-s-{community.secretaries[0]}"
        workers = [w for grid in community.grid_workers for w in grid] or community.community_grid_workers
        if workers:
            community.logins["grid_worker"] = f"seed-g-{workers[0]}"
        if community.companies:
            community.logins["property"] = f"seed-p-{next(iter(community.companies.values()))[0]}"
        community.logins["street_admin"] = f"seed-a-{community.street_admin}"

    # -- residents ----------------------------------------------------------------------------------

    def _nickname(self) -> str:
        rng = self.rng
        if rng.random() >= NICKNAMED_SHARE:
            return ""
        surname = rng.choice(SURNAMES)
        if rng.random() < ELDER_NAME_SHARE:
            return surname + rng.choice(ELDERS)
        return surname + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))

    def _residents_of(self, community: Community) -> None:
        """Volunteers first, then the other residents; each with a household and the resident role."""
        rng = self.rng
        granter = community.secretaries[0] if community.secretaries else None
        community.skilled = {skill: [] for skill in SKILL_NAMES}
        for index in range(community.residents):
            volunteer = index < community.volunteers
            created = self.start - rng.randint(DAY, 730 * DAY)
            last_login = (
                max(created, self.until - rng.randint(SECOND, 180 * DAY)) if rng.random() < LOGGED_IN_SHARE else None
            )
            user_id = self._user("v" if volunteer else "r", self._nickname(), created, last_login)
            if index == 0:
                community.first_resident = user_id
            self._member(user_id, Role.RESIDENT, community.id, None, created)
            self._household(community, user_id, created)
            if volunteer:
                self._member(user_id, Role.VOLUNTEER, community.id, granter, created + rng.randint(DAY, 30 * DAY))
                self._skills(community, user_id)
        if community.volunteers:
            community.logins["volunteer"] = f"seed-v-{community.first_resident}"
        if community.residents > community.volunteers:  # the orders phase names one with an order to rate
            community.logins["resident"] = f"seed-r-{community.first_resident + community.volunteers}"

    def _household(self, community: Community, user_id: int, created: int) -> None:
        rng, homes = self.rng, community.homes
        grid = -1 if rng.random() < NO_GRID_SHARE else rng.randrange(community.grid_count)
        building = rng.randrange(community.building_counts[grid]) if grid >= 0 else rng.randrange(30)
        unit, floor = rng.randint(1, 4), rng.randint(1, 18)
        room = floor * 100 + rng.randint(1, 4)
        homes.grid.append(grid)
        homes.building.append(building)
        homes.unit.append(unit)
        homes.room.append(room)
        self.sink.add(
            HOUSEHOLDS,
            (
                self.sink.next_id(HOUSEHOLDS),
                user_id,
                community.id,
                community.grid_ids[grid] if grid >= 0 else None,
                community.building_ids[grid][building] if grid >= 0 else None,
                str(building + 1),
                str(unit),
                str(room),
                rng.random() < VERIFIED_SHARE,
                self.stamp(created),
                self.stamp(created),
            ),
        )

    def _skills(self, community: Community, user_id: int) -> None:
        count = self.rng.choices(range(len(SKILL_COUNT_WEIGHTS)), weights=SKILL_COUNT_WEIGHTS)[0]
        for skill in self.rng.sample(SKILL_NAMES, count):
            self.sink.add(SKILLS, (user_id, skill))
            community.skilled[skill].append(user_id)

    def _teams_of(self, community: Community) -> None:
        """``team_share`` of the volunteers in teams of about ``team_size``, the first member leading."""
        size = self.city.size
        members = round(community.volunteers * size.team_share)
        if members == 0:
            return
        chosen = [community.first_resident + i for i in self.rng.sample(range(community.volunteers), members)]
        count = max(1, round(members / size.team_size))
        created = self.stamp(self.start - 200 * DAY)
        for n in range(count):
            team_id = self.sink.next_id(TEAMS)
            team = chosen[n::count]
            self.sink.add(TEAMS, (team_id, community.id, f"{community.name}志愿服务{n + 1}队", team[0], created))
            for user_id in team:
                self.sink.add(TEAM_MEMBERS, (team_id, user_id))
            community.teams[team_id] = team
