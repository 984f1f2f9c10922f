"""One consent path per deployment (``notify.consent_from``): an acceptance reported both by the
mini-program (POST /subscriptions) and by WeChat's push counts once; refusals in pushes always
clear grants; pushes from the Official Account find their user by OA openid or by unionid."""

from __future__ import annotations

import itertools
import time

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.identity.models import User
from app.notify.models import SubscriptionGrant
from app.runtime import Runtime
from miniprogram_api import create_app
from tests.bot.conftest import EVENTS_CONSENT, Cast, Person, grants_of, server_with
from tests.bot.wechat_server import MP_APPID, OA_APPID, WeChatServer
from tests.conftest import runtime_with
from wechat_sim import SimulatorServer

ACCEPT = "subscribe_msg_popup_event__one_template"  # accept order_dispatched
REJECT = "subscribe_msg_change_event__reject"  # reject order_dispatched
_SECONDS = itertools.count(int(time.time()))


def _report(client: FlaskClient, person: Person, *keys: str) -> dict[str, int]:
    response = client.post("/api/v1/subscriptions", json={"accepted": list(keys)}, headers=person.headers)
    assert response.status_code == 200, response.get_json()
    remaining: dict[str, int] = response.get_json()["remaining"]
    return remaining


def _push(wechat: WeChatServer, name: str, sender: str, *, appid: str = MP_APPID) -> None:
    push = wechat.event(name, sender, appid=appid, values={"time": str(next(_SECONDS))})
    assert (push.status, push.body) == (200, "success")


@pytest.fixture
def events_client(rt: Runtime) -> FlaskClient:
    """The API of a deployment that counts acceptances from WeChat's pushes."""
    app = create_app(runtime=runtime_with(rt, **EVENTS_CONSENT))
    app.testing = True
    return app.test_client()


def test_api_mode_counts_the_report_and_not_the_push(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    volunteer = cast.volunteer
    assert _report(cast.client, volunteer, "order_dispatched") == {"order_dispatched": 1}
    _push(wechat, ACCEPT, volunteer.openid)  # the same acceptance, pushed by WeChat
    assert grants_of(rt, volunteer) == {"order_dispatched": 1}
    _push(wechat, REJECT, volunteer.openid)  # a refusal counts in every mode
    assert grants_of(rt, volunteer) == {"order_dispatched": 0}


def test_events_mode_counts_the_push_and_not_the_report(
    wechat: WeChatServer, cast: Cast, rt: Runtime, events_client: FlaskClient
) -> None:
    volunteer = cast.volunteer
    events = server_with(wechat, **EVENTS_CONSENT)
    # The page reports first: nothing added, the remaining grants answered as they are.
    assert _report(events_client, volunteer, "order_dispatched") == {}
    _push(events, ACCEPT, volunteer.openid)
    assert grants_of(rt, volunteer) == {"order_dispatched": 1}
    # Reporting again still adds nothing and answers what is left.
    assert _report(events_client, volunteer, "order_dispatched") == {"order_dispatched": 1}
    _push(events, REJECT, volunteer.openid)
    assert grants_of(rt, volunteer) == {"order_dispatched": 0}


def test_events_mode_still_refuses_unknown_keys(cast: Cast, rt: Runtime, events_client: FlaskClient) -> None:
    response = events_client.post(
        "/api/v1/subscriptions", json={"accepted": ["no_such_key"]}, headers=cast.volunteer.headers
    )
    assert response.status_code == 400
    assert grants_of(rt, cast.volunteer) == {}


def test_a_push_from_the_official_account_finds_its_user(
    wechat: WeChatServer, cast: Cast, rt: Runtime, simulator: SimulatorServer
) -> None:
    events = server_with(wechat, **EVENTS_CONSENT)
    # Bound by code: found by users.oa_openid.
    cast.bind(wechat, cast.secretary)
    _push(events, ACCEPT, cast.secretary.oa_openid, appid=OA_APPID)
    assert grants_of(rt, cast.secretary) == {"order_dispatched": 1}
    # Not bound: found by the unionid user/info answers, and bound on the way.
    _push(events, ACCEPT, cast.volunteer.oa_openid, appid=OA_APPID)
    assert grants_of(rt, cast.volunteer) == {"order_dispatched": 1}
    with rt.db.read() as session:
        bound = session.scalar(sa.select(User.oa_openid).where(User.id == cast.volunteer.id))
    assert bound == cast.volunteer.oa_openid
    # WeChat cannot say who it is: ignored, answered, nobody's grants move.
    simulator.state.inject_fault("/cgi-bin/user/info", http_status=500)
    _push(events, ACCEPT, cast.resident.oa_openid, appid=OA_APPID)
    # A follower without unionid, and one whose person has no account: ignored too.
    _push(events, ACCEPT, "wx-no-union", appid=OA_APPID)
    _push(events, ACCEPT, "oa-nobody-here", appid=OA_APPID)
    assert grants_of(rt, cast.resident) == {}
    assert grants_of(rt, cast.other_volunteer) == {}


def test_a_deleted_users_pushes_are_ignored(wechat: WeChatServer, cast: Cast, rt: Runtime, client: FlaskClient) -> None:
    events = server_with(wechat, **EVENTS_CONSENT)
    volunteer = cast.volunteer
    assert client.delete("/api/v1/me", headers=volunteer.headers).status_code == 204
    _push(events, ACCEPT, volunteer.openid)
    _push(events, ACCEPT, volunteer.oa_openid, appid=OA_APPID)
    with rt.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SubscriptionGrant)) == 0
