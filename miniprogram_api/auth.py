"""Bearer token → Actor, once per request."""

from __future__ import annotations

from flask import current_app, g, request

from app.core.errors import UnauthenticatedError
from app.core.logs import bind_context
from app.identity import login
from app.identity.actor import Actor
from app.runtime import Runtime


def runtime() -> Runtime:
    """The process's Runtime, set up by ``create_app``."""
    rt: Runtime = current_app.extensions["linli"]
    return rt


def bearer_token() -> str:
    """The request's bearer token as sent (not yet checked); UnauthenticatedError (401) without one."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthenticatedError()
    return token.strip()


def current_actor() -> Actor:
    """The authenticated caller; UnauthenticatedError (401) without a valid token."""
    cached: Actor | None = g.get("actor")
    if cached is not None:
        return cached
    actor = login.authenticate(runtime(), bearer_token())
    g.actor = actor
    # From here on every line of this request names its user (by id only: no phone, no token);
    # the request's own reset at teardown takes it away again.
    bind_context(user_id=actor.user_id)
    return actor
