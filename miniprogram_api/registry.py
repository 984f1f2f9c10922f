"""Declare an endpoint once: its route, input schemas and answer shape validate requests AND
produce ``/openapi.json``, so the document cannot drift from the code.

A small layer of our own rather than flask-openapi3/spectree: those answer validation errors in
their own shapes, and every error of this API has one envelope (docs/api.md, Errors).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from flask import Blueprint, Response, g, jsonify, request, url_for
from pydantic import BaseModel, TypeAdapter
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter, Map

from app.core.clock import now_utc
from app.core.errors import InvalidInputError
from app.core.ids import MAX_ID, MIN_ID
from app.identity.actor import Actor
from app.uploads.shapes import PHOTO_URL
from miniprogram_api.auth import current_actor, runtime
from miniprogram_api.schemas import DbId


@dataclass(frozen=True)
class Header:
    """A request header an endpoint reads. Documented only: the view checks it, because each
    header has its own rule and error (``Idempotency-Key``: 1–128 characters, else a 400)."""

    name: str
    description: str
    max_length: int
    required: bool = False


IDEMPOTENCY_KEY = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = 128


def idempotency_header(description: str) -> Header:
    """The documentation of an endpoint's ``Idempotency-Key`` (app/core/idempotency.py)."""
    return Header(IDEMPOTENCY_KEY, description, max_length=IDEMPOTENCY_KEY_MAX)


def idempotency_key() -> str | None:
    """The request's ``Idempotency-Key`` without surrounding spaces, None without one; a key
    that is blank or longer than 128 characters is a 400."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        return None
    if not 0 < len(key.strip()) <= IDEMPOTENCY_KEY_MAX:
        raise InvalidInputError("Idempotency-Key 无效", details={IDEMPOTENCY_KEY: "1–128 characters"})
    return key.strip()


@dataclass(frozen=True)
class Limit:
    """A rate limit of ``[limits]`` an endpoint counts each request against: per client address
    (``ip``, before the token is looked at), per authenticated user (``user``), or per WeChat user
    (``openid``: counted by the login use case once WeChat has named the user; declared here so
    that the document lists it)."""

    name: str
    per: Literal["ip", "user", "openid"]


def client_address() -> str:
    """The caller's address: the connection's, or what ``server.trusted_proxies`` proxies say
    (werkzeug's ProxyFix, installed by create_app, rewrites it); never a header taken on trust."""
    return request.remote_addr or "unknown"


@dataclass(frozen=True)
class Operation:
    """One documented endpoint."""

    method: str
    path: str  # OpenAPI style: /api/v1/orders/{order_id}
    summary: str
    #: camelCase, unique: what a client generator names the call (``submitOrder``).
    operation_id: str
    tag: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: bool
    errors: tuple[int, ...]
    #: Each path parameter's JSON schema, by name, in the order of the path.
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str = ""
    content_type: str = "application/json"
    extra: dict[str, Any] = field(default_factory=dict)
    headers: tuple[Header, ...] = ()
    #: The success answer as a client receives it (miniprogram_api/examples.py)
    example: Any = None
    #: The success answer's media type, where it is not a JSON ``response`` model
    answer_type: str = "application/json"
    #: Rate limits counted before the view runs (429 with Retry-After when one is full)
    limits: tuple[Limit, ...] = ()


OPERATIONS: list[Operation] = []


def photo_url(upload_id: int) -> str:
    """Where the mini-program fetches a photo (services answer ids; the URL is the API's business).

    A signed link for the caller of this request (``g.actor``, set when the token was checked),
    so that ``<image src>``, which sends no Authorization header, can load it. The link carries
    the viewer because whether they may see the photo is checked again when it is fetched.
    Without a caller (no answer with photos is anonymous today) the bearer path is the honest
    answer: there is nobody to sign for.
    """
    viewer: Actor | None = g.get("actor")
    if viewer is None:
        return url_for("uploads.get_upload", upload_id=upload_id)
    token = runtime().photo_links.mint(upload_id, viewer.user_id, now_utc())
    return url_for("uploads.get_photo", upload_id=upload_id, token=token)


#: What every answer is serialised with: how an id becomes a link.
ANSWER_CONTEXT: dict[str, Any] = {PHOTO_URL: photo_url}


class IdConverter(IntegerConverter):
    """``<id:name>``, the converter of every path id: 1 to 2^63 − 1, what an id column holds.

    Any other number fails to match, so the URL answers 404 like an unknown path before a token,
    a body or the database driver sees it (a number the driver cannot bind is a 500). ASCII digits
    only: ``\\d`` would also take other scripts' digits, which ``int()`` reads as numbers.
    """

    regex = r"[0-9]+"

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=MIN_ID, max=MAX_ID)


#: The OpenAPI schema of each converter a route may use; a rule with another one is refused at
#: import, so no path parameter goes undocumented (or back to the unbounded ``int``).
PATH_SCHEMAS: dict[str, dict[str, Any]] = {"id": TypeAdapter(DbId).json_schema(), "": {"type": "string"}}

_FLASK_PARAM = re.compile(r"<(?:([a-z_]+):)?([a-z_]+)>")


def _path_params(rule: str) -> dict[str, dict[str, Any]]:
    params: dict[str, dict[str, Any]] = {}
    for converter, name in _FLASK_PARAM.findall(rule):
        if converter not in PATH_SCHEMAS:
            raise ValueError(f"{rule}: path parameter {name!r} needs a converter of PATH_SCHEMAS, e.g. <id:{name}>")
        params[name] = PATH_SCHEMAS[converter]
    return params


def camel_case(name: str) -> str:
    """``list_orders`` → ``listOrders``: the operation id derived from a view's name."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _nul_fields(value: Any, where: str) -> list[str]:
    """Where a string holds U+0000: PostgreSQL's text cannot (the driver refuses to send it), so
    such input is a 400 here rather than a 500 at the database, and the same on SQLite."""
    if isinstance(value, str):
        return [where] if "\x00" in value else []
    if isinstance(value, dict):
        return [f for key, item in value.items() for f in _nul_fields(key, where) + _nul_fields(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [f for index, item in enumerate(value) for f in _nul_fields(item, f"{where}.{index}")]
    return []


def _refuse_nul(value: Any, where: str) -> None:
    if fields := _nul_fields(value, where):
        problems = [{"field": name.removeprefix(f"{where}."), "problem": "contains a NUL character"} for name in fields]
        raise InvalidInputError("输入中含有不允许的空字符", details={"fields": problems})


def _json_body(model: type[BaseModel]) -> BaseModel:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise InvalidInputError("请求体必须是 JSON 对象", details={"body": "expected a JSON object"})
    _refuse_nul(payload, "body")
    return model.model_validate(payload)


def _query(model: type[BaseModel]) -> BaseModel:
    # Repeated keys become lists only where the schema asks for a list.
    data: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        annotation = model.model_fields.get(key)
        wants_list = annotation is not None and "list" in str(annotation.annotation)
        data[key] = values if wants_list else values[-1]
    _refuse_nul(data, "query")
    return model.model_validate(data)


def _limit_body(max_bytes: int) -> None:
    """A JSON endpoint reads at most ``max_bytes`` (uploads keep the app's larger MAX_CONTENT_LENGTH).

    A declared length over it is refused before anything is read. A body without one (chunked,
    which the server terminates: ``wsgi.input_terminated``) is read here up to one byte past the
    limit: werkzeug would otherwise stop reading at the limit without a word, and the JSON cut
    short would be answered 400 as malformed. Either way a 413 in the error envelope.
    """
    request.max_content_length = max_bytes  # also what a 413's details report
    if request.content_length is not None:
        if request.content_length > max_bytes:
            raise RequestEntityTooLarge()
        return
    if "wsgi.input_terminated" in request.environ:
        request.max_content_length = max_bytes + 1
        body = request.get_data(cache=True)
        request.max_content_length = max_bytes
        if len(body) > max_bytes:
            raise RequestEntityTooLarge()


def endpoint(
    bp: Blueprint,
    rule: str,
    *,
    method: str,
    summary: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    auth: bool = True,
    errors: tuple[int, ...] = (),
    description: str = "",
    content_type: str = "application/json",
    operation_id: str | None = None,
    headers: tuple[Header, ...] = (),
    example: Any = None,
    answer_type: str = "application/json",
    limits: tuple[Limit, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view on ``bp`` and document it.

    ``operation_id`` defaults to the view's name in camelCase. Give one where that name would make
    a poor method name in generated client code (``me`` → ``getMe``): the id is part of the
    contract with the mini-program team and must not change when a function is renamed.

    The view receives ``actor=`` (when ``auth``), ``body=`` and ``query=`` (validated pydantic
    models) plus the URL parameters, and returns a pydantic model, a dict or a Flask Response.

    ``limits`` are counted before anything else runs: per address first (a flood from one
    address is refused before its tokens cost a lookup), per user once the token is checked. A
    refused request reaches neither the body nor the use case, so it writes nothing.
    """
    if any(limit.per == "user" for limit in limits) and not auth:
        raise ValueError(f"{rule}: a per-user limit needs an authenticated endpoint")
    by_address = tuple(limit.name for limit in limits if limit.per == "ip")
    by_user = tuple(limit.name for limit in limits if limit.per == "user")

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(**url_params: Any) -> Any:
            rt = runtime()
            if content_type == "application/json":
                _limit_body(rt.settings.server.max_json_bytes)
            for name in by_address:
                rt.rate_limits.hit(name, client_address())
            kwargs: dict[str, Any] = dict(url_params)
            # A GET only reads: authentication and the use case share one session (one checkout,
            # one transaction). Other methods keep them apart, so a write is seen by what follows.
            reads = rt.db.shared_reads() if method == "GET" else contextlib.nullcontext()
            with reads:
                if auth:
                    actor = kwargs["actor"] = current_actor()
                    for name in by_user:
                        rt.rate_limits.hit(name, str(actor.user_id))
                if body is not None:
                    kwargs["body"] = _json_body(body)
                if query is not None:
                    kwargs["query"] = _query(query)
                result = view(**kwargs)
            if isinstance(result, Response | tuple):
                return result  # already a response (an error envelope, a file, a page)
            payload = (
                result.model_dump(mode="json", context=ANSWER_CONTEXT) if isinstance(result, BaseModel) else result
            )
            return jsonify(payload), status

        bp.add_url_rule(rule, view_func=wrapper, methods=[method])
        prefix = bp.url_prefix or ""
        OPERATIONS.append(
            Operation(
                method=method.lower(),
                path=_FLASK_PARAM.sub(r"{\2}", prefix + rule),
                summary=summary,
                operation_id=operation_id or camel_case(view.__name__),
                tag=bp.name,
                body=body,
                query=query,
                response=response,
                status=status,
                auth=auth,
                errors=errors,
                path_params=_path_params(rule),
                description=description,
                content_type=content_type,
                headers=headers,
                example=example,
                answer_type=answer_type,
                limits=limits,
            )
        )
        return wrapper

    return decorator
