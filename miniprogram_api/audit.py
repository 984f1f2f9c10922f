"""The audit trail of acts on people (thin views): reveals of contact details, grants, verifications."""

from __future__ import annotations

from flask import Blueprint

from app.audit.models import AuditKind
from app.community import audit
from app.community.shapes import AuditPage
from app.identity.actor import Actor
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import endpoint
from miniprogram_api.schemas import AuditQuery, RevealsQuery

bp = Blueprint("audit", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/audit/reveals",
    method="GET",
    summary="谁在何时查看了哪位居民的联系方式",
    description="社区书记（本社区）与街道管理员（本街道各社区）可查；最新的在前。",
    example=examples.REVEALS,
    operation_id="listContactReveals",
    query=RevealsQuery,
    response=AuditPage,
    errors=(400, 401, 403, 404),
)
def list_reveals(actor: Actor, query: RevealsQuery) -> AuditPage:
    return audit.list_audit(
        runtime(), actor, area=query.area, kind=AuditKind.CONTACT_REVEALED, limit=query.limit, cursor=query.cursor
    )


@endpoint(
    bp,
    "/audit/entries",
    method="GET",
    summary="审计记录：查看联系方式、授予角色、核实住址、调整积分",
    description="社区书记（本社区）与街道管理员（本街道各社区）可查；`kind` 只看一类，最新的在前。",
    example=examples.AUDIT_PAGE,
    operation_id="listAuditEntries",
    query=AuditQuery,
    response=AuditPage,
    errors=(400, 401, 403, 404),
)
def list_entries(actor: Actor, query: AuditQuery) -> AuditPage:
    return audit.list_audit(runtime(), actor, area=query.area, kind=query.kind, limit=query.limit, cursor=query.cursor)
