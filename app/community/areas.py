"""Staff managing their part of the area tree over the API: listing an area's children with what
they hold, reading one area, adding, renaming and retiring areas. Who may see and change what is
decided here (the Actor lives above app.areas); the tree itself is app.areas.tree."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import PARENT_KIND, Area, AreaKind
from app.areas.tree import create_area
from app.audit.models import AuditKind
from app.audit.record import record
from app.community.shapes import AreaCounts, AreaEnvelope, AreaList, AreaOut, AreaRef
from app.core.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from app.identity.actor import Actor
from app.identity.models import Household, RoleMembership
from app.identity.roles import Role
from app.orders.content import check_texts
from app.orders.models import Order
from app.orders.workflow import OPEN
from app.runtime import Runtime


class AreaInUseError(ConflictError):
    code = "area_in_use"
    default_message = "区域仍在使用，不能停用"


class AreaCodeTakenError(ConflictError):
    code = "area_code_taken"
    default_message = "区域编码已被使用"


#: The longest code an area can have (``Area.code``'s column).
_CODE_MAX: Final = 64

_READERS: Final = (Role.STREET_ADMIN, Role.SECRETARY, Role.GRID_WORKER)
_WRITERS: Final = (Role.STREET_ADMIN, Role.SECRETARY)
#: What a secretary may add and change under their community; a street admin may also do communities.
_SECRETARY_KINDS: Final = frozenset({AreaKind.GRID, AreaKind.BUILDING})
#: The column of households and orders that places them in a child of each kind.
_PLACE: Final = {AreaKind.COMMUNITY: "community_id", AreaKind.GRID: "grid_id", AreaKind.BUILDING: "building_id"}


def _sees(actor: Actor, area: Area) -> bool:
    """The actor's staff roles cover ``area``: a street admin their street and all below, a
    secretary or community-wide grid worker their community and below, a grid worker held for a
    grid that grid and its buildings."""
    for m in actor.memberships:
        if m.role not in _READERS:
            continue
        if m.area_kind is AreaKind.STREET:
            if area.id == m.area_id or area.community_id in m.communities:
                return True
        elif m.area_kind is AreaKind.COMMUNITY:
            if area.community_id == m.area_id:
                return True
        elif m.area_kind is AreaKind.GRID and (m.area_id in (area.id, area.parent_id)):
            return True
    return False


def _may_change(actor: Actor, area: Area, kind: AreaKind) -> bool:
    """The actor may add an area of ``kind`` under ``area``, or rename/retire ``area`` (then
    ``kind`` is its own): street admins below their street, secretaries grids and buildings of
    their community."""
    for m in actor.memberships:
        if m.role is Role.STREET_ADMIN and m.area_kind is AreaKind.STREET:
            if kind is not AreaKind.STREET and (area.id == m.area_id or area.community_id in m.communities):
                return True
        elif m.role is Role.SECRETARY and kind in _SECRETARY_KINDS and area.community_id == m.area_id:
            return True
    return False


def _visible(session: Session, actor: Actor, code: str) -> Area:
    """The area ``code`` names, if the actor sees it; the same 404 for one that does not exist and
    one of another street or community."""
    # No area's code is longer than the column or holds a NUL, which PostgreSQL cannot even bind.
    if len(code) > _CODE_MAX or "\x00" in code:
        raise NotFoundError("找不到该区域", details={"area": code[:_CODE_MAX]})
    area = session.scalar(sa.select(Area).where(Area.code == code))
    if area is None or not _sees(actor, area):
        raise NotFoundError(f"找不到区域 {code}", details={"area": code})
    return area


def _require_staff(actor: Actor, roles: Iterable[Role], refusal: str) -> None:
    # Judged before any query: the answer is the same whatever the code names.
    if not actor.has_role(*roles):
        raise ForbiddenError(refusal)


def list_areas(rt: Runtime, actor: Actor, parent: str | None) -> AreaList:
    """Staff: the children of ``parent`` (or, without it, the areas their roles are held for), each
    with its households, volunteers and open orders. Four statements whatever the number of
    children. ForbiddenError for non-staff, NotFoundError for an area they do not cover."""
    _require_staff(actor, _READERS, "只有街道、社区工作人员和网格员可以查看区域")
    with rt.db.read() as session:
        if parent is None:
            owned = {m.area_id for m in actor.memberships if m.role in _READERS}
            areas = session.scalars(sa.select(Area).where(Area.id.in_(owned)).order_by(Area.code)).all()
            return AreaList(parent=None, items=_with_counts(session, areas))
        area = _visible(session, actor, parent)
        children = session.scalars(sa.select(Area).where(Area.parent_id == area.id).order_by(Area.code)).all()
        return AreaList(parent=_ref(area), items=_with_counts(session, children))


def _with_counts(session: Session, areas: Iterable[Area]) -> list[AreaCounts]:
    """Counts for ``areas``: one grouped statement per count and kind present (children share a kind)."""
    areas = list(areas)
    by_kind: dict[AreaKind, list[int]] = {}
    for area in areas:
        by_kind.setdefault(area.kind, []).append(area.id)
    households: dict[int, int] = {}
    volunteers: dict[int, int] = {}
    orders: dict[int, int] = {}
    for kind, ids in by_kind.items():
        if kind is AreaKind.STREET:
            continue  # a street is the caller's own root; its communities carry the counts
        households |= _count(session, getattr(Household, _PLACE[kind]), ids)
        volunteers |= _count_volunteers(session, kind, ids)
        orders |= _count(session, getattr(Order, _PLACE[kind]), ids, Order.status.in_(OPEN))
    return [
        AreaCounts(
            code=a.code,
            name=a.name,
            kind=a.kind,
            retired=a.retired,
            households=households.get(a.id, 0),
            volunteers=volunteers.get(a.id, 0),
            open_orders=orders.get(a.id, 0),
        )
        for a in areas
    ]


def _count(
    session: Session, place: sa.orm.InstrumentedAttribute[Any], ids: list[int], *where: sa.ColumnElement[bool]
) -> dict[int, int]:
    rows = session.execute(sa.select(place, sa.func.count()).where(place.in_(ids), *where).group_by(place))
    return {area_id: n for area_id, n in rows if area_id is not None}


def _count_volunteers(session: Session, kind: AreaKind, ids: list[int]) -> dict[int, int]:
    """A community's volunteers are those holding the role there; a grid's or building's, those of
    them whose household is in it."""
    if kind is AreaKind.COMMUNITY:
        return _count(session, RoleMembership.area_id, ids, RoleMembership.role == Role.VOLUNTEER)
    place = getattr(Household, _PLACE[kind])
    rows = session.execute(
        sa.select(place, sa.func.count(sa.distinct(Household.user_id)))
        .join(
            RoleMembership,
            sa.and_(
                RoleMembership.user_id == Household.user_id,
                RoleMembership.area_id == Household.community_id,
                RoleMembership.role == Role.VOLUNTEER,
            ),
        )
        .where(place.in_(ids))
        .group_by(place)
    )
    return {area_id: n for area_id, n in rows if area_id is not None}


def get_area(rt: Runtime, actor: Actor, code: str) -> AreaEnvelope:
    """Staff: one area they cover, with its path from the street. ForbiddenError / NotFoundError
    as :func:`list_areas`."""
    _require_staff(actor, _READERS, "只有街道、社区工作人员和网格员可以查看区域")
    with rt.db.read() as session:
        return AreaEnvelope(area=_out(session, _visible(session, actor, code)))


def add_area(rt: Runtime, actor: Actor, *, kind: AreaKind, code: str, name: str, parent: str) -> AreaEnvelope:
    """Street admins (communities and below, in their street) and secretaries (grids and buildings
    of their community): a new area. Raises ForbiddenError, NotFoundError (a parent they do not
    cover), InvalidInputError (a kind that does not fit the parent), ConflictError (code taken),
    ContentRejectedError (the name). A new community gets its skill catalogue (create_area)."""
    _require_staff(actor, _WRITERS, "只有街道管理员或社区书记可以添加区域")
    check_texts(rt, actor, {"name": name})
    with rt.db.write() as session:
        parent_area = _visible(session, actor, parent)
        if PARENT_KIND[kind] is not parent_area.kind:
            raise InvalidInputError(
                f"{parent_area.kind.value} 下不能添加 {kind.value}", details={"kind": kind.value, "parent": parent}
            )
        if not _may_change(actor, parent_area, kind):
            raise ForbiddenError("您不能在这里添加这类区域")
        if parent_area.retired:
            raise InvalidInputError("上级区域已停用", details={"parent": parent})
        try:
            area = create_area(session, kind, code, name, parent)
        except sa.exc.IntegrityError:
            # Two staff adding the same code at once: the unique constraint decides.
            raise _taken(code) from None
        except ConflictError:
            raise _taken(code) from None
        _audit(session, actor, area, "added")
        return AreaEnvelope(area=_out(session, area))


def rename_area(rt: Runtime, actor: Actor, code: str, name: str) -> AreaEnvelope:
    """Who may add such an area may rename it. Raises as :func:`add_area` (but 404 for the area)."""
    _require_staff(actor, _WRITERS, "只有街道管理员或社区书记可以修改区域")
    check_texts(rt, actor, {"name": name})
    with rt.db.write() as session:
        area = _changeable(session, actor, code)
        area.name = name
        _audit(session, actor, area, "renamed")
        session.flush()
        return AreaEnvelope(area=_out(session, area))


def retire_area(rt: Runtime, actor: Actor, code: str) -> AreaEnvelope:
    """Who may add such an area may retire it: it is kept (households and orders point at it) but
    takes no new ones. ConflictError ``area_in_use`` while it has children still in use or open
    orders, naming them. Retiring a retired area answers it as it is."""
    _require_staff(actor, _WRITERS, "只有街道管理员或社区书记可以停用区域")
    with rt.db.write() as session:
        area = _changeable(session, actor, code)
        if area.retired:
            return AreaEnvelope(area=_out(session, area))
        holders = _holders(session, area)
        if holders:
            raise AreaInUseError(f"区域 {code} 仍有下级区域或未办结的工单，不能停用", details={"area": code, **holders})
        area.retired = True
        _audit(session, actor, area, "retired")
        session.flush()
        return AreaEnvelope(area=_out(session, area))


def _holders(session: Session, area: Area) -> dict[str, int]:
    children = session.scalar(sa.select(sa.func.count()).where(Area.parent_id == area.id, Area.retired.is_(False)))
    place = getattr(Order, _PLACE[area.kind])
    orders = session.scalar(sa.select(sa.func.count()).where(place == area.id, Order.status.in_(OPEN)))
    return {name: n for name, n in (("children", children or 0), ("open_orders", orders or 0)) if n}


def _changeable(session: Session, actor: Actor, code: str) -> Area:
    area = _visible(session, actor, code)
    if not _may_change(actor, area, area.kind):
        raise ForbiddenError("您不能修改这个区域")
    return area


def _taken(code: str) -> ConflictError:
    return AreaCodeTakenError(f"区域编码 {code} 已被使用", details={"code": code})


def _audit(session: Session, actor: Actor, area: Area, verb: str) -> None:
    # A community's entry is its own; below, the community's, so its secretary and street admin list it.
    record(
        session,
        AuditKind.AREA_CHANGED,
        area_id=area.community_id or area.id,
        actor_id=actor.user_id,
        detail=f"{verb} {area.code}",
    )


def _ref(area: Area) -> AreaRef:
    return AreaRef(code=area.code, name=area.name, kind=area.kind)


def _out(session: Session, area: Area) -> AreaOut:
    """The area with its ancestors: at most three, read in one statement."""
    path: list[AreaRef] = []
    ancestors: Mapping[int, Area] = {}
    if area.parent_id is not None:
        ids = [area.parent_id]
        if area.community_id is not None and area.community_id != area.id:
            ids.append(area.community_id)
        # The street above the community: one hop more, in the same statement.
        community_parent = sa.select(Area.parent_id).where(Area.id == area.community_id).scalar_subquery()
        rows = session.scalars(sa.select(Area).where(sa.or_(Area.id.in_(ids), Area.id == community_parent))).all()
        ancestors = {a.id: a for a in rows}
    node = ancestors.get(area.parent_id) if area.parent_id is not None else None
    while node is not None:
        path.append(_ref(node))
        node = ancestors.get(node.parent_id) if node.parent_id is not None else None
    parent = ancestors.get(area.parent_id) if area.parent_id is not None else None
    return AreaOut(
        code=area.code,
        name=area.name,
        kind=area.kind,
        parent=parent.code if parent else None,
        retired=area.retired,
        path=list(reversed(path)),
    )
