"""One example answer per operation, shown in /docs and /openapi.json.

They are written as the API answers them (JSON, times in +08:00), and tests/api/test_openapi.py
validates each against its answer shape and serialises it back unchanged, so an example cannot
drift from the shape it shows. One small story runs through them: 张阿姨 of 和平社区 posts order
42 (台灯不亮) and volunteer 李师傅 takes it.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from app.orders.texts import LANE_LABELS
from app.orders.workflow import (
    ACTION_LABELS,
    HELD,
    LEVEL_LABELS,
    STATUS_LABELS,
    TRANSITIONS,
    Action,
    Lane,
    OrderStatus,
    TriageLevel,
)

_AT: Final = "2026-12-01T17:26:01+08:00"
_LATER: Final = "2026-12-01T18:05:12+08:00"
_EXPIRES: Final = "2026-12-04T17:26:01+08:00"

#: Photo links as answers carry them (docs/api.md, Photos): photo 1 for 张阿姨 (user 8), minted at
#: _AT and valid until 18:00. Signed with a made-up key, so it shows the shape and opens nothing.
PHOTO_LINKS: Final = {1: "/api/v1/photos/1/WzEsOCwxNzk2MTE5MjAwXQ.vMbpuRcxHuclspqFvDy1NqRRFuU"}

_COMMUNITY: Final = {"code": "SQ-HP", "name": "和平社区", "kind": "community"}
_GRID: Final = {"code": "SQ-HP-G1", "name": "阳光小区", "kind": "grid"}
_RESIDENT: Final = {"id": 8, "name": "张阿姨"}
_VOLUNTEER: Final = {"id": 15, "name": "李师傅"}
_SECRETARY: Final = {"id": 3, "name": "王书记"}

#: Who takes each action in the examples.
_ACTORS: Final = {
    Action.TRIAGE: _SECRETARY,
    Action.DISPATCH: _SECRETARY,
    Action.PUBLISH: _SECRETARY,
    Action.REJECT: _SECRETARY,
    Action.ESCALATE: _SECRETARY,
    Action.RESOLVE: _SECRETARY,
    Action.CLAIM: _VOLUNTEER,
    Action.ACCEPT: _VOLUNTEER,
    Action.DECLINE: _VOLUNTEER,
    Action.START: _VOLUNTEER,
    Action.COMPLETE: _VOLUNTEER,
}

#: The audit trail's note of the actions whose example says something.
_NOTES: Final = {
    Action.TRIAGE: "三事分流：小事",
    Action.COMPLETE: "换了开关",
    Action.RATE: "5星 很及时",
    Action.ESCALATE: "街道城管科：楼道堆物需要清理",
}

_SUBMITTED_EVENT: Final = {
    "action": "submit",
    "action_label": ACTION_LABELS[Action.SUBMIT],
    "from_status": None,
    "to_status": "submitted",
    "actor": _RESIDENT,
    "channel": "api",
    "note": "",
    "at": _AT,
}

ORDER: Final[dict[str, Any]] = {
    "id": 42,
    "number": "20261201-0004",
    "community": {"code": "SQ-HP", "name": "和平社区"},
    "category": {"code": "appliance", "name": "家电维修"},
    "kind": "service",
    "status": "submitted",
    "status_label": STATUS_LABELS[OrderStatus.SUBMITTED],
    "level": None,
    "lane": None,
    "title": "台灯不亮",
    "description": "换了灯泡也不亮",
    "address": {"grid": {"code": "SQ-HP-G1", "name": "阳光小区"}, "building": "3", "unit": "2", "room": "301"},
    "contact_phone": "13912345678",
    "resident": _RESIDENT,
    "posted_by": _RESIDENT,
    "assignee": None,
    "team": None,
    "property_company": None,
    "photos": [{"id": 1, "url": PHOTO_LINKS[1]}],
    "completion_photos": [],
    "completion_note": "",
    "needs_review": False,
    "preferred_start": "2026-12-02T09:00:00+08:00",
    "preferred_end": "2026-12-02T11:00:00+08:00",
    "escalation": None,
    "rating": None,
    "created_at": _AT,
    "updated_at": _AT,
    "events": [_SUBMITTED_EVENT],
    "location": None,
    "duplicate_of": None,
    "likely_duplicates": None,
}

ORDER_ENVELOPE: Final = {"order": ORDER}
ORDER_PAGE: Final = {"items": [{**ORDER, "events": None}], "next_cursor": "MjAyNi0xMi0wMXw0Mg"}
#: The pool shows a volunteer the order with the resident's phone and room masked.
POOL_PAGE: Final = {
    "items": [
        {
            **ORDER,
            "status": "pooled",
            "status_label": STATUS_LABELS[OrderStatus.POOLED],
            "contact_phone": "139****5678",
            "address": {**ORDER["address"], "room": "***"},
            "events": None,
        }
    ],
    "next_cursor": None,
}


def order_after(action: Action) -> dict[str, Any]:
    """The answer of ``action`` on order 42: its new status and one more event."""
    transition = TRANSITIONS[action]
    source = next(status for status in OrderStatus if status in transition.sources)
    target = transition.target_from(source)
    order = copy.deepcopy(ORDER)
    order.update(status=target.value, status_label=STATUS_LABELS[target], updated_at=_LATER)
    if target in HELD or target in {OrderStatus.COMPLETED, OrderStatus.CLOSED}:
        order["assignee"] = _VOLUNTEER
    if action is Action.TRIAGE:
        order["level"] = "minor"
        order["lane"] = {
            "level": "minor",
            "level_label": LEVEL_LABELS[TriageLevel.MINOR],
            "suggested": "grid_worker",
            "label": LANE_LABELS[Lane.GRID_WORKER],
        }
    if action is Action.COMPLETE:
        order["completion_note"] = "换了开关"
    if action is Action.RATE:
        order["rating"] = {"score": 5, "speed": 5, "attitude": 5, "comment": "很及时"}
    if action is Action.ESCALATE:
        order["escalation"] = {"department": "街道城管科", "due_at": "2026-12-03T18:05:12+08:00"}
    order["events"].append(
        {
            "action": action.value,
            "action_label": ACTION_LABELS[action],
            "from_status": source.value,
            "to_status": target.value,
            "actor": _ACTORS.get(action, _RESIDENT),
            "channel": "api",
            "note": _NOTES.get(action, ""),
            "at": _LATER,
        }
    )
    return {"order": order}


_ROLES: Final = [{"role": "resident", "area": _COMMUNITY}]
_HOUSEHOLD: Final = {
    "community": _COMMUNITY,
    "grid": _GRID,
    "building": "3",
    "unit": "2",
    "room": "301",
    "verified": False,
}

LOGIN: Final = {"token": "eyJ1Ijo4…", "expires_in": 259200, "user": {"id": 8, "nickname": "张阿姨", "roles": _ROLES}}
PHONE: Final = {"phone": "139****5678"}
PROFILE: Final = {
    "id": 8,
    "nickname": "张阿姨",
    "roles": _ROLES,
    "phone": "139****5678",
    "household": _HOUSEHOLD,
    "points_balance": 0,
    "skills": [],
    "volunteer": None,
}
VOLUNTEER_REGISTRY: Final = {
    "skills": ["appliance", "electrician"],
    "skill_names": ["家电维修", "电工"],
    "availability": [
        {"weekday": 3, "start": "09:00", "end": "12:00"},
        {"weekday": 6, "start": "14:00", "end": "18:00"},
    ],
    "max_active": 3,
    "party_member": True,
    "in_service": True,
    "employer_unit": "区税务局",
    "unit_hours": 40,
}
SKILL: Final = {"code": "electrician", "name": "电工", "active": True}
SKILLS: Final = {"items": [SKILL, {"code": "escort", "name": "陪诊陪护", "active": True}]}
SKILL_ENVELOPE: Final = {"skill": {"code": "sewing", "name": "缝补", "active": True}}
VOLUNTEER_PROFILE: Final = {
    **PROFILE,
    "id": 15,
    "nickname": "李师傅",
    "roles": [{"role": "volunteer", "area": _COMMUNITY}],
    "household": None,
    "points_balance": 15,
    "skills": ["appliance", "electrician"],
    "volunteer": VOLUNTEER_REGISTRY,
}
HOUSEHOLD: Final = {**_HOUSEHOLD, "verified": True}
INVITATION: Final = {"code": "7KQ2MXRT", "role": "volunteer", "area": _COMMUNITY, "expires_at": _EXPIRES}
BIND_CODE: Final = {"code": "6YTKWTYW", "expires_at": "2026-12-01T17:36:01+08:00", "send": "绑定 6YTKWTYW"}

CATEGORIES: Final = {
    "items": [
        {
            "code": "appliance",
            "name": "家电维修",
            "points": 15,
            "sla_hours": 48,
            "skill": "electrician",
            "skill_name": "电工",
        }
    ]
}
CANDIDATES: Final = {
    "items": [
        {
            "volunteer_id": 15,
            "name": "李师傅",
            "score": 7.9,
            "reasons": [
                "技能匹配：电工",
                "住在同一网格",
                "周三 9:00–12:00 有空",
                "手头 1 单（上限 3）",
                "平均 12 分钟响应",
                "历史评分 4.5（12 次）",
            ],
        }
    ]
}
RETURN_VISIT: Final = {
    "id": 5,
    "order_id": 42,
    "order_number": "20261201-0004",
    "reason": "low_rating",
    "reason_label": "差评回访",
    "score": 2,
    "comment": "修完第二天又不亮了",
    "done": True,
    "note": "已电话回访，居民表示满意",
    "held_points": None,
    "called_at": _LATER,
    "created_at": _AT,
}
RETURN_VISITS: Final = {
    "items": [{**RETURN_VISIT, "done": False, "note": "", "held_points": 6, "called_at": None}],
    "next_cursor": None,
}

POINTS_ENTRY: Final = {
    "id": 31,
    "delta": -5,
    "kind": "adjusted",
    "kind_label": "积分调整",
    "reason": "重复登记的服务，扣回积分",
    "label": "重复登记的服务，扣回积分",
    "order_id": None,
    "minutes": None,
    "held_points": None,
    "at": _LATER,
}
POINTS: Final = {
    "balance": 12,
    "held": 6,
    "items": [
        POINTS_ENTRY,
        {
            "id": 30,
            "delta": 0,
            "kind": "held",
            "kind_label": "积分待回访确认",
            "reason": "order_rated",
            "label": "完成服务并获评价",
            "order_id": 43,
            "minutes": 90,
            "held_points": 6,
            "at": _AT,
        },
        {
            "id": 29,
            "delta": 17,
            "kind": "earned",
            "kind_label": "服务积分",
            "reason": "order_rated",
            "label": "完成服务并获评价",
            "order_id": 42,
            "minutes": 90,
            "held_points": None,
            "at": _AT,
        },
    ],
    "next_cursor": None,
}

IMPORTED: Final = {"imported": 120}

UPLOAD: Final = {"id": 1, "url": PHOTO_LINKS[1], "content_type": "image/jpeg", "byte_size": 678}

SUBSCRIBE_TEMPLATES: Final = {
    "items": [
        {"key": "order_claimed", "template_id": "sim-tmpl-order-claimed", "title": "已有志愿者接单"},
        {"key": "order_completed", "template_id": "sim-tmpl-order-completed", "title": "服务已完成，请评价"},
    ]
}
GRANTS: Final = {"remaining": {"order_claimed": 1, "order_completed": 1}}
NOTIFICATIONS: Final = {
    "items": [
        {
            "id": 3,
            "template_key": "order_claimed",
            "title": "已有志愿者接单",
            "body": "您的工单 20261201-0004「台灯不亮」已由李师傅接单。",
            "order_id": 42,
            "read": False,
            "created_at": _LATER,
        }
    ],
    "next_cursor": None,
    "unread": 1,
}
MARKED: Final = {"marked": 2}

HEALTH: Final = {"status": "ok"}
READY: Final = {"status": "ok", "database": "ok"}
METRICS: Final = (
    "# HELP linli_http_requests_total HTTP requests answered\n"
    "# TYPE linli_http_requests_total counter\n"
    'linli_http_requests_total{endpoint="/healthz",method="GET",status="200"} 3.0\n'
)
OPENAPI: Final = {"openapi": "3.1.0", "info": {"title": "Linli 邻里 API", "version": "1"}, "paths": {}}
DOCS_PAGE: Final = '<!doctype html>\n<html lang="zh-CN">…<div id="swagger-ui"></div>…</html>'
ECHOSTR: Final = "5921830431474916830"
CALLBACK_REPLY: Final = "success"

# -- privacy and the audit trail ---------------------------------------------------------------------

CONTACT: Final = {
    "phone": "13912345678",
    "address": {"grid": {"code": "SQ-HP-G1", "name": "阳光小区"}, "building": "3", "unit": "2", "room": "301"},
}
_REVEAL: Final = {
    "id": 7,
    "kind": "contact_revealed",
    "kind_label": "查看联系方式",
    "area": "SQ-HP",
    "actor": {"id": 3, "name": "王书记"},
    "subject": _RESIDENT,
    "order": {"id": 42, "number": "20261201-0004"},
    "detail": "社区书记",
    "at": _LATER,
}
REVEALS: Final = {"items": [_REVEAL], "next_cursor": None}
AUDIT_PAGE: Final = {
    "items": [
        _REVEAL,
        {
            **_REVEAL,
            "id": 6,
            "kind": "household_verified",
            "kind_label": "核实住址",
            "order": None,
            "detail": "",
            "at": _AT,
        },
        {
            **_REVEAL,
            "id": 5,
            "kind": "role_granted",
            "kind_label": "授予角色",
            "actor": _SECRETARY,
            "subject": _VOLUNTEER,
            "order": None,
            "detail": "志愿者",
            "at": _AT,
        },
    ],
    "next_cursor": None,
}

# -- pickers: the volunteer directory, teams and property companies --------------------------------

_OTHER_COMMUNITY: Final = {"code": "SQ-YL", "name": "幸福里社区", "kind": "community"}
_TEAM_REF: Final = {"id": 2, "name": "和平党员先锋队"}

VOLUNTEERS: Final = {
    "items": [
        {
            **_VOLUNTEER,
            "skills": ["electrician"],
            "teams": [_TEAM_REF],
            "current_load": 1,
            "rating": {"average": 4.5, "count": 12},
            "max_active": 3,
            "response_minutes": 12.5,
            "party_member": True,
            "in_service": True,
            "employer_unit": "区税务局",
        },
        {
            "id": 16,
            "name": "陈阿姨",
            "skills": [],
            "teams": [],
            "current_load": 0,
            "rating": {"average": None, "count": 0},
            "max_active": 3,
            "response_minutes": None,
            "party_member": False,
            "in_service": False,
            "employer_unit": None,
        },
    ],
    "next_cursor": "MTY",
}
TEAM: Final = {
    **_TEAM_REF,
    "community": _COMMUNITY,
    "leader": _VOLUNTEER,
    "member_count": 2,
    "members": [_VOLUNTEER, {"id": 16, "name": "陈阿姨"}],
    "created_at": _AT,
}
TEAM_ENVELOPE: Final = {"team": TEAM}
TEAMS: Final = {"items": [{**TEAM, "members": None}], "next_cursor": None}
#: Registered by the street admin for two communities of the street.
PROPERTY_COMPANY_ENVELOPE: Final = {
    "property_company": {
        "id": 3,
        "name": "阳光物业",
        "communities": [_COMMUNITY, _OTHER_COMMUNITY],
        "staff_count": 0,
        "created_at": _AT,
    }
}
#: As 和平社区's secretary sees them: of the communities served, only their own.
PROPERTY_COMPANIES: Final = {
    "items": [{**PROPERTY_COMPANY_ENVELOPE["property_company"], "communities": [_COMMUNITY], "staff_count": 2}],
    "next_cursor": None,
}

# -- a user's rights: export (logout and DELETE /me answer 204, with nothing to show) ------------------

#: 张阿姨's download: her order 42 in full (her own phone and room), the photo she attached, the
#: message she got, and the secretary who looked up her phone for that order.
EXPORT: Final = {
    "format": "linli-export/1",
    "generated_at": _LATER,
    "profile": {
        "id": 8,
        "nickname": "张阿姨",
        "phone": "13912345678",
        "openid": "oZ3a15xKq0bGJm7tVh2uW9yEcL4s",
        "unionid": "oU8h2Lk3Qw1ZxY7vB6nR5tS4pD0a",
        "created_at": _AT,
        "last_login_at": _LATER,
    },
    "roles": _ROLES,
    "household": _HOUSEHOLD,
    "skills": [],
    "volunteer": None,
    "teams": [],
    "property_companies": [],
    "merchants": [],
    "bot": {
        "oa_openid": "oa-alice",
        "following": True,
        "blocked_at": None,
        "followers": [{"oa_openid": "oa-alice", "unionid": "union-alice", "following": True, "updated_at": _AT}],
    },
    "subscriptions": {"order_claimed": 0, "order_completed": 1},
    "points_balance": 0,
    "care_tags": [{"tag": "living_alone", "label": "独居老人", "note": "子女在外地，每周通话一次", "set_at": _AT}],
    "orders": [ORDER],
    "ratings_given": [],
    "ratings_received": [],
    "notifications": NOTIFICATIONS["items"],
    "points": [],
    "redemptions": [],
    "uploads": [
        {
            "id": 1,
            "url": PHOTO_LINKS[1],
            "purpose": "request",
            "order_id": 42,
            "content_type": "image/jpeg",
            "byte_size": 678,
            "created_at": _AT,
        }
    ],
    "audit": [
        {
            "id": 7,
            "kind": "contact_revealed",
            "area": "SQ-HP",
            "actor": _SECRETARY,
            "order_id": 42,
            "detail": "secretary",
            "at": _LATER,
        }
    ],
}

# -- the time bank: merchants, rewards, redemptions (李师傅 spends points at 惠民超市) ----------------

_MERCHANT_REF: Final = {"id": 4, "name": "惠民超市"}
MERCHANT_ENVELOPE: Final = {"merchant": {**_MERCHANT_REF, "staff_count": 0, "created_at": _AT}}
MERCHANTS: Final = {
    "items": [{**MERCHANT_ENVELOPE["merchant"], "staff_count": 1}],
    "next_cursor": None,
}
_REWARD: Final = {"id": 9, "name": "洗衣液一瓶", "points": 30, "merchant": _MERCHANT_REF, "stock": 20, "active": True}
REWARD_ENVELOPE: Final = {"reward": _REWARD}
REWARDS: Final = {"items": [{**_REWARD, "stock": 19}], "next_cursor": None}
WITHDRAWN_REWARD: Final = {"reward": {**_REWARD, "stock": 19, "active": False}}
_REDEMPTION: Final = {
    "id": 21,
    "code": "7KQ2MXRT4H",
    "points": 30,
    "status": "issued",
    "expires_at": "2026-12-08T17:26:01+08:00",
    "redeemed_at": None,
    "created_at": _AT,
    "reward": {"id": 9, "name": "洗衣液一瓶", "merchant": _MERCHANT_REF},
}
REDEMPTION_ENVELOPE: Final = {"redemption": _REDEMPTION}
REDEEMED_ENVELOPE: Final = {"redemption": {**_REDEMPTION, "status": "redeemed", "redeemed_at": _LATER}}
CANCELLED_ENVELOPE: Final = {"redemption": {**_REDEMPTION, "status": "cancelled"}}
REDEMPTIONS: Final = {"items": [_REDEMPTION], "next_cursor": None}

VOLUNTEER_HOURS = {
    "area": "SQ-HP",
    "area_name": "和平社区",
    "date_from": "2026-11-01",
    "date_to": "2026-11-30",
    "days": 30,
    "by": "employer_unit",
    "rows": [
        {
            "key": "区税务局",
            "volunteer_id": None,
            "volunteers": 2,
            "minutes": 390,
            "hours": 6.5,
            "orders": 4,
            "service_points": 35,
            "adjusted_points": 0,
            "required_hours": 1.6,
            "below": [{"volunteer_id": 21, "name": "陈**", "hours": 0.0, "required_hours": 1.6}],
        },
        {
            "key": "非双报到",
            "volunteer_id": None,
            "volunteers": 5,
            "minutes": 600,
            "hours": 10.0,
            "orders": 7,
            "service_points": 52,
            "adjusted_points": -5,
            "required_hours": None,
            "below": None,
        },
    ],
    "totals": {
        "volunteers": 7,
        "minutes": 990,
        "hours": 16.5,
        "orders": 11,
        "service_points": 87,
        "adjusted_points": -5,
    },
    "rule": (
        "每个双报到单位一行，非双报到的志愿者归入「非双报到」，各行相加等于合计；"
        "单位要求时长按区间折算：每年要求时长 × 区间天数 ÷ 365。"
    ),
}

SERVICE_RECORD = {
    "name": "李志愿",
    "communities": ["和平社区"],
    "teams": ["和平党员先锋队"],
    "employer_unit": "区税务局",
    "unit_hours": 24,
    "date_from": "2026-11-01",
    "date_to": "2026-11-30",
    "orders": [
        {
            "order_id": 101,
            "number": "20261105-0003",
            "category": "买菜代购",
            "date": "2026-11-05",
            "minutes": 90,
            "hours": 1.5,
            "points": 10,
        }
    ],
    "total_orders": 1,
    "total_minutes": 90,
    "total_hours": 1.5,
    "total_points": 10,
    "issued": "2026-12-01",
}


# -- the area tree -----------------------------------------------------------------------------------

_STREET: Final = {"code": "JD-XH", "name": "新华街道", "kind": "street"}
#: A street admin comparing the communities of their street.
AREAS: Final = {
    "parent": _STREET,
    "items": [
        {**_COMMUNITY, "retired": False, "households": 412, "volunteers": 37, "open_orders": 6},
        {**_OTHER_COMMUNITY, "retired": False, "households": 268, "volunteers": 21, "open_orders": 2},
    ],
}
AREA_ENVELOPE: Final = {
    "area": {
        "code": "WG-HP-03",
        "name": "和平三网格",
        "kind": "grid",
        "parent": "SQ-HP",
        "retired": False,
        "path": [_STREET, _COMMUNITY],
    }
}


_FIGURES: Final = {
    "orders": 12,
    "by_status": {"closed": 9, "accepted": 2, "submitted": 1},
    "by_category": {"grocery": 7, "repair": 5},
    "dispatch_minutes": {"median": 18.0, "p90": 95.5},
    "accept_minutes": {"median": 6.0, "p90": 40.0},
    "finish_hours": {"median": 5.2, "p90": 30.0},
    "sla_breaches": 1,
    "merged_duplicates": 0,
    "ratings": 9,
    "satisfaction": 4.67,
}
_NO_GRID: Final = {
    **_FIGURES,
    "orders": 1,
    "by_status": {"submitted": 1},
    "by_category": {"repair": 1},
    "dispatch_minutes": None,
    "accept_minutes": None,
    "finish_hours": None,
    "sla_breaches": 0,
    "merged_duplicates": 0,
    "ratings": 0,
    "satisfaction": None,
}
STATS: Final = {
    "area": "SQ001",
    "from": "2026-03-01",
    "to": "2026-03-31",
    "totals": {
        **_FIGURES,
        "previous": {**_FIGURES, "orders": 10, "by_status": {"closed": 10}, "by_category": {"grocery": 10}},
    },
    "by_grid": [{"area": "SQ001-G1", **_FIGURES, "orders": 11}, {"area": None, **_NO_GRID}],
    "by_community": None,
    "by_volunteer": [{"volunteer_id": 7, "name": "李师傅", **_FIGURES}],
    "opinions": {
        "visits": 3,
        "by_kind": {"home_visit": 2, "tea_talk": 1, "reception_day": 0},
        "residents_met": 14,
        "items": 5,
        "ordered": 2,
        "closed": 1,
        "by_grid": [
            {
                "area": "SQ001-G1",
                "visits": 2,
                "by_kind": {"home_visit": 2, "tea_talk": 0, "reception_day": 0},
                "residents_met": 4,
                "items": 3,
                "ordered": 2,
                "closed": 1,
            },
            {
                "area": None,
                "visits": 1,
                "by_kind": {"home_visit": 0, "tea_talk": 1, "reception_day": 0},
                "residents_met": 10,
                "items": 2,
                "ordered": 0,
                "closed": 0,
            },
        ],
        "by_community": None,
    },
}


# -- care (关爱): 张阿姨 lives alone; 李师傅 visits her every Tuesday at 09:30 -------------------------

_CARE_TAG: Final = {"tag": "living_alone", "label": "独居老人", "note": "子女在外地，每周通话一次", "set_at": _AT}
CARE_TAGS: Final = {
    "items": [
        {"tag": "living_alone", "label": "独居老人"},
        {"tag": "elderly_80", "label": "高龄（80岁以上）"},
        {"tag": "hardship", "label": "困难家庭"},
        {"tag": "disability", "label": "残疾"},
        {"tag": "left_behind", "label": "留守"},
    ]
}
CARE_HOUSEHOLD_TAGS: Final = {"household": 8, "tags": [_CARE_TAG]}
CARE_HOUSEHOLDS: Final = {
    "items": [
        {
            "household": 8,
            "name": "张阿姨",
            "community": _COMMUNITY,
            "grid": _GRID,
            "building": "3",
            "unit": "2",
            "room": "301",
            "has_wechat": True,
            "tags": [_CARE_TAG],
        }
    ],
    "next_cursor": None,
}
_CARE_PLAN: Final = {
    "id": 3,
    "household": _RESIDENT,
    "community": _COMMUNITY,
    "volunteer": _VOLUNTEER,
    "category": "visit",
    "category_name": "上门探访",
    "every": "week",
    "every_label": "每周",
    "weekday": 2,
    "day": None,
    "time": "09:30",
    "starts_on": "2026-12-08",
    "ends_on": None,
    "note": "陪张阿姨聊聊天，看看药够不够",
    "status": "active",
    "status_label": "进行中",
    "created_at": _AT,
}
CARE_PLAN_ENVELOPE: Final = {"plan": _CARE_PLAN}
CARE_PLAN_ENDED: Final = {"plan": {**_CARE_PLAN, "status": "ended", "status_label": "已结束", "ends_on": "2026-12-01"}}
CARE_PLANS: Final = {"items": [_CARE_PLAN], "next_cursor": None}
CARE_VISITS: Final = {
    "items": [
        {
            "id": 11,
            "on_date": "2026-12-08",
            "due_start": "2026-12-08T09:30:00+08:00",
            "due_end": "2026-12-08T11:30:00+08:00",
            "order_id": 57,
            "order_number": "20261207-0003",
            "state": "missed",
            "state_label": "未按时探访",
            "missed_alerted_at": "2026-12-08T13:35:00+08:00",
            "late_at": None,
        }
    ],
    "next_cursor": None,
}
# -- 民情收集 (opinion visits) -------------------------------------------------------------------

_ITEM_ORDER: Final = {"id": 42, "number": "20261201-0007", "status": "submitted", "status_label": "待派单"}
OPINION_VISIT: Final[dict[str, Any]] = {
    "id": 12,
    "community": "SQ-HP",
    "grid": "SQ-HP-G1",
    "kind": "home_visit",
    "kind_label": "三访三问",
    "held_at": "2026-12-01T15:00:00+08:00",
    "place": "阳光小区 3 栋",
    "staff": [_SECRETARY, {"id": 5, "name": "赵网格员"}],
    "households": [8],
    "residents_met": 2,
    "items": [
        {"n": 1, "text": "楼道灯坏了一个月，晚上上下楼看不见", "category": "设施维修", "order": _ITEM_ORDER},
        {"n": 2, "text": "希望小区多设几张休息长椅", "category": "环境", "order": None},
    ],
    "recorded_by": _SECRETARY,
    "created_at": _LATER,
}
OPINION_VISIT_ENVELOPE: Final = {"visit": OPINION_VISIT}
OPINION_VISIT_PAGE: Final = {"items": [OPINION_VISIT], "next_cursor": None}
OPINION_ITEM_ORDER: Final = {"item": OPINION_VISIT["items"][0], "order": {**ORDER, "id": 42, "number": "20261201-0007"}}
#: 随手拍: the likely duplicates of report 42 and the reports merged into it.
DUPLICATES: Final = {
    "likely": [{"id": 40, "number": "20261130-0007", "title": "3栋门口路灯不亮", "similarity": 0.72}],
    "merged": [{"id": 43, "number": "20261201-0005"}],
}


def _merged_report() -> dict[str, Any]:
    """Report 43 merged into report 42 (合并重复), as the secretary sees it."""
    answer = order_after(Action.MERGE)
    note = "与工单 #20261201-0004 反映的是同一问题，已合并：同一盏路灯"
    answer["order"].update(
        id=43,
        number="20261201-0005",
        kind="report",
        title="路灯坏了",
        description="3栋门口的路灯晚上不亮",
        location={"latitude": 39.909187, "longitude": 116.397451},
        duplicate_of={"id": 42, "number": "20261201-0004"},
        preferred_start=None,
        preferred_end=None,
    )
    answer["order"]["events"][-1].update(actor=_SECRETARY, note=note)
    return answer


MERGED_REPORT: Final = _merged_report()
# -- property surveys: 阳光物业 serves 和平社区 --------------------------------------------------------

_QUESTIONS: Final = [
    {"code": "cleaning", "label": "保洁卫生"},
    {"code": "greening", "label": "绿化养护"},
    {"code": "security", "label": "秩序安保"},
    {"code": "repairs", "label": "维修响应"},
    {"code": "attitude", "label": "服务态度"},
]
_COMPANY: Final = {"id": 3, "name": "阳光物业"}
MY_SURVEYS: Final = {
    "items": [
        {
            "id": 12,
            "month": "2026-12",
            "company": _COMPANY,
            "community": "SQ001",
            "community_name": "和平社区",
            "opened_at": "2026-12-01T09:00:00+08:00",
            "closes_at": "2026-12-15T09:00:00+08:00",
            "answered": False,
            "questions": _QUESTIONS,
        }
    ]
}
SURVEY_RESPONSE: Final = {
    "response": {
        "id": 88,
        "survey_id": 12,
        "scores": {"cleaning": 5, "greening": 4, "security": 4, "repairs": 3, "attitude": 5},
        "comment": "电梯修得慢",
        "created_at": _AT,
    }
}
_EVALUATION: Final = {
    "surveys": 1,
    "responses": 20,
    "means": {"cleaning": 4.5, "greening": 4.0, "security": 4.25, "repairs": 3.5, "attitude": 4.75},
    "survey_score": 80.0,
    "orders": {"dispatched": 4, "completed": 3, "ratings": 2, "completion_rate": 0.75, "mean_rating": 4.0},
    "order_score": 75.0,
    "score": 79.0,
    "enough": True,
    "below": True,
}
PROPERTY_EVALUATIONS: Final = {
    "area": "SQ001",
    "month": "2026-12",
    "threshold": 80.0,
    "min_responses": 5,
    "questions": _QUESTIONS,
    "companies": [
        {"company": _COMPANY, "totals": _EVALUATION, "by_community": [{"community": "SQ001", **_EVALUATION}]}
    ],
}
PROPERTY_FLAGS: Final = {
    "items": [
        {
            "id": 1,
            "street": "JD001",
            "month": "2026-12",
            "company": _COMPANY,
            "evidence": {"2026-11": {**_EVALUATION, "score": 78.5}, "2026-12": _EVALUATION},
            "created_at": "2027-01-01T09:00:03+08:00",
        }
    ]
}


#: A background work ledger, written and waiting to be downloaded (POST /exports/orders answers
#: the same shape with ``status: "queued"`` and nulls for what is not known yet).
EXPORT_JOB: Final[dict[str, Any]] = {
    "id": 12,
    "status": "done",
    "area": "JD-XH",
    "from": "2026-11-01",
    "to": "2026-11-30",
    "rows": 110250,
    "created_at": "2026-12-01T09:00:00+08:00",
    "started_at": "2026-12-01T09:00:20+08:00",
    "finished_at": "2026-12-01T09:02:05+08:00",
    "expires_at": "2026-12-08T09:02:05+08:00",
    "file_size": 9437184,
    "error": "",
    "attempts": 1,
}
EXPORT_QUEUED: Final[dict[str, Any]] = {
    **EXPORT_JOB,
    "status": "queued",
    "started_at": None,
    "finished_at": None,
    "expires_at": "2026-12-08T09:00:00+08:00",
    "file_size": None,
    "attempts": 0,
}
EXPORT_JOBS: Final[dict[str, Any]] = {"items": [EXPORT_JOB], "next_cursor": None}
