"""The order lifecycle: statuses, actions and the one table of allowed transitions.

Pure: no database, no Flask. The API, the bot and the jobs all apply transitions through
``app.orders.actions``, which asks :func:`transition_for` first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from app.core.errors import InvalidTransitionError


class OrderKind(StrEnum):
    SERVICE = "service"
    WISH = "wish"  # 微心愿
    REPORT = "report"  # 随手拍: a problem in a public space


class TriageLevel(StrEnum):
    """三事分流."""

    MAJOR = "major"
    MINOR = "minor"
    ROUTINE = "routine"


class Lane(StrEnum):
    """Where 三事分流 suggests a level's orders go (``[orders.lanes]`` maps each level to one).
    A suggestion only: the secretary or grid worker still dispatches, escalates or rejects."""

    #: Refer it to a street department (吹哨报到); the street's admins hear of it.
    ESCALATE = "escalate"
    #: The grid workers of the order's grid handle it on the spot; they hear of it.
    GRID_WORKER = "grid_worker"
    #: Dispatch it to the property company serving the community.
    PROPERTY_COMPANY = "property_company"
    #: Dispatch it to a volunteer or a team, or publish it to the pool.
    VOLUNTEERS = "volunteers"


class OrderStatus(StrEnum):
    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    POOLED = "pooled"
    ACCEPTED = "accepted"
    IN_SERVICE = "in_service"
    COMPLETED = "completed"
    CLOSED = "closed"
    REJECTED = "rejected"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"


class Action(StrEnum):
    """What someone does to an order. ``dispatch`` with ``pool`` is recorded as ``publish``."""

    SUBMIT = "submit"
    TRIAGE = "triage"
    DISPATCH = "dispatch"
    PUBLISH = "publish"
    CLAIM = "claim"
    ACCEPT = "accept"
    DECLINE = "decline"
    START = "start"
    COMPLETE = "complete"
    RATE = "rate"
    DISPUTE = "dispute"
    URGE = "urge"
    CANCEL = "cancel"
    REJECT = "reject"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    #: 转单: staff move work someone holds to another person or group, the pool or the queue.
    REASSIGN = "reassign"
    #: 退单: the holder gives work they took on back to the community's queue.
    RELEASE = "release"
    #: Scheduled jobs: an assignment nobody accepted goes back to the queue; a completed order
    #: nobody rated is closed without a rating.
    EXPIRE = "expire"
    CLOSE_UNRATED = "close_unrated"
    #: 合并重复: staff link a 随手拍 to an earlier report of the same problem; it leaves the
    #: queues as cancelled, with ``duplicate_of_id`` naming the original (app/orders/merging.py).
    MERGE = "merge"


class Party(StrEnum):
    """Who may act: a role in the order's community, or a relation to the order itself."""

    OWNER = "owner"  # the resident the order belongs to
    ASSIGNEE = "assignee"  # the volunteer, or a member of the team / property company, holding it
    VOLUNTEER = "volunteer"  # any volunteer of the order's community
    GRID_WORKER = "grid_worker"  # a grid worker of the order's community
    SECRETARY = "secretary"
    STREET_ADMIN = "street_admin"
    SYSTEM = "system"  # a scheduled job


#: Statuses in which an order still needs someone to act.
OPEN: Final = frozenset(
    {
        OrderStatus.SUBMITTED,
        OrderStatus.ASSIGNED,
        OrderStatus.POOLED,
        OrderStatus.ACCEPTED,
        OrderStatus.IN_SERVICE,
        OrderStatus.ESCALATED,
    }
)
#: Statuses from which the resident may still cancel: nobody has taken the work on yet.
CANCELLABLE: Final = frozenset({OrderStatus.SUBMITTED, OrderStatus.ASSIGNED, OrderStatus.POOLED})
#: Statuses in which the assignee holds the order.
HELD: Final = frozenset({OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE})
#: Statuses in which an order is finished. A closed one may still be reopened by a dispute for
#: a few days (``[timebank] dispute_window_days``); nothing else moves any of them.
TERMINAL: Final = frozenset({OrderStatus.CLOSED, OrderStatus.REJECTED, OrderStatus.CANCELLED})

_STAFF: Final = frozenset({Party.SECRETARY, Party.GRID_WORKER})


@dataclass(frozen=True, slots=True)
class Transition:
    action: Action
    sources: frozenset[OrderStatus]
    #: None: the status stays as it is (triage, urge).
    target: OrderStatus | None
    parties: frozenset[Party]
    #: Other statuses the action may lead to, the body deciding (reassign: to a person or group,
    #: the pool, or back to the queue).
    alternatives: frozenset[OrderStatus] = frozenset()

    def target_from(self, source: OrderStatus, chosen: OrderStatus | None = None) -> OrderStatus:
        """Where the order goes; ``chosen`` must be the target or one of the alternatives."""
        if chosen is not None and chosen != self.target:
            if chosen not in self.alternatives:
                raise ValueError(f"{self.action.value} cannot lead to {chosen.value}")
            return chosen
        return self.target or source


def _t(action: Action, sources: frozenset[OrderStatus], target: OrderStatus | None, *parties: Party) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(parties))


_S = OrderStatus
TRANSITIONS: Final[Mapping[Action, Transition]] = {
    t.action: t
    for t in (
        _t(Action.TRIAGE, frozenset({_S.SUBMITTED}), None, *_STAFF),
        _t(Action.DISPATCH, frozenset({_S.SUBMITTED}), _S.ASSIGNED, *_STAFF),
        _t(Action.PUBLISH, frozenset({_S.SUBMITTED}), _S.POOLED, *_STAFF),
        _t(Action.CLAIM, frozenset({_S.POOLED}), _S.ACCEPTED, Party.VOLUNTEER),
        _t(Action.ACCEPT, frozenset({_S.ASSIGNED}), _S.ACCEPTED, Party.ASSIGNEE),
        _t(Action.DECLINE, frozenset({_S.ASSIGNED}), _S.SUBMITTED, Party.ASSIGNEE),
        _t(Action.START, frozenset({_S.ACCEPTED}), _S.IN_SERVICE, Party.ASSIGNEE),
        _t(Action.COMPLETE, HELD, _S.COMPLETED, Party.ASSIGNEE),
        _t(Action.RATE, frozenset({_S.COMPLETED}), _S.CLOSED, Party.OWNER),
        # From closed too, within [timebank] dispute_window_days (app/orders/handlers.py checks it).
        _t(Action.DISPUTE, frozenset({_S.COMPLETED, _S.CLOSED}), _S.ACCEPTED, Party.OWNER),
        _t(Action.URGE, OPEN, None, Party.OWNER),
        _t(Action.CANCEL, CANCELLABLE, _S.CANCELLED, Party.OWNER),
        _t(Action.REJECT, frozenset({_S.SUBMITTED}), _S.REJECTED, Party.SECRETARY),
        _t(Action.ESCALATE, CANCELLABLE, _S.ESCALATED, Party.SECRETARY),
        _t(Action.RESOLVE, frozenset({_S.ESCALATED}), _S.COMPLETED, Party.SECRETARY, Party.STREET_ADMIN),
        Transition(
            Action.REASSIGN,
            frozenset({_S.ASSIGNED}) | HELD,
            _S.ASSIGNED,
            _STAFF,
            alternatives=frozenset({_S.POOLED, _S.SUBMITTED}),
        ),
        _t(Action.RELEASE, HELD, _S.SUBMITTED, Party.ASSIGNEE),
        _t(Action.EXPIRE, frozenset({_S.ASSIGNED}), _S.SUBMITTED, Party.SYSTEM),
        _t(Action.CLOSE_UNRATED, frozenset({_S.COMPLETED}), _S.CLOSED, Party.SYSTEM),
        # Only while nobody has taken the work on; the original must still be open (merging.py).
        _t(Action.MERGE, CANCELLABLE, _S.CANCELLED, *_STAFF),
    )
}


def transition_for(status: OrderStatus, action: Action) -> Transition:
    """The transition ``action`` makes from ``status``; InvalidTransitionError if there is none."""
    transition = TRANSITIONS.get(action)
    if transition is None or status not in transition.sources:
        raise InvalidTransitionError(
            f"工单当前状态（{STATUS_LABELS[status]}）不能{ACTION_LABELS[action]}",
            details={"status": status.value, "action": action.value},
        )
    return transition


STATUS_LABELS: Final[Mapping[OrderStatus, str]] = {
    _S.SUBMITTED: "待派单",
    _S.ASSIGNED: "已派单",
    _S.POOLED: "待认领",
    _S.ACCEPTED: "已接单",
    _S.IN_SERVICE: "服务中",
    _S.COMPLETED: "待评价",
    _S.CLOSED: "已完成",
    _S.REJECTED: "已驳回",
    _S.ESCALATED: "已上报",
    _S.CANCELLED: "已取消",
}

LEVEL_LABELS: Final[Mapping[TriageLevel, str]] = {
    TriageLevel.MAJOR: "大事",
    TriageLevel.MINOR: "小事",
    TriageLevel.ROUTINE: "一般事",
}

ACTION_LABELS: Final[Mapping[Action, str]] = {
    Action.SUBMIT: "提交",
    Action.TRIAGE: "分流",
    Action.DISPATCH: "派单",
    Action.PUBLISH: "发布到任务池",
    Action.CLAIM: "认领",
    Action.ACCEPT: "接单",
    Action.DECLINE: "拒单",
    Action.START: "开始服务",
    Action.COMPLETE: "完成",
    Action.RATE: "评价",
    Action.DISPUTE: "申诉未完成",
    Action.URGE: "催单",
    Action.CANCEL: "取消",
    Action.REJECT: "驳回",
    Action.ESCALATE: "上报（吹哨）",
    Action.RESOLVE: "办结",
    Action.REASSIGN: "改派",
    Action.RELEASE: "退单",
    Action.EXPIRE: "超时退回",
    Action.CLOSE_UNRATED: "超时关闭",
    Action.MERGE: "合并为重复",
}
