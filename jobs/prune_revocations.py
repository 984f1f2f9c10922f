"""Forget the revocations of logged-out tokens once those tokens have expired anyway (hourly)."""

from __future__ import annotations

from datetime import datetime

from app.core.clock import now_utc
from app.identity.revocation import prune_revocations
from app.runtime import Runtime


def run(rt: Runtime, now: datetime | None = None) -> str:
    return f"pruned={prune_revocations(rt, now or now_utc())}"
