"""Chat commands: parsing what people type, binding, 「待办」 by role, and the same permission
checks and error vocabulary as the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.bot import commands
from app.bot.binding import MAX_BIND_FAILURES
from app.bot.models import BotBindCode
from app.core.clock import now_utc
from app.identity.models import User
from app.orders.models import OrderEvent
from app.runtime import Runtime
from tests.bot.conftest import Cast, snapshot
from tests.bot.wechat_server import WeChatServer


@pytest.mark.parametrize(
    ("typed", "name", "args"),
    [
        ("待办", "todo", ()),
        ("  我的待办  ", "todo", ()),
        ("TODO", "todo", ()),
        ("Help", "help", ()),
        ("？", "help", ()),
        ("帮助", "help", ()),
        ("派单 20261123-0042 17", "dispatch", ("20261123-0042", "17")),
        # Full-width digits, dash and spaces, as a Chinese IME types them.
        ("\u3000派单\u3000２０２６１１２３－００４２\u3000\u3000１７", "dispatch", ("20261123-0042", "17")),
        ("派单：20261123—0042，#17", "dispatch", ("20261123-0042", "#17")),
        ("dispatch   20261123-0042\t17", "dispatch", ("20261123-0042", "17")),
        ("接单20261123-0042", "accept", ("20261123-0042",)),
        ("认领 20261123-0042", "accept", ("20261123-0042",)),
        ("Accept 20261123-0042", "accept", ("20261123-0042",)),
        ("完成 20261123-0042", "complete", ("20261123-0042",)),
        ("done 20261123-0042", "complete", ("20261123-0042",)),
        ("绑定 ab23cd45", "bind", ("ab23cd45",)),
        ("ＢＩＮＤ　ＡＢ２３ＣＤ４５", "bind", ("AB23CD45",)),
    ],
)
def test_commands_are_recognised_however_typed(typed: str, name: str, args: tuple[str, ...]) -> None:
    assert commands.parse(typed) == commands.Command(name=name, args=args)


@pytest.mark.parametrize("typed", ["你好", "hello", "", "   ", "20261123-0042", "dispatching 1 2"])
def test_other_text_is_not_a_command(typed: str) -> None:
    assert commands.parse(typed) is None


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("20261123-0042", "20261123-0042"),
        ("20261123-42", "20261123-0042"),
        ("202611230042", "20261123-0042"),
        ("2026112-0042", None),
        ("20261123-00421", None),
        ("abc", None),
    ],
)
def test_order_numbers_are_tolerated_but_checked(typed: str, number: str | None) -> None:
    assert commands.order_number(typed) == number


# -- binding ----------------------------------------------------------------------------------------


def test_unbound_users_only_learn_how_to_bind(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    order = cast.submit()
    before = snapshot(rt)
    for text in ("待办", f"完成 {order['number']}", f"派单 {order['number']} {cast.volunteer.id}", "你好"):
        push = wechat.text("oa-stranger", text)
        assert (push.status, push.reply) == (200, commands.BIND_HELP)
    after = snapshot(rt)
    assert after["events"] == before["events"]
    assert after["oa"] == before["oa"]


def test_binding_links_the_chat_user_to_the_linli_user(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    code = cast.bind_code(cast.secretary)
    assert len(code) == 8
    push = wechat.text(cast.secretary.oa_openid, f"绑定 {code.lower()}")  # case does not matter
    assert push.reply is not None
    assert push.reply.startswith("绑定成功")
    assert "社区书记" in push.reply
    with rt.db.read() as session:
        user = session.get(User, cast.secretary.id)
        assert user is not None
        assert (user.oa_openid, user.oa_following) == (cast.secretary.oa_openid, True)
    # One time only: the same code from another chat user does nothing.
    again = wechat.text("oa-thief", f"绑定 {code}")
    assert again.reply == "绑定码无效或已过期，请在小程序中重新获取"
    with rt.db.read() as session:
        assert session.scalar(sa.select(User.id).where(User.oa_openid == "oa-thief")) is None


def test_a_new_code_replaces_the_old_and_expired_codes_fail(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    first = cast.bind_code(cast.volunteer)
    second = cast.bind_code(cast.volunteer)
    assert wechat.text(cast.volunteer.oa_openid, f"绑定 {first}").reply == "绑定码无效或已过期，请在小程序中重新获取"
    with rt.db.write() as session:
        session.execute(
            sa.update(BotBindCode).where(BotBindCode.code == second).values(expires_at=now_utc() - timedelta(seconds=1))
        )
    assert wechat.text(cast.volunteer.oa_openid, f"绑定 {second}").reply == "绑定码无效或已过期，请在小程序中重新获取"
    assert wechat.text(cast.volunteer.oa_openid, "绑定").reply is not None  # usage, no crash
    with rt.db.read() as session:
        assert session.scalar(sa.select(User.oa_openid).where(User.id == cast.volunteer.id)) is None


def test_guessing_codes_is_stopped_after_a_few_tries(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    for i in range(MAX_BIND_FAILURES):
        assert wechat.text("oa-guesser", f"绑定 GUESS00{i}").reply == "绑定码无效或已过期，请在小程序中重新获取"
    good = cast.bind_code(cast.secretary)
    locked = wechat.text("oa-guesser", f"绑定 {good}")
    assert locked.reply == "绑定码错误次数太多，请 10 分钟后再试"
    with rt.db.read() as session:
        assert session.scalar(sa.select(BotBindCode.used_at).where(BotBindCode.code == good)) is None
    # Another chat user is not locked out.
    assert wechat.text("oa-someone", f"绑定 {good}").reply is not None


def test_binding_moves_the_chat_account_between_users(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    # One WeChat account, first bound to the volunteer, then to the other volunteer.
    wechat.text("oa-shared", f"绑定 {cast.bind_code(cast.volunteer)}")
    wechat.text("oa-shared", f"绑定 {cast.bind_code(cast.other_volunteer)}")
    with rt.db.read() as session:
        owners = session.scalars(sa.select(User.id).where(User.oa_openid == "oa-shared")).all()
    assert owners == [cast.other_volunteer.id]


def test_bind_code_needs_a_login(client: FlaskClient) -> None:
    response = client.post("/api/v1/bot/bind-code")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


# -- 待办 ---------------------------------------------------------------------------------------------


def test_todo_lists_pending_items_by_role(wechat: WeChatServer, cast: Cast) -> None:
    for person in (cast.secretary, cast.volunteer, cast.resident, cast.sq2_secretary):
        cast.bind(wechat, person)
    first, second, third = (cast.submit(title=t) for t in ("买菜", "修水管", "陪同就医"))
    cast.act(second["id"], "dispatch", cast.secretary, {"volunteer_id": cast.volunteer.id})
    cast.act(third["id"], "dispatch", cast.secretary, {"volunteer_id": cast.volunteer.id})
    cast.act(third["id"], "accept", cast.volunteer)

    secretary = wechat.text(cast.secretary.oa_openid, "待办").reply
    assert secretary is not None
    assert "【待派单】共 1 件" in secretary
    assert first["number"] in secretary
    assert second["number"] not in secretary

    volunteer = wechat.text(cast.volunteer.oa_openid, "todo").reply
    assert volunteer is not None
    assert "【我的任务】共 2 件" in volunteer
    assert f"{second['number']} 已派单" in volunteer
    assert f"{third['number']} 已接单" in volunteer
    assert first["number"] not in volunteer

    resident = wechat.text(cast.resident.oa_openid, "待办").reply
    assert resident is not None
    assert "【我提交的工单】共 3 件" in resident

    # Another community's secretary sees none of SQ1's orders.
    assert wechat.text(cast.sq2_secretary.oa_openid, "待办").reply == "暂无待办事项。"


# -- actions: permissions and errors ------------------------------------------------------------------


def test_a_volunteer_cannot_dispatch_by_chat(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    cast.bind(wechat, cast.volunteer)
    order = cast.submit()
    before = snapshot(rt)
    push = wechat.text(cast.volunteer.oa_openid, f"派单 {order['number']} {cast.volunteer.id}")
    assert push.reply == "只有社区书记或网格员可以派单"
    assert cast.order(order["id"])["status"] == "submitted"
    assert snapshot(rt)["events"] == before["events"]


def test_another_communitys_number_reads_like_an_unknown_one(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    cast.bind(wechat, cast.sq2_secretary)
    cast.bind(wechat, cast.sq2_volunteer)
    cast.submit(title="第一件")
    theirs = cast.submit(title="第二件")  # SQ2 has no order with this number
    cast.act(theirs["id"], "dispatch", cast.secretary, {"pool": True})
    number = theirs["number"]
    unknown = number[:9] + "9999"
    before = snapshot(rt)

    attempts = [
        (cast.sq2_secretary, f"派单 {{}} {cast.sq2_volunteer.id}"),
        (cast.sq2_volunteer, "接单 {}"),  # pooled in SQ1: still not theirs
        (cast.sq2_volunteer, "完成 {}"),
    ]
    for person, template in attempts:
        foreign = wechat.text(person.oa_openid, template.format(number)).reply
        missing = wechat.text(person.oa_openid, template.format(unknown)).reply
        assert foreign == f"找不到单号为 {number} 的工单，请核对后再试。"
        assert missing == f"找不到单号为 {unknown} 的工单，请核对后再试。"
    assert cast.order(theirs["id"])["status"] == "pooled"
    assert snapshot(rt)["events"] == before["events"]


def test_accept_claims_from_the_pool_and_accepts_an_assignment(wechat: WeChatServer, cast: Cast) -> None:
    cast.bind(wechat, cast.volunteer)
    cast.bind(wechat, cast.other_volunteer)
    pooled, assigned = cast.submit(title="公共"), cast.submit(title="指派")
    cast.act(pooled["id"], "dispatch", cast.secretary, {"pool": True})
    cast.act(assigned["id"], "dispatch", cast.secretary, {"volunteer_id": cast.volunteer.id})

    claimed = wechat.text(cast.volunteer.oa_openid, f"接单 {pooled['number']}").reply
    assert claimed is not None
    assert claimed.startswith(f"已接单：{pooled['number']}")
    assert "电话：13812345678" in claimed
    assert "301" in claimed
    late = wechat.text(cast.other_volunteer.oa_openid, f"接单 {pooled['number']}").reply
    assert late == "手慢了，该任务已被其他志愿者认领"
    # Someone else's assignment is not even visible to the other volunteer.
    assert wechat.text(cast.other_volunteer.oa_openid, f"接单 {assigned['number']}").reply == (
        f"找不到单号为 {assigned['number']} 的工单，请核对后再试。"
    )
    accepted = wechat.text(cast.volunteer.oa_openid, f"接单 {assigned['number']}").reply
    assert accepted is not None
    assert accepted.startswith("已接单")
    assert cast.order(pooled["id"])["events"][-1]["action"] == "claim"
    assert cast.order(assigned["id"])["events"][-1]["action"] == "accept"


def test_accepting_again_says_it_is_already_yours(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    """Not "someone was faster" to the volunteer holding it: they hear it is theirs, with the
    address again, and nothing is written."""
    cast.bind(wechat, cast.volunteer)
    cast.bind(wechat, cast.other_volunteer)
    pooled, assigned = cast.submit(title="公共"), cast.submit(title="指派")
    cast.act(pooled["id"], "dispatch", cast.secretary, {"pool": True})
    cast.act(assigned["id"], "dispatch", cast.secretary, {"volunteer_id": cast.volunteer.id})
    for order in (pooled, assigned):
        assert (wechat.text(cast.volunteer.oa_openid, f"接单 {order['number']}").reply or "").startswith("已接单")
    before = snapshot(rt)
    for order in (pooled, assigned):
        again = wechat.text(cast.volunteer.oa_openid, f"接单 {order['number']}").reply or ""
        assert again.startswith(f"您已接下该工单：{order['number']}"), again
        assert "手慢了" not in again
        assert "电话：13812345678" in again
        assert again.endswith(f"完成后请发送「完成 {order['number']}」。")
    # Someone else still learns they were too late.
    late = wechat.text(cast.other_volunteer.oa_openid, f"接单 {pooled['number']}").reply
    assert late == "手慢了，该任务已被其他志愿者认领"
    assert snapshot(rt)["events"] == before["events"]
    # Once the work is done, the holder is told that instead.
    cast.act(pooled["id"], "complete", cast.volunteer)
    done = wechat.text(cast.volunteer.oa_openid, f"接单 {pooled['number']}").reply
    assert done == f"工单 {pooled['number']}「公共」由您接单，已经完成，等待居民评价。"


def test_errors_come_back_as_the_apis_chinese_messages(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    cast.bind(wechat, cast.secretary)
    cast.bind(wechat, cast.volunteer)
    order = cast.submit()
    # Dispatched but not accepted: it cannot be completed yet (409 invalid_transition in the API).
    cast.act(order["id"], "dispatch", cast.secretary, {"volunteer_id": cast.volunteer.id})
    done = wechat.text(cast.volunteer.oa_openid, f"完成 {order['number']}").reply
    assert done == "工单当前状态（已派单）不能完成"
    # Dispatching to someone who is no volunteer of the community (400 invalid_input in the API).
    second = cast.submit()
    bad = wechat.text(cast.secretary.oa_openid, f"派单 {second['number']} {cast.sq2_volunteer.id}").reply
    assert bad == "该志愿者不存在或不属于本社区"
    assert wechat.text(cast.secretary.oa_openid, "派单 20261123").reply == (
        "用法：派单 单号 志愿者编号，例如：派单 20261123-0042 17"
    )
    assert wechat.text(cast.secretary.oa_openid, "完成").reply == "用法：完成 单号，例如：完成 20261123-0042"
    with rt.db.read() as session:
        bot_events = session.scalar(
            sa.select(sa.func.count()).select_from(OrderEvent).where(OrderEvent.channel == "bot")
        )
    assert bot_events == 0


def test_bound_users_get_help_for_unknown_text(wechat: WeChatServer, cast: Cast) -> None:
    cast.bind(wechat, cast.volunteer)
    assert wechat.text(cast.volunteer.oa_openid, "帮助").reply == commands.HELP
    unknown = wechat.text(cast.volunteer.oa_openid, "今天天气怎么样").reply
    assert unknown == "没看懂「今天天气怎么样」。发送「帮助」查看可用的命令。"
