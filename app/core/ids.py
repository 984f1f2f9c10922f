"""The range of a database id, for whatever takes one from outside: a path, a body, a cursor, a token.

Ids are ``ID_TYPE`` columns (``app/core/columns.py``): signed 64-bit on PostgreSQL (BIGINT) and
on SQLite (INTEGER), counted from 1. A number outside that range names no row, and handed to the
driver it is an OverflowError or a DataError (a 500), so callers refuse it before any query: the
API's ``<id:…>`` path converter (``IdConverter``) and body type (``DbId``), the token signer and
the cursors.
"""

from __future__ import annotations

MIN_ID = 1
MAX_ID = 2**63 - 1


def is_db_id(value: object) -> bool:
    """Whether ``value`` could be an id: an int (not a bool, which JSON's ``true`` becomes) in range."""
    return isinstance(value, int) and not isinstance(value, bool) and MIN_ID <= value <= MAX_ID
