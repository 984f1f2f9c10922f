"""Binding by unionid: a follower of the Official Account and the mini-program user of the same
person (the simulator's ``oa-<name>`` and ``sim:<name>``, both unionid ``union-<name>``) are bound
without a code, on follow, when the follower writes or clicks, or at the next login; never a
deleted account, never an openid someone else holds, never when WeChat cannot say who it is."""

from __future__ import annotations

import itertools
import json
import threading
import time

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.bot import commands, events
from app.bot.following import Bound, Followed, follow
from app.core.clock import now_utc
from app.identity.models import OaFollower, User
from app.runtime import Runtime
from tests.bot.conftest import Cast, Person
from tests.bot.wechat_server import Push, WeChatServer
from tests.factories import login
from wechat_sim import SimulatorServer

USER_INFO = "/cgi-bin/user/info"


def _binding(rt: Runtime, user_id: int) -> tuple[str | None, bool]:
    with rt.db.read() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.oa_openid, user.oa_following


def _holder(rt: Runtime, oa_openid: str) -> int | None:
    with rt.db.read() as session:
        return session.scalar(sa.select(User.id).where(User.oa_openid == oa_openid))


def _follower(rt: Runtime, oa_openid: str) -> tuple[str | None, bool] | None:
    with rt.db.read() as session:
        row = session.get(OaFollower, oa_openid)
        return (row.unionid, row.following) if row is not None else None


#: Events are told apart by sender and CreateTime: each push of a test gets a second of its own.
_SECONDS = itertools.count(int(time.time()))


def _event(wechat: WeChatServer, name: str, oa_openid: str) -> Push:
    return wechat.event(name, oa_openid, values={"time": str(next(_SECONDS))})


def _follow(wechat: WeChatServer, oa_openid: str) -> str | None:
    push = _event(wechat, "event_subscribe__follow", oa_openid)
    assert push.status == 200, push
    return push.reply


def test_a_follow_binds_the_mini_program_user_with_the_same_unionid(
    wechat: WeChatServer, cast: Cast, rt: Runtime
) -> None:
    volunteer = cast.volunteer
    assert _binding(rt, volunteer.id) == (None, False)
    reply = _follow(wechat, volunteer.oa_openid)
    assert reply == events.welcome_bound("")
    assert reply is not None
    assert "已自动绑定" in reply
    assert _binding(rt, volunteer.id) == (volunteer.oa_openid, True)
    assert _follower(rt, volunteer.oa_openid) == (f"union-{volunteer.openid}", True)
    # Bound: commands work at once, no bind code asked for.
    assert wechat.text(volunteer.oa_openid, "帮助").reply == commands.HELP
    # Following again is a welcome back; nobody else moved.
    assert _follow(wechat, volunteer.oa_openid) == events.WELCOME_BACK
    assert _binding(rt, cast.other_volunteer.id) == (None, False)


def test_a_follow_clears_a_block_and_an_unfollow_is_remembered(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    secretary = cast.secretary
    _follow(wechat, secretary.oa_openid)
    with rt.db.write() as session:
        session.execute(sa.update(User).where(User.id == secretary.id).values(oa_blocked_at=now_utc()))
    _event(wechat, "event_unsubscribe__unfollow", secretary.oa_openid)
    assert _binding(rt, secretary.id) == (secretary.oa_openid, False)
    assert _follower(rt, secretary.oa_openid) == (f"union-{secretary.openid}", False)
    assert _follow(wechat, secretary.oa_openid) == events.WELCOME_BACK
    with rt.db.read() as session:
        user = session.get(User, secretary.id)
        assert user is not None
        assert (user.oa_following, user.oa_blocked_at) == (True, None)


def test_an_unknown_follower_writing_or_clicking_is_bound_by_unionid(
    wechat: WeChatServer, cast: Cast, rt: Runtime
) -> None:
    reply = wechat.text(cast.volunteer.oa_openid, "帮助").reply
    assert reply == commands.AUTO_BOUND + commands.HELP
    assert _holder(rt, cast.volunteer.oa_openid) == cast.volunteer.id
    cast.submit()
    clicked = _event(wechat, "event_click__todo", cast.secretary.oa_openid).reply
    assert clicked is not None
    assert clicked.startswith(commands.AUTO_BOUND + "【待派单】共 1 件")
    assert _holder(rt, cast.secretary.oa_openid) == cast.secretary.id


def test_a_follow_before_the_first_login_binds_at_login(wechat: WeChatServer, client: FlaskClient, rt: Runtime) -> None:
    assert _follow(wechat, "oa-newcomer") == events.WELCOME
    assert _follower(rt, "oa-newcomer") == ("union-newcomer", True)
    assert _holder(rt, "oa-newcomer") is None
    login(client, "newcomer")
    with rt.db.read() as session:
        user = session.scalar(sa.select(User).where(User.openid == "newcomer"))
        assert user is not None
        assert (user.oa_openid, user.oa_following) == ("oa-newcomer", True)
    # A follower who left before the login is not bound by it.
    _follow(wechat, "oa-leaver")
    _event(wechat, "event_unsubscribe__unfollow", "oa-leaver")
    login(client, "leaver")
    assert _holder(rt, "oa-leaver") is None


def test_a_failing_user_info_binds_nobody_and_answers_normally(
    wechat: WeChatServer, cast: Cast, rt: Runtime, simulator: SimulatorServer
) -> None:
    simulator.state.inject_fault(USER_INFO, http_status=502)
    assert _follow(wechat, cast.volunteer.oa_openid) == events.WELCOME
    simulator.state.inject_fault(USER_INFO, errcode=-1)
    assert wechat.text(cast.volunteer.oa_openid, "帮助").reply == commands.BIND_HELP
    assert _binding(rt, cast.volunteer.id) == (None, False)
    assert _follower(rt, cast.volunteer.oa_openid) is None
    # WeChat back: the next message binds.
    assert wechat.text(cast.volunteer.oa_openid, "帮助").reply == commands.AUTO_BOUND + commands.HELP


def test_a_follower_without_unionid_still_binds_by_code(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    # Any openid but oa-<name>: the simulator's account bound to no Open Platform (no unionid).
    assert _follow(wechat, "wx-no-union") == events.WELCOME
    assert wechat.text("wx-no-union", "待办").reply == commands.BIND_HELP
    assert _follower(rt, "wx-no-union") is None  # nothing worth remembering
    code = cast.bind_code(cast.resident)
    reply = wechat.text("wx-no-union", f"绑定 {code}").reply
    assert reply is not None
    assert reply.startswith("绑定成功")
    assert _holder(rt, "wx-no-union") == cast.resident.id


def test_an_openid_bound_to_someone_else_is_never_taken(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    volunteer, secretary = cast.volunteer, cast.secretary
    # The secretary bound the volunteer's OA openid with a code (a shared phone, say).
    push = wechat.text(volunteer.oa_openid, f"绑定 {cast.bind_code(secretary)}")
    assert push.reply is not None
    assert push.reply.startswith("绑定成功")
    assert _follow(wechat, volunteer.oa_openid) == events.WELCOME_BACK
    assert _holder(rt, volunteer.oa_openid) == secretary.id
    assert _binding(rt, volunteer.id) == (None, False)


def test_a_user_bound_to_another_openid_keeps_it(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    volunteer = cast.volunteer
    cast.bind(wechat, Person(openid="elsewhere", id=volunteer.id, auth=volunteer.auth))  # oa-elsewhere
    assert _follow(wechat, volunteer.oa_openid) == events.WELCOME
    assert _binding(rt, volunteer.id) == ("oa-elsewhere", True)
    assert _holder(rt, volunteer.oa_openid) is None


def test_a_deleted_account_is_never_bound_and_its_follower_is_forgotten(
    wechat: WeChatServer, cast: Cast, client: FlaskClient, rt: Runtime
) -> None:
    resident, volunteer = cast.resident, cast.volunteer
    _follow(wechat, volunteer.oa_openid)
    assert client.delete("/api/v1/me", headers=volunteer.headers).status_code == 204
    assert _follower(rt, volunteer.oa_openid) is None
    # The resident deletes first and follows afterwards: the tombstone is nobody's to bind.
    assert client.delete("/api/v1/me", headers=resident.headers).status_code == 204
    assert _follow(wechat, resident.oa_openid) == events.WELCOME
    assert wechat.text(resident.oa_openid, "待办").reply == commands.BIND_HELP
    assert _binding(rt, resident.id) == (None, False)


def test_a_unionid_two_live_users_share_binds_neither(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    shared = f"union-{cast.volunteer.openid}"
    with rt.db.write() as session:
        session.execute(sa.update(User).where(User.id == cast.other_volunteer.id).values(unionid=shared))
    assert _follow(wechat, cast.volunteer.oa_openid) == events.WELCOME
    assert _holder(rt, cast.volunteer.oa_openid) is None


def test_the_export_shows_the_binding_and_the_follower(wechat: WeChatServer, cast: Cast, client: FlaskClient) -> None:
    volunteer = cast.volunteer
    _follow(wechat, volunteer.oa_openid)
    response = client.get("/api/v1/me/export", headers=volunteer.headers)
    assert response.status_code == 200
    bot = json.loads(response.get_data(as_text=True))["bot"]
    assert (bot["oa_openid"], bot["following"], bot["blocked_at"]) == (volunteer.oa_openid, True, None)
    [follower] = bot["followers"]
    assert (follower["oa_openid"], follower["unionid"], follower["following"]) == (
        volunteer.oa_openid,
        f"union-{volunteer.openid}",
        True,
    )


def test_a_bind_code_racing_the_unionid_binding_wins_cleanly(cast: Cast, rt: Runtime) -> None:
    """PostgreSQL: another transaction gives the follower's openid to someone else while the
    follow is being handled; the follow must neither fail nor take the openid."""
    if rt.db.is_sqlite:
        pytest.skip("SQLite runs one write transaction at a time: the race cannot happen")
    volunteer, secretary = cast.volunteer, cast.secretary
    outcome: list[Followed] = []
    with rt.db.engine.connect() as other:
        other.execute(sa.update(User).where(User.id == secretary.id).values(oa_openid=volunteer.oa_openid))
        racer = threading.Thread(target=lambda: outcome.append(follow(rt, volunteer.oa_openid)))
        racer.start()
        time.sleep(0.5)  # the follow's UPDATE now waits on the unique index for this transaction
        other.commit()
    racer.join(timeout=10)
    assert outcome == [Followed(Bound.NO)]
    assert _holder(rt, volunteer.oa_openid) == secretary.id
    assert _binding(rt, volunteer.id) == (None, False)
