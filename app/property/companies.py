"""Property companies (物业企业), the communities each serves and the users who act for them: set
up by operators (CLI, demo) and by secretaries and street admins (API), listed for dispatchers."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind
from app.areas.tree import get_area
from app.core.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor, community_for
from app.identity.grants import assign_role
from app.identity.roles import Role
from app.identity.shapes import AreaRef, area_ref
from app.property.models import PropertyCompany, PropertyCompanyCommunity, PropertyCompanyStaff
from app.property.shapes import PropertyCompanyOut, PropertyCompanyPage
from app.runtime import Runtime

#: The longest company name (the column's length).
NAME_MAX = 64
#: Who sees the companies serving a community: those who dispatch to them and those who register them.
READERS = (Role.SECRETARY, Role.GRID_WORKER, Role.STREET_ADMIN)
#: Who registers a company: the secretary for their community, the street admin for the street's.
REGISTRARS = (Role.SECRETARY, Role.STREET_ADMIN)
_ONLY_STAFF = "只有社区工作人员可以查看物业企业"
_ONLY_REGISTRARS = "只有社区书记或街道管理员可以登记物业企业"


# -- operators (CLI, demo data) ---------------------------------------------------------------------


def add_property_company(
    rt: Runtime, name: str, *, communities: Sequence[str], staff_openids: Sequence[str] = ()
) -> PropertyCompany:
    """Operators (CLI): a property company serving ``communities`` (codes), with the users who act
    for it (each gets the ``property_company`` role in every one of them). Raises NotFoundError
    (an unknown community), InvalidInputError (no community, a name too long), ConflictError (a
    company of that name already serves one of them)."""
    with rt.db.write() as session:
        return create_property_company(session, name, communities=communities, staff_openids=staff_openids)


def create_property_company(
    session: Session, name: str, *, communities: Sequence[str], staff_openids: Sequence[str] = ()
) -> PropertyCompany:
    """Helper (flushes only): :func:`add_property_company` inside the caller's unit of work.

    Keyword-only on purpose: it took ``(community, name, staff)`` positionally before a company
    could serve several communities, and an old call must fail loudly, not name a company after
    its community."""
    areas = [get_area(session, code, kinds=[AreaKind.COMMUNITY]) for code in _distinct(communities)]
    company = _new_company(session, name, areas)
    for openid in staff_openids:
        # The role in every community served: they act on the company's orders in each.
        users = [assign_role(session, openid, Role.PROPERTY_COMPANY, area.code) for area in areas]
        link_staff(session, company.id, users[0].id)
    return company


def serves(session: Session, company_id: int, community_id: int) -> bool:
    """The company exists and serves ``community_id`` (one primary-key lookup)."""
    return session.get(PropertyCompanyCommunity, (company_id, community_id)) is not None


def link_staff(session: Session, company_id: int, user_id: int) -> None:
    """Helper (flushes only): ``user_id`` acts for the company (once, however often it is asked)."""
    if session.get(PropertyCompanyStaff, (company_id, user_id)) is None:
        session.add(PropertyCompanyStaff(company_id=company_id, user_id=user_id))
        session.flush()


# -- the API ----------------------------------------------------------------------------------------


def list_property_companies(
    rt: Runtime, actor: Actor, community: str, *, limit: int, cursor: str | None
) -> PropertyCompanyPage:
    """Secretary, grid worker or street admin of the community: the companies serving it, oldest
    first, with how many people act for each; two statements for a page. Raises ForbiddenError
    (not staff anywhere), NotFoundError (unknown or another community)."""
    after = decode_cursor(cursor)
    with rt.db.read() as session:
        area = community_for(session, actor, community, *READERS, refusal=_ONLY_STAFF)
        statement = (
            _companies_with_counts()
            .join(PropertyCompanyCommunity, PropertyCompanyCommunity.company_id == PropertyCompany.id)
            .where(PropertyCompanyCommunity.community_id == area.id)
            .order_by(PropertyCompany.id)
            .limit(limit + 1)
        )
        if after is not None:
            statement = statement.where(PropertyCompany.id > after)
        rows = session.execute(statement).all()
        page = rows[:limit]
        served = _served(session, [row.id for row in page], actor.communities_as(*READERS))
    return PropertyCompanyPage(
        items=[_out(row, served.get(row.id, [])) for row in page],
        next_cursor=encode_cursor(page[-1].id) if len(rows) > limit else None,
    )


def register_property_company(
    rt: Runtime, actor: Actor, *, name: str, communities: Sequence[str]
) -> PropertyCompanyOut:
    """A secretary, for their own community (or communities); a street admin, for the street's:
    a property company serving ``communities`` (codes). Its staff join with a ``property_company``
    invitation naming it. Raises ForbiddenError (neither role), NotFoundError (a code unknown or
    of another community, named in ``details.area``), InvalidInputError, ConflictError (a company
    of that name already serves one of them)."""
    allowed = actor.communities_as(*REGISTRARS)
    if not allowed:
        raise ForbiddenError(_ONLY_REGISTRARS)
    codes = _distinct(communities)
    with rt.db.write() as session:
        found = {
            area.code: area
            for area in session.scalars(sa.select(Area).where(Area.code.in_(codes), Area.kind == AreaKind.COMMUNITY))
        }
        for code in codes:
            # The same answer for a code that names nothing and for another tenant's community.
            if code not in found or found[code].id not in allowed:
                raise NotFoundError(f"找不到社区 {code}", details={"area": code})
        areas = [found[code] for code in codes]
        company = _new_company(session, name, areas)
        return _out(
            session.execute(_companies_with_counts().where(PropertyCompany.id == company.id)).one(),
            [area_ref(area) for area in areas],
        )


# -- helpers ----------------------------------------------------------------------------------------


def _distinct(codes: Sequence[str]) -> list[str]:
    """The codes in the order given, each once, without surrounding spaces."""
    return list(dict.fromkeys(code.strip() for code in codes))


def _new_company(session: Session, name: str, areas: Sequence[Area]) -> PropertyCompany:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidInputError(
            f"物业企业名称须为 1–{NAME_MAX} 个字", details={"fields": [{"field": "name", "problem": "length"}]}
        )
    if not areas:
        raise InvalidInputError(
            "请至少选择一个服务的社区", details={"fields": [{"field": "communities", "problem": "empty"}]}
        )
    # Not a constraint: one firm may serve communities of two streets, registered by each street.
    # Within a community, though, a second company of the same name is a double tap, and
    # dispatchers could not tell the two apart.
    twin = session.scalar(
        sa.select(PropertyCompany.id)
        .join(PropertyCompanyCommunity, PropertyCompanyCommunity.company_id == PropertyCompany.id)
        .where(PropertyCompany.name == name, PropertyCompanyCommunity.community_id.in_([a.id for a in areas]))
        .limit(1)
    )
    if twin is not None:
        raise ConflictError(
            f"所选社区已有名为「{name}」的物业企业", details={"fields": [{"field": "name", "problem": "taken"}]}
        )
    company = PropertyCompany(name=name)
    session.add(company)
    session.flush()
    session.add_all(PropertyCompanyCommunity(company_id=company.id, community_id=area.id) for area in areas)
    session.flush()
    return company


def _companies_with_counts() -> sa.Select[Any]:
    staff = (
        sa.select(sa.func.count())
        .select_from(PropertyCompanyStaff)
        .where(PropertyCompanyStaff.company_id == PropertyCompany.id)
        .correlate(PropertyCompany)
        .scalar_subquery()
    )
    return sa.select(PropertyCompany.id, PropertyCompany.name, PropertyCompany.created_at, staff.label("staff_count"))


def _served(session: Session, company_ids: list[int], visible: Collection[int]) -> dict[int, list[AreaRef]]:
    """For each company, the communities it serves among ``visible``, in one statement."""
    if not company_ids:
        return {}
    rows = session.execute(
        sa.select(PropertyCompanyCommunity.company_id, Area)
        .join(Area, Area.id == PropertyCompanyCommunity.community_id)
        .where(PropertyCompanyCommunity.company_id.in_(company_ids), Area.id.in_(sorted(visible)))
        .order_by(PropertyCompanyCommunity.company_id, Area.id)
    ).all()
    served: dict[int, list[AreaRef]] = {}
    for company_id, area in rows:
        served.setdefault(company_id, []).append(area_ref(area))
    return served


def _out(row: sa.Row[Any], communities: list[AreaRef]) -> PropertyCompanyOut:
    return PropertyCompanyOut(
        id=row.id,
        name=row.name,
        communities=communities,
        staff_count=int(row.staff_count),
        created_at=row.created_at,
    )


def unlink_staff_everywhere(session: Session, user_id: int) -> None:
    """Helper (flushes only): ``user_id`` acts for no property company any more (account deletion)."""
    session.execute(sa.delete(PropertyCompanyStaff).where(PropertyCompanyStaff.user_id == user_id))
    session.flush()
