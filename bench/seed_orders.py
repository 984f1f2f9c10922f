"""The city's order history: orders day by day, each with the audit trail of how it got where it is.

Every order's story is a walk through ``app.orders.workflow.TRANSITIONS`` (submit, maybe triage,
dispatch or publish, accept or claim, start, complete, rate ...), one ``order_events`` row per
step, and the order's columns are what those steps set (``app.orders.handlers``): the assignee,
team or company, dispatched/accepted/completed/closed times, the level, the escalation, the last
urge, ``version`` (one per step) and ``updated_at`` (the last step). A rating closes a rated
order, with the category's points for the assignee and a return visit when it is low; a dispute
puts one on the list too. Orders are numbered per community and Shanghai day in the order they
were posted, ids in the same order; each day's last number goes to ``order_number_counters``.

How many orders are open is decided per community up front (``OPEN_SHARE``, at least one of each
open status where the community has ``EVERY_OPEN_STATUS_FROM`` orders), each posted within the
hours its status can last (``OPEN_AGE_HOURS``: an assignment nobody accepted for 8 hours would
have gone back to the queue). The others are closed, cancelled or rejected, spread over the days
with more orders lately and fewer at weekends; a story that would end after ``--until`` is
compressed into the time there was.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import accumulate
from typing import Final

from seed_city import Category, City, Community, Sink
from seed_people import phone_of
from seed_rows import COUNTERS, DAY, EVENTS, HOUR, ORDERS, POINTS, RATINGS, SECOND, VISITS

from app.orders import texts
from app.orders.workflow import Action, OrderKind, OrderStatus, TriageLevel

# Plain strings: the columns store the enums' values.
SUBMITTED: Final = OrderStatus.SUBMITTED.value
ASSIGNED: Final = OrderStatus.ASSIGNED.value
POOLED: Final = OrderStatus.POOLED.value
ACCEPTED: Final = OrderStatus.ACCEPTED.value
IN_SERVICE: Final = OrderStatus.IN_SERVICE.value
COMPLETED: Final = OrderStatus.COMPLETED.value
CLOSED: Final = OrderStatus.CLOSED.value
REJECTED: Final = OrderStatus.REJECTED.value
ESCALATED: Final = OrderStatus.ESCALATED.value
CANCELLED: Final = OrderStatus.CANCELLED.value
API, BOT, JOB = "api", "bot", "job"
#: A closed order's story that ends with the job's close_unrated instead of a rating.
CLOSED_UNRATED = "closed_unrated"

#: Share of a community's orders open in each status at the end of the history.
OPEN_SHARE: Final = {
    SUBMITTED: 0.0015,
    ASSIGNED: 0.0005,
    POOLED: 0.003,
    ACCEPTED: 0.002,
    IN_SERVICE: 0.002,
    COMPLETED: 0.01,
    ESCALATED: 0.002,
}
EVERY_OPEN_STATUS_FROM = 50
#: How old (hours) an order open in each status can be: the reminder jobs' windows (config.toml).
OPEN_AGE_HOURS: Final = {
    SUBMITTED: (0.05, 24.0),
    ASSIGNED: (0.1, 7.5),
    POOLED: (0.2, 96.0),
    ACCEPTED: (0.5, 72.0),
    IN_SERVICE: (1.0, 120.0),
    COMPLETED: (1.0, 160.0),
    ESCALATED: (4.0, 720.0),
}
#: Orders posted per Shanghai hour of the day, relative to each other.
HOUR_WEIGHTS: Final = (1, 0.5, 0.3, 0.3, 0.3, 0.5, 1.5, 4, 7, 8, 7, 5, 3, 4, 6, 6, 5, 4, 4, 5, 4, 3, 2, 1.5)
WEEKEND_FACTOR = 0.85
SATURDAY = 5
#: Closed orders thin out over the last days (those orders are still open, or not posted yet).
RECENT_DAYS = 3.0
#: Residents' share of the orders is skewed: a few post many (rank = n * random ** skew). Ranks are
#: scattered over the residents by a stride coprime with their number (volunteers come first).
RESIDENT_SKEW = 1.6
STRIDES: Final = (7919, 7907, 7901)
#: Volunteers too: the first ones (the printed login among them) do the most.
VOLUNTEER_SKEW = 1.5
SKILL_MATCH_SHARE = 0.6
#: Who triages and dispatches: the secretary, otherwise the grid worker of the resident's grid.
SECRETARY_DISPATCHES_SHARE = 0.6
ON_BEHALF_SHARE = 0.04
TRIAGE_SHARE = 0.3
BOUNCE_SHARE = 0.04
#: Of the orders still waiting for a dispatch: some went out and came back (declined or expired).
SUBMITTED_BOUNCE_SHARE = 0.2
DECLINE_SHARE = 0.5
CANCEL_AFTER_HAND_OVER_SHARE = 0.4
ESCALATE_AFTER_HAND_OVER_SHARE = 0.3
STREET_RESOLVES_SHARE = 0.5
DETAILED_RATING_SHARE = 0.7
DISPUTE_SHARE = 0.015
URGE_SHARE = 0.15
BOT_SHARE = 0.05
START_SHARE = 0.8
REJECTED_SHARE = 0.04
CANCELLED_SHARE = 0.05
ESCALATED_CLOSE_SHARE = 0.03
UNRATED_SHARE = 0.22
#: An order closed unrated was completed at least unrated_close_days (7) before; its story before
#: that can take weeks, so only orders older than this are closed that way.
UNRATED_MIN_AGE = 32 * DAY
UNRATED_CLOSE_DELAY = 7 * DAY
EXPIRE_DELAY = 8 * HOUR
LOW_RATING = 2
RETURN_VISIT_DONE_SHARE = 0.85
PREFERRED_SHARE = 0.25
CONTACT_PHONE_SHARE = 0.6
NEEDS_REVIEW_SHARE = 0.015
WISH_SHARE = 0.1
REPORT_SHARE = 0.85
#: (pool, volunteer, team, company) shares of a hand-over, for services and for 随手拍 matters.
ROUTES_SERVICE: Final = (0.38, 0.42, 0.12, 0.08)
ROUTES_REPORT: Final = (0.15, 0.25, 0.15, 0.45)
#: Scores (5 .. 1) and triage levels, by weight.
SCORES: Final = ((5, 4, 3, 2, 1), (60, 25, 8, 4, 3))
LEVELS: Final = ((TriageLevel.ROUTINE.value, TriageLevel.MINOR.value, TriageLevel.MAJOR.value), (70, 25, 5))
DEPARTMENTS: Final = ("城管中队", "市政所", "房管所", "派出所", "环卫所", "供电所", "司法所")
REJECT_REASONS: Final = ("不属于社区服务范围", "重复提交", "信息不完整，请补充后重新提交", "已转物业处理")
CANCEL_REASONS: Final = ("已自行解决", "家人已经帮忙了", "不需要了", "")
DECLINE_REASONS: Final = ("时间冲突", "不在附近", "身体不适", "不擅长这项服务")
DISPUTE_REASONS: Final = ("问题没有解决", "还是不能用", "只做了一半")
COMPLETION_NOTES: Final = ("已完成", "已上门处理，居民确认", "已处理完毕", "更换了配件，已恢复正常", "")
RESOLVE_NOTES: Final = ("部门已现场处置", "已协调解决", "已列入整改计划并处理完毕")
ESCALATE_NOTES: Final = ("需职能部门处理", "涉及多个部门", "")
COMMENTS: Final = ("", "", "很满意，谢谢志愿者", "来得很及时", "态度很好", "还可以", "等了比较久", "没有解决问题")
CALL_NOTES: Final = ("已电话回访，居民表示理解", "已回访，重新安排志愿者", "居民未接电话，已上门回访")
ON_BEHALF_NOTE: Final = texts.ON_BEHALF_NOTE
#: One event while the story is told: action, from, to, actor, note, channel, µs after posting.
Event = tuple[str, str | None, str, int | None, str, str, int]
#: A story's offset (µs after posting) → the column's timestamp, the story fitted before --until.
Fit = Callable[[int | None], str | None]


class Story:
    """One order's life: its events and the columns they set, as µs offsets from its posting."""

    __slots__ = (
        "accepted",
        "assignee",
        "closed",
        "company",
        "completed",
        "completion_note",
        "department",
        "dispatched",
        "due_hours",
        "escalated_at",
        "events",
        "level",
        "rating",
        "status",
        "team",
        "urged",
        "visits",
    )

    def __init__(self, poster: int, note: str) -> None:
        self.events: list[Event] = [(Action.SUBMIT.value, None, SUBMITTED, poster, note, API, 0)]
        self.status = SUBMITTED
        self.assignee: int | None = None
        self.team: int | None = None
        self.company: int | None = None
        self.level: str | None = None
        self.dispatched: int | None = None
        self.accepted: int | None = None
        self.completed: int | None = None
        self.closed: int | None = None
        self.urged: int | None = None
        self.department: str | None = None
        self.escalated_at = 0
        self.due_hours = 0
        self.completion_note = ""
        #: (score, speed, attitude, comment, offset)
        self.rating: tuple[int, int | None, int | None, str, int] | None = None
        #: (reason, note, offset)
        self.visits: list[tuple[str, str, int]] = []

    @property
    def clock(self) -> int:
        return self.events[-1][6]

    def step(
        self, action: Action, target: str | None, actor: int | None, delay: int, *, note: str = "", channel: str = API
    ) -> int:
        """Append one transition ``delay`` µs after the last; ``target`` None keeps the status. The offset."""
        at = self.clock + delay
        to = target or self.status
        self.events.append((action.value, self.status, to, actor, note, channel, at))
        self.status = to
        return at

    def clear_assignment(self) -> None:
        """What decline, expire, cancel and escalate do (handlers.clear_assignment)."""
        self.assignee = self.team = self.company = self.accepted = None


@dataclass(frozen=True)
class Ask:
    """What a resident asks for: fixed before the story is told."""

    community: Community
    category: Category
    resident: int
    grid: int  # grid index, -1 for none
    #: µs from posting to --until: how long the story may run.
    room: int


class OrderMaker:
    """Writes the orders of every community, day by day, with everything their stories wrote."""

    TABLES: Final = (ORDERS, EVENTS, RATINGS, POINTS, VISITS, COUNTERS)

    def __init__(self, city: City, sink: Sink, rng: random.Random) -> None:
        self.city, self.sink, self.rng = city, sink, rng
        self.stamp = sink.stamp
        self.start, self.until = city.start_instant, city.until_instant
        self.days = city.size.days
        self.labels = [(city.start + timedelta(days=d)).strftime("%Y%m%d") for d in range(self.days)]
        self.hour_cum = list(accumulate(HOUR_WEIGHTS))
        self.category_cum = {
            c.index: list(accumulate(cat.entry.weight for cat in c.categories)) for c in city.communities
        }
        self.team_ids = {c.index: list(c.teams) for c in city.communities}
        self.company_ids = {c.index: list(c.companies) for c in city.communities}
        self.strides = {c.index: _stride(c.residents) for c in city.communities}
        self.written = 0

    # -- the calendar -------------------------------------------------------------------------------

    def _day_weights(self) -> list[float]:
        weights = []
        for d in range(self.days):
            trend = 0.6 + 0.4 * d / max(1, self.days - 1)
            weekend = WEEKEND_FACTOR if (self.city.start + timedelta(days=d)).weekday() >= SATURDAY else 1.0
            recent = min(1.0, (self.days - d - 0.5) / RECENT_DAYS)
            weights.append(trend * weekend * recent)
        return weights

    def _open_counts(self, community: Community) -> dict[str, int]:
        counts = {status: round(share * community.orders) for status, share in OPEN_SHARE.items()}
        if community.orders >= EVERY_OPEN_STATUS_FROM:
            counts = {status: max(1, n) for status, n in counts.items()}
        while sum(counts.values()) > community.orders:  # a tiny community: fewer open orders
            largest = max(counts, key=lambda s: (counts[s], s))
            counts[largest] -= 1
        return counts

    def _schedule(self) -> tuple[list[list[int]], list[list[tuple[int, int, str]]]]:
        """Per community, its closed orders per day; per day, the open orders (instant, community, status)."""
        day_cum = list(accumulate(self._day_weights()))
        closed_per_day: list[list[int]] = []
        open_per_day: list[list[tuple[int, int, str]]] = [[] for _ in range(self.days)]
        for community in self.city.communities:
            open_counts = self._open_counts(community)
            per_day = [0] * self.days
            for d in self.rng.choices(
                range(self.days), cum_weights=day_cum, k=community.orders - sum(open_counts.values())
            ):
                per_day[d] += 1
            closed_per_day.append(per_day)
            for status, count in open_counts.items():
                low, high = OPEN_AGE_HOURS[status]
                for _ in range(count):
                    age = int((low + (high - low) * self.rng.random() ** 1.5) * HOUR)
                    instant = max(self.start + self.rng.randrange(HOUR), self.until - age)
                    open_per_day[(instant - self.start) // DAY].append((instant, community.index, status))
        return closed_per_day, open_per_day

    def write(self) -> None:
        closed_per_day, open_per_day = self._schedule()
        communities = self.city.communities
        total = sum(c.orders for c in communities)
        reported = 0
        for d in range(self.days):
            day_start = self.start + d * DAY
            posted: list[tuple[int, int, str]] = list(open_per_day[d])
            for community in communities:
                for _ in range(closed_per_day[community.index][d]):
                    hour = bisect(self.hour_cum, self.rng.random() * self.hour_cum[-1])
                    instant = day_start + hour * HOUR + self.rng.randrange(HOUR)
                    # A story needs a minute of room before --until (see _order): one posted in
                    # the last two minutes would otherwise be squeezed backwards in time.
                    posted.append((min(instant, self.until - 120 * SECOND), community.index, ""))
            posted.sort()
            last: dict[int, int] = {}
            for instant, index, status in posted:
                number = last.get(index, 0) + 1
                last[index] = number
                self._order(communities[index], instant, f"{self.labels[d]}-{number:04d}", status)
            for index, number in sorted(last.items()):
                self.sink.add(COUNTERS, (communities[index].id, self.labels[d], number))
            self.written += len(posted)
            if self.written >= reported + total / 10 or d == self.days - 1:
                reported = self.written
                print(f"  orders: {self.written}/{total} (day {d + 1}/{self.days}, {self.labels[d]})", flush=True)

    # -- one order ----------------------------------------------------------------------------------

    def _order(self, community: Community, posted: int, number: str, open_status: str) -> None:
        rng = self.rng
        rank = int(community.residents * rng.random() ** RESIDENT_SKEW)
        index = rank * self.strides[community.index] % community.residents
        cum = self.category_cum[community.index]
        category = community.categories[bisect(cum, rng.random() * cum[-1])]
        room = self.until - posted - 60 * SECOND
        ask = Ask(community, category, community.first_resident + index, community.homes.grid[index], room)
        poster = ask.resident
        if rng.random() < ON_BEHALF_SHARE:
            poster = self._grid_worker(community, ask.grid) or poster
        story = Story(poster, ON_BEHALF_NOTE if poster != ask.resident else "")
        target = open_status or self._terminal(room)
        self._tell(story, ask, target)
        self._emit(ask, story, index=index, posted=posted, number=number, poster=poster)
        if target == COMPLETED and index >= community.volunteers:  # someone with an order to rate
            community.logins["resident"] = f"seed-r-{ask.resident}"

    def _terminal(self, age: int) -> str:
        r = self.rng.random()
        if r < REJECTED_SHARE:
            return REJECTED
        if r < REJECTED_SHARE + CANCELLED_SHARE:
            return CANCELLED
        if self.rng.random() < UNRATED_SHARE and age > UNRATED_MIN_AGE:
            return CLOSED_UNRATED
        return CLOSED

    def _tell(self, story: Story, ask: Ask, target: str) -> None:
        """Walk the workflow from submitted to ``target``."""
        staff = self._dispatcher(ask.community, ask.grid)
        if self.rng.random() < TRIAGE_SHARE:
            story.level = self.rng.choices(*LEVELS)[0]
            story.step(Action.TRIAGE, None, staff, self._hours(0.05, 2), note=story.level, channel=self._channel())
        if target in {REJECTED, CANCELLED, SUBMITTED}:
            self._end_early(story, ask, staff, target)
        elif target == ESCALATED or (target in {CLOSED, CLOSED_UNRATED} and self.rng.random() < ESCALATED_CLOSE_SHARE):
            self._escalate(story, ask, staff, target)
        else:
            self._serve(story, ask, staff, target)

    def _end_early(self, story: Story, ask: Ask, staff: int, target: str) -> None:
        """Rejected, cancelled, or still waiting to be dispatched (perhaps after a bounce)."""
        rng = self.rng
        if target == REJECTED:
            story.step(
                Action.REJECT,
                REJECTED,
                self._secretary(ask.community),
                self._hours(0.2, 24),
                note=rng.choice(REJECT_REASONS),
            )
            return
        if target == CANCELLED:
            if rng.random() < CANCEL_AFTER_HAND_OVER_SHARE:
                self._hand_over(story, ask, staff, rng.choice(("pool", "direct")))
            story.step(Action.CANCEL, CANCELLED, ask.resident, self._hours(0.1, 24), note=rng.choice(CANCEL_REASONS))
            story.clear_assignment()
            return
        if ask.room > 2 * EXPIRE_DELAY and rng.random() < SUBMITTED_BOUNCE_SHARE:
            self._bounce(story, ask, staff)
        self._maybe_urge(story, ask)

    def _escalate(self, story: Story, ask: Ask, staff: int, target: str) -> None:
        """吹哨报到: referred to a street department, perhaps after a hand-over; then resolved and closed,
        unless ``target`` is escalated."""
        rng = self.rng
        if rng.random() < ESCALATE_AFTER_HAND_OVER_SHARE:
            self._hand_over(story, ask, staff, rng.choice(("pool", "direct")))
        department = rng.choice(DEPARTMENTS)
        note = texts.escalation_note(department, rng.choice(ESCALATE_NOTES))
        story.escalated_at = story.step(
            Action.ESCALATE, ESCALATED, self._secretary(ask.community), self._hours(0.5, 48), note=note
        )
        story.clear_assignment()
        story.department, story.due_hours = department, rng.choice((24, 48, 72, 168))
        if target == ESCALATED:
            self._maybe_urge(story, ask)
            return
        resolver = (
            ask.community.street_admin if rng.random() < STREET_RESOLVES_SHARE else self._secretary(ask.community)
        )
        story.completion_note = rng.choice(RESOLVE_NOTES)
        story.completed = story.step(
            Action.RESOLVE, COMPLETED, resolver, self._hours(12, 240), note=story.completion_note
        )
        self._close(story, ask, unrated=target == CLOSED_UNRATED)

    def _serve(self, story: Story, ask: Ask, staff: int, target: str) -> None:
        """Handed over, taken, started, completed, closed: as far as ``target``."""
        rng = self.rng
        if ask.room > 2 * EXPIRE_DELAY and rng.random() < BOUNCE_SHARE:
            self._bounce(story, ask, staff)
        route = {POOLED: "pool", ASSIGNED: "direct"}.get(target, "any")
        self._hand_over(story, ask, staff, route)
        if target in {POOLED, ASSIGNED}:
            self._maybe_urge(story, ask)
            return
        self._take(story, ask)
        if target == ACCEPTED:
            return
        if target == IN_SERVICE or rng.random() < START_SHARE:
            story.step(Action.START, IN_SERVICE, story.assignee, self._hours(0.2, 24), channel=self._channel())
        if target == IN_SERVICE:
            return
        self._complete(story, ask)
        if rng.random() < DISPUTE_SHARE and target != COMPLETED:
            reason = rng.choice(DISPUTE_REASONS)
            at = story.step(Action.DISPUTE, ACCEPTED, ask.resident, self._hours(1, 48), note=reason)
            story.completed = None
            story.visits.append(("dispute", reason, at))
            self._complete(story, ask)
        if target != COMPLETED:
            self._close(story, ask, unrated=target == CLOSED_UNRATED)

    # -- steps --------------------------------------------------------------------------------------

    def _hand_over(self, story: Story, ask: Ask, staff: int, route: str) -> None:
        """Publish to the pool (``pool``), dispatch to a volunteer, a team or a company (``direct``), or either."""
        rng, community = self.rng, ask.community
        pool, volunteer, team, _company = ROUTES_REPORT if ask.category.entry.report else ROUTES_SERVICE
        r = rng.random()
        if route == "pool" or (route == "any" and r < pool):
            story.dispatched = story.step(Action.PUBLISH, POOLED, staff, self._hours(0.1, 6), channel=self._channel())
            return
        if route == "direct":  # the same shares among the direct routes
            r = pool + r * (1.0 - pool)
        teams, companies = self.team_ids[community.index], self.company_ids[community.index]
        if r >= pool + volunteer + team and companies:
            story.company = rng.choice(companies)
        elif r >= pool + volunteer and r < pool + volunteer + team and teams:
            story.team = rng.choice(teams)
        else:
            story.assignee = self._volunteer(ask)
        story.dispatched = story.step(Action.DISPATCH, ASSIGNED, staff, self._hours(0.1, 6), channel=self._channel())

    def _bounce(self, story: Story, ask: Ask, staff: int) -> None:
        """Dispatched to a volunteer who declined, or who let it expire (the job's 8 hours)."""
        volunteer = self._volunteer(ask)
        story.assignee = volunteer
        story.dispatched = story.step(Action.DISPATCH, ASSIGNED, staff, self._hours(0.1, 6))
        if self.rng.random() < DECLINE_SHARE:
            story.step(Action.DECLINE, SUBMITTED, volunteer, self._hours(0.1, 6), note=self.rng.choice(DECLINE_REASONS))
        else:
            story.step(
                Action.EXPIRE,
                SUBMITTED,
                None,
                EXPIRE_DELAY + self.rng.randrange(60 * SECOND),
                note=texts.EXPIRED_NOTE,
                channel=JOB,
            )
        story.clear_assignment()

    def _take(self, story: Story, ask: Ask) -> None:
        """A volunteer claims it from the pool, or the assignee (a team's or company's member) accepts."""
        if story.status == POOLED:
            story.assignee = self._volunteer(ask)
            story.accepted = story.step(
                Action.CLAIM, ACCEPTED, story.assignee, self._hours(0.1, 48), channel=self._channel()
            )
            return
        if story.team is not None:
            story.assignee = self.rng.choice(ask.community.teams[story.team])
        elif story.company is not None:
            story.assignee = self.rng.choice(ask.community.companies[story.company])
        story.accepted = story.step(
            Action.ACCEPT, ACCEPTED, story.assignee, self._hours(0.05, 6), channel=self._channel()
        )

    def _complete(self, story: Story, ask: Ask) -> None:
        story.completion_note = self.rng.choice(COMPLETION_NOTES)
        delay = self._hours(0.5, max(1.0, float(ask.category.sla_hours)))
        story.completed = story.step(
            Action.COMPLETE, COMPLETED, story.assignee, delay, note=story.completion_note, channel=self._channel()
        )

    def _close(self, story: Story, ask: Ask, *, unrated: bool) -> None:
        """Rated by the resident, or closed unrated by the job ``unrated_close_days`` later."""
        rng = self.rng
        if unrated:
            delay = UNRATED_CLOSE_DELAY + rng.randrange(60 * SECOND)
            story.closed = story.step(
                Action.CLOSE_UNRATED, CLOSED, None, delay, note=texts.CLOSED_UNRATED_NOTE, channel=JOB
            )
            return
        score: int = rng.choices(*SCORES)[0]
        comment = rng.choice(COMMENTS)
        detailed = rng.random() < DETAILED_RATING_SHARE
        speed = min(5, max(1, score + rng.choice((-1, 0, 0, 1)))) if detailed else None
        attitude = min(5, max(1, score + rng.choice((-1, 0, 0, 1)))) if detailed else None
        at = story.step(Action.RATE, CLOSED, ask.resident, self._hours(0.5, 96), note=texts.rating_note(score, comment))
        story.closed = at
        story.rating = (score, speed, attitude, comment, at)
        if score <= LOW_RATING:
            story.visits.append(("low_rating", "", at))

    def _maybe_urge(self, story: Story, ask: Ask) -> None:
        if self.rng.random() < URGE_SHARE:
            story.urged = story.step(Action.URGE, None, ask.resident, self._hours(4, 12))

    # -- who and when -------------------------------------------------------------------------------

    def _hours(self, low: float, high: float) -> int:
        """A delay between ``low`` and ``high`` hours, log-uniform (short waits are the common ones)."""
        return int(low * (high / low) ** self.rng.random() * HOUR)

    def _channel(self) -> str:
        return BOT if self.rng.random() < BOT_SHARE else API

    def _secretary(self, community: Community) -> int:
        return self.rng.choice(community.secretaries)

    def _grid_worker(self, community: Community, grid: int) -> int | None:
        workers = community.grid_workers[grid] if grid >= 0 else []
        workers = workers or community.community_grid_workers
        return self.rng.choice(workers) if workers else None

    def _dispatcher(self, community: Community, grid: int) -> int:
        """The secretary, or the grid worker of the resident's grid, who triages and dispatches."""
        if self.rng.random() < SECRETARY_DISPATCHES_SHARE:
            return self._secretary(community)
        return self._grid_worker(community, grid) or self._secretary(community)

    def _volunteer(self, ask: Ask) -> int:
        """A volunteer of the community, often one with the category's skill; busy ones more often."""
        community, rng = ask.community, self.rng
        skilled = community.skilled.get(ask.category.entry.skill or "", [])
        if skilled and rng.random() < SKILL_MATCH_SHARE:
            volunteer = skilled[int(len(skilled) * rng.random() ** VOLUNTEER_SKEW)]
        else:
            volunteer = community.first_resident + int(community.volunteers * rng.random() ** VOLUNTEER_SKEW)
        if volunteer == ask.resident:  # not one's own order
            volunteer = community.first_resident + (volunteer - community.first_resident + 1) % community.volunteers
        return volunteer

    # -- rows ---------------------------------------------------------------------------------------

    def _emit(self, ask: Ask, story: Story, *, index: int, posted: int, number: str, poster: int) -> None:
        """The order's row and its events, rating, points and return visits; the story fitted before --until."""
        rng, stamp, community = self.rng, self.stamp, ask.community
        scale = min(1.0, ask.room / story.clock) if story.clock > 0 else 1.0

        def at(offset: int | None) -> str | None:
            return None if offset is None else stamp(posted + int(offset * scale))

        order_id = self.sink.next_id(ORDERS)
        for action, source, to, actor, note, channel, offset in story.events:
            self.sink.add(
                EVENTS, (self.sink.next_id(EVENTS), order_id, actor, action, source, to, note, channel, at(offset))
            )
        homes = community.homes
        grid = ask.grid
        building = homes.building[index]
        entry = ask.category.entry
        kind = self._kind(ask)
        title, description = rng.choice(entry.titles)
        preferred = (
            posted + rng.randint(2, 72) * HOUR
            if kind == OrderKind.SERVICE.value and rng.random() < PREFERRED_SHARE
            else None
        )
        due = posted + int(story.escalated_at * scale) + story.due_hours * HOUR if story.department else None
        self.sink.add(
            ORDERS,
            (
                order_id,
                number,
                community.id,
                community.grid_ids[grid] if grid >= 0 else None,
                community.building_ids[grid][building] if grid >= 0 else None,
                ask.category.id,
                kind,
                story.status,
                story.level,
                title,
                description,
                ask.resident,
                poster,
                story.assignee,
                story.team,
                story.company,
                phone_of(ask.resident) if rng.random() < CONTACT_PHONE_SHARE else None,
                str(building + 1),
                str(homes.unit[index]),
                str(homes.room[index]),
                stamp.maybe(preferred),
                stamp.maybe(preferred + rng.choice((1, 2, 3)) * HOUR if preferred else None),
                rng.random() < NEEDS_REVIEW_SHARE,
                story.completion_note,
                story.department,
                stamp.maybe(due),
                at(story.urged),
                at(story.dispatched),
                at(story.accepted),
                # Due the category's SLA after the acceptance, as the accept action sets it.
                at(None if story.accepted is None else story.accepted + ask.category.sla_hours * HOUR),
                at(story.completed),
                at(story.closed),
                # The rating's score, as the rating step writes it on the order too.
                story.rating[0] if story.rating is not None else None,
                len(story.events),
                stamp(posted),
                at(story.clock),
            ),
        )
        self._emit_rating(order_id, ask, story, at)
        self._emit_visits(order_id, community, story, posted, scale)

    def _kind(self, ask: Ask) -> str:
        if ask.category.entry.report:
            return OrderKind.REPORT.value if self.rng.random() < REPORT_SHARE else OrderKind.SERVICE.value
        return OrderKind.WISH.value if self.rng.random() < WISH_SHARE else OrderKind.SERVICE.value

    def _emit_rating(self, order_id: int, ask: Ask, story: Story, at: Fit) -> None:
        if story.rating is None:
            return
        score, speed, attitude, comment, offset = story.rating
        when = at(offset)
        self.sink.add(
            RATINGS, (self.sink.next_id(RATINGS), order_id, score, speed, attitude, comment, story.assignee, when)
        )
        if story.assignee is not None and ask.category.points:
            self.sink.add(
                POINTS, (self.sink.next_id(POINTS), story.assignee, ask.category.points, "order_rated", order_id, when)
            )

    def _emit_visits(self, order_id: int, community: Community, story: Story, posted: int, scale: float) -> None:
        """Return visits; those listed more than two days ago mostly called already."""
        for reason, note, offset in story.visits:
            listed = posted + int(offset * scale)
            called = listed + self._hours(1, 48)
            done = called < self.until - 2 * DAY and self.rng.random() < RETURN_VISIT_DONE_SHARE
            self.sink.add(
                VISITS,
                (
                    self.sink.next_id(VISITS),
                    order_id,
                    community.id,
                    reason,
                    done,
                    self.rng.choice(CALL_NOTES) if done else note,
                    self._secretary(community) if done else None,
                    self.stamp(called) if done else None,
                    self.stamp(listed),
                ),
            )


def _stride(n: int) -> int:
    """A step coprime with ``n``: ``rank * step % n`` then visits every index once, spread out."""
    return next((step for step in STRIDES if math.gcd(step, n) == 1), 1)
