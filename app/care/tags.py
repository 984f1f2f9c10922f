"""Care tags on households (关爱对象标签): staff set and clear them, list the tagged households to
plan visits; every change goes to the audit trail. Tags never reach a volunteer's or a
resident's answers; the resident's own export carries them (``tags_of_resident``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area
from app.audit.models import AuditKind
from app.audit.record import record
from app.care.access import area_scope, covered_household, grid_condition, require_care_staff
from app.care.models import HouseholdCareTag
from app.care.shapes import (
    CareHouseholdOut,
    CareHouseholdPage,
    CareHouseholdTags,
    CareTagDefinition,
    CareTagOut,
    CareTagVocabulary,
)
from app.care.vocabulary import TAG_LABELS, CareTag
from app.core.errors import InvalidInputError
from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor
from app.identity.models import Household, User
from app.identity.shapes import area_ref
from app.runtime import Runtime


@dataclass(frozen=True, slots=True)
class TagInput:
    tag: CareTag
    note: str = ""


def vocabulary(actor: Actor) -> CareTagVocabulary:
    """Staff: the fixed list of tags, in their order of definition (no database)."""
    require_care_staff(actor)
    return CareTagVocabulary(items=[CareTagDefinition(tag=tag, label=TAG_LABELS[tag]) for tag in CareTag])


def _tag_out(row: HouseholdCareTag) -> CareTagOut:
    return CareTagOut(tag=row.tag, label=TAG_LABELS[row.tag], note=row.note, set_at=row.updated_at)


def _current_tags(session: Session, household: Household) -> list[HouseholdCareTag]:
    """The household's tags in its present community (tags from before a move do not count)."""
    return list(
        session.scalars(
            sa.select(HouseholdCareTag)
            .where(
                HouseholdCareTag.household_id == household.id,
                HouseholdCareTag.community_id == household.community_id,
            )
            .order_by(HouseholdCareTag.tag)
        )
    )


def set_care_tags(rt: Runtime, actor: Actor, user_id: int, tags: Sequence[TagInput]) -> CareHouseholdTags:
    """A secretary of the household's community or a grid worker of its grid: the household's
    tags become exactly ``tags`` (an empty list clears them). Each tag set, changed (its note) or
    cleared writes an audit row. ForbiddenError for other roles, NotFoundError for a household
    they do not cover, InvalidInputError for a tag given twice."""
    require_care_staff(actor)
    wanted: dict[CareTag, str] = {}
    for position, item in enumerate(tags):
        if item.tag in wanted:
            raise InvalidInputError(
                "同一标签只能出现一次",
                details={"fields": [{"field": f"tags.{position}.tag", "problem": "重复的标签"}]},
            )
        wanted[item.tag] = item.note
    with rt.db.write() as session:
        household = covered_household(session, actor, user_id)
        # Rows left from an earlier community go: the tags describe the home as it is now.
        session.execute(
            sa.delete(HouseholdCareTag).where(
                HouseholdCareTag.household_id == household.id,
                HouseholdCareTag.community_id != household.community_id,
            )
        )
        existing = {row.tag: row for row in _current_tags(session, household)}

        def audit(tag: CareTag, change: str) -> None:
            record(
                session,
                AuditKind.CARE_TAG_CHANGED,
                area_id=household.community_id,
                actor_id=actor.user_id,
                subject_id=household.user_id,
                detail=f"{tag.value}:{change}",
            )

        for tag, old in existing.items():
            if tag not in wanted:
                session.delete(old)
                audit(tag, "cleared")
        for tag, note in wanted.items():
            row = existing.get(tag)
            if row is None:
                session.add(
                    HouseholdCareTag(
                        household_id=household.id,
                        community_id=household.community_id,
                        tag=tag,
                        note=note,
                        set_by_id=actor.user_id,
                    )
                )
                audit(tag, "set")
            elif row.note != note:
                row.note = note
                row.set_by_id = actor.user_id
                audit(tag, "changed")
        session.flush()
        tags_now = [_tag_out(row) for row in _current_tags(session, household)]
        return CareHouseholdTags(household=household.user_id, tags=tags_now)


def list_care_households(
    rt: Runtime, actor: Actor, *, area: str, tag: CareTag | None, limit: int, cursor: str | None
) -> CareHouseholdPage:
    """Staff: the tagged households of a community or grid they cover (those with ``tag`` only,
    if given), in household order, with their tags; to plan visits."""
    require_care_staff(actor)
    after = decode_cursor(cursor)
    with rt.db.read() as session:
        community_id, grids = area_scope(session, actor, area)
        # Driven by the tags (ix_household_care_tags_community_id_household_id), not by the
        # community's households: a page reads about as many rows as it shows.
        query = (
            sa.select(Household, User)
            .select_from(HouseholdCareTag)
            .join(Household, Household.id == HouseholdCareTag.household_id)
            .join(User, User.id == Household.user_id)
            .where(
                HouseholdCareTag.community_id == community_id,
                # A tag from before a move does not count.
                Household.community_id == HouseholdCareTag.community_id,
                grid_condition(grids),
            )
            # One row per household however many tags it has (PostgreSQL accepts the whole rows:
            # both primary keys are grouped).
            .group_by(HouseholdCareTag.household_id, Household.id, User.id)
            .order_by(HouseholdCareTag.household_id)
            .limit(limit + 1)
        )
        if tag is not None:
            query = query.where(HouseholdCareTag.tag == tag)
        if after is not None:
            query = query.where(HouseholdCareTag.household_id > after)
        rows = session.execute(query).all()
        page = rows[:limit]
        ids = [household.id for household, _user in page]
        by_household: dict[int, list[CareTagOut]] = {}
        if ids:
            for row in session.scalars(
                sa.select(HouseholdCareTag)
                .where(HouseholdCareTag.household_id.in_(ids), HouseholdCareTag.community_id == community_id)
                .order_by(HouseholdCareTag.household_id, HouseholdCareTag.tag)
            ):
                by_household.setdefault(row.household_id, []).append(_tag_out(row))
        areas = {
            a.id: a
            for a in session.scalars(
                sa.select(Area).where(Area.id.in_(_area_ids([household for household, _user in page])))
            )
        }
        items = [
            CareHouseholdOut(
                household=household.user_id,
                name=user.nickname,
                community=area_ref(areas[household.community_id]),
                grid=area_ref(areas[household.grid_id]) if household.grid_id is not None else None,
                building=household.building,
                unit=household.unit,
                room=household.room,
                has_wechat=user.openid is not None,
                tags=by_household.get(household.id, []),
            )
            for household, user in page
        ]
        next_cursor = encode_cursor(page[-1][0].id) if len(rows) > limit else None
        return CareHouseholdPage(items=items, next_cursor=next_cursor)


def _area_ids(households: Sequence[Household]) -> set[int]:
    ids: set[int] = set()
    for household in households:
        ids.add(household.community_id)
        if household.grid_id is not None:
            ids.add(household.grid_id)
    return ids


def tags_of_resident(session: Session, user_id: int) -> list[CareTagOut]:
    """The tags on the resident's own household (their data export: the right of access)."""
    household = session.scalar(sa.select(Household).where(Household.user_id == user_id))
    if household is None:
        return []
    return [_tag_out(row) for row in _current_tags(session, household)]
