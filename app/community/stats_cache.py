"""The period before's totals (环比), kept from one statistics request to the next.

A month's statistics compare with the month before, which is over: asking again and again (a
street admin's dashboard, every community of the street) recomputes the same past figures. They
are kept here, per worker process, keyed by what they were computed from: the database, the
communities, the period's instants and the cutoff the SLA rule counted up to (only a period that
has ended is kept, so the cutoff is its end, not "now").

A closed period can still change: an old order is reopened, rated again, merged, cancelled. Each
of those is a step of the workflow, which bumps the order's ``version`` and ``updated_at``; a new
or removed order changes the count. So every use first reads the period's (count, max updated_at,
sum of versions) — one narrow scan of the range's index — and the kept figures are used only when
all three are unchanged. A hand-made UPDATE that bumps neither is not seen (the anonymisation job
keeps ``updated_at``, but it changes no figure)."""

from __future__ import annotations

import copy as _copy
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.orders.models import Order

T = TypeVar("T")

#: Periods kept per process: a street's communities and the street itself for a few months.
MAX_ENTRIES: Final = 256
#: And at most this many groups in all (an entry's ``size``): a street month's whole figures are
#: ~5,000 volunteers' rows, measured at ~17.5 MB with tracemalloc, so this holds about four of
#: them (~70 MB) beside the small totals of the periods before.
MAX_SIZE: Final = 20_000

_lock = threading.Lock()
#: key → (fingerprint, value, size), least recently used first.
_kept: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], Any, int]] = OrderedDict()
_size = 0


def fingerprint(session: Session, where: list[Any]) -> tuple[Any, ...]:
    """What changes whenever a figure of the orders matching ``where`` may have changed."""
    row = session.execute(
        sa.select(sa.func.count(), sa.func.max(Order.updated_at), sa.func.coalesce(sa.func.sum(Order.version), 0))
        .select_from(Order)
        .where(*where)
    ).one()
    return tuple(row)


def kept_or_computed(
    session: Session,
    key: tuple[Any, ...],
    where: list[Any],
    compute: Callable[[], T],
    *,
    copy: bool = True,
    size: Callable[[T], int] = lambda _value: 1,
    stored: Callable[[tuple[Any, ...]], T | None] | None = None,
) -> T:
    """The figures kept for ``key`` if the orders matching ``where`` are unchanged since; otherwise
    ``compute()``'s, kept. A copy either way, since callers may change what they get, unless
    ``copy=False``: for values nobody can change (frozen shapes, tuples), which are shared.
    ``size``: how many groups a value holds, against MAX_SIZE (one larger than that is not kept).
    ``stored``: asked with the fingerprint before computing, for the same figures kept elsewhere
    (app/community/kept_stats.py, shared by every process); None when it has none for them."""
    global _size  # noqa: PLW0603 - the module is the process's one store
    keep: Callable[[Any], Any] = _copy.deepcopy if copy else _same
    full_key = (session.get_bind().engine.url.render_as_string(hide_password=True), *key)
    seen = fingerprint(session, where)
    with _lock:
        hit = _kept.get(full_key)
        if hit is not None and hit[0] == seen:
            _kept.move_to_end(full_key)
            return keep(hit[1])  # type: ignore[no-any-return]
    value = stored(seen) if stored is not None else None
    if value is None:
        value = compute()
    groups = max(1, size(value))
    if groups > MAX_SIZE:
        return value
    with _lock:
        replaced = _kept.pop(full_key, None)
        _size -= replaced[2] if replaced is not None else 0
        _kept[full_key] = (seen, keep(value), groups)
        _size += groups
        while len(_kept) > MAX_ENTRIES or _size > MAX_SIZE:
            _size -= _kept.popitem(last=False)[1][2]
    return value


def _same(value: T) -> T:
    return value


def clear() -> None:
    """Forget everything kept (tests; a restore of the database under a running process)."""
    global _size  # noqa: PLW0603
    with _lock:
        _kept.clear()
        _size = 0


def kept_size() -> tuple[int, int]:
    """(entries, groups) kept now."""
    with _lock:
        return len(_kept), _size
