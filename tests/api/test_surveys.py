"""物业测评 over HTTP: bad input and other people's surveys first (nothing written), then
answering, the resident's list, the results on a hand-checked month, and the street's flags."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask.testing import FlaskClient

from app.areas.models import AreaKind
from app.areas.tree import create_area
from app.identity.roles import Role
from app.runtime import Runtime
from app.surveys.models import SurveyAnswer, SurveyResponse
from app.surveys.monthly import evaluate_month
from tests.api.test_statement_counts import counting
from tests.factories import Person, make_person
from tests.surveys.estate import Estate, answer, at, dispatched_order, make_estate, open_month, survey_id

GOOD = {"cleaning": 5, "greening": 4, "security": 4, "repairs": 3, "attitude": 5}


@pytest.fixture
def estate(rt: Runtime, client: FlaskClient) -> Estate:
    made = make_estate(rt)
    return replace(
        made,
        sq1=[p.logged_in(client) for p in made.sq1],
        sq2=[p.logged_in(client) for p in made.sq2],
        secretary=made.secretary.logged_in(client),
        street_admin=made.street_admin.logged_in(client),
        staff=made.staff.logged_in(client),
    )


def _written(rt: Runtime) -> tuple[int, int]:
    with rt.db.read() as session:
        responses = session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse))
        answers = session.scalar(sa.select(sa.func.count()).select_from(SurveyAnswer))
    return int(responses or 0), int(answers or 0)


def _post(client: FlaskClient, who: Person, survey: int, body: Any) -> Any:
    # A token issued under the test's clock: one from the real (later) clock would be from the
    # future at the frozen moment, which the token check refuses.
    return client.post(f"/api/v1/surveys/{survey}/responses", json=body, headers=who.logged_in(client).headers)


# -- answering: refusals first ------------------------------------------------------------------------


def test_bad_scores_are_400s_naming_the_field_and_write_nothing(
    rt: Runtime, client: FlaskClient, estate: Estate
) -> None:
    open_month(rt, "2026-12")
    survey = survey_id(rt, estate.sunny, "SQ1", "2026-12")
    resident = estate.sq1[0]
    cases: list[tuple[Any, str]] = [
        ({"scores": {**GOOD, "repairs": 0}}, "scores.repairs"),
        ({"scores": {**GOOD, "repairs": 6}}, "scores.repairs"),
        ({"scores": {**GOOD, "cleaning": "5"}}, "scores.cleaning"),
        ({"scores": {**GOOD, "cleaning": 4.5}}, "scores.cleaning"),
        ({"scores": {**GOOD, "attitude": True}}, "scores.attitude"),
        ({"scores": {k: v for k, v in GOOD.items() if k != "greening"}}, "scores.greening"),
        ({"scores": {**GOOD, "parking": 5}}, "scores.parking"),
        ({"scores": GOOD, "comment": "长" * 201}, "comment"),
        ({}, "scores"),
    ]
    with time_machine.travel(at("2026-12", 2), tick=False):
        for body, field in cases:
            response = _post(client, resident, survey, body)
            assert response.status_code == 400, (body, response.get_json())
            error = response.get_json()["error"]
            assert error["code"] == "invalid_input"
            assert field in [f["field"] for f in error["details"]["fields"]], (field, error)
        assert _post(client, resident, survey, ["not", "an", "object"]).status_code == 400
    assert _written(rt) == (0, 0)


def test_another_communitys_survey_and_unknown_ones_answer_404(
    rt: Runtime, client: FlaskClient, estate: Estate
) -> None:
    open_month(rt, "2026-12")
    sq2_survey = survey_id(rt, estate.sunny, "SQ2", "2026-12")
    sq1_survey = survey_id(rt, estate.sunny, "SQ1", "2026-12")
    homeless = make_person(rt, "no-household").logged_in(client)
    with time_machine.travel(at("2026-12", 2), tick=False):
        theirs = _post(client, estate.sq1[0], sq2_survey, {"scores": GOOD})
        unknown = _post(client, estate.sq1[0], sq2_survey + 1000, {"scores": GOOD})
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.get_json() == unknown.get_json()
        assert _post(client, homeless, sq1_survey, {"scores": GOOD}).status_code == 404
        # Staff of the community who live elsewhere have no household here either.
        assert _post(client, estate.secretary, sq1_survey, {"scores": GOOD}).status_code == 404
        assert client.post(f"/api/v1/surveys/{sq1_survey}/responses", json={"scores": GOOD}).status_code == 401
    assert _written(rt) == (0, 0)


def test_a_closed_survey_and_a_second_answer_are_409s(rt: Runtime, client: FlaskClient, estate: Estate) -> None:
    open_month(rt, "2026-12")
    survey = survey_id(rt, estate.sunny, "SQ1", "2026-12")
    resident = estate.sq1[0]
    with time_machine.travel(at("2026-12", 15), tick=False):  # 14 days after 1 December 09:00
        # Logged in then: a token of today would have expired by the 15th.
        closed = _post(client, resident.logged_in(client), survey, {"scores": GOOD})
    assert closed.status_code == 409
    assert closed.get_json()["error"]["code"] == "survey_closed"
    assert _written(rt) == (0, 0)
    with time_machine.travel(at("2026-12", 2), tick=False):
        first = _post(client, resident, survey, {"scores": GOOD, "comment": "  电梯修得慢 "})
        assert first.status_code == 201, first.get_json()
        answered = first.get_json()["response"]
        assert (answered["scores"], answered["comment"], answered["survey_id"]) == (GOOD, "电梯修得慢", survey)
        again = _post(client, resident, survey, {"scores": {**GOOD, "repairs": 1}})
        assert again.status_code == 409
        assert again.get_json()["error"]["code"] == "already_answered"
    assert _written(rt) == (1, 5)


def test_the_list_shows_open_surveys_of_the_household_answered_or_not(
    rt: Runtime, client: FlaskClient, estate: Estate
) -> None:
    open_month(rt, "2026-11")
    open_month(rt, "2026-12")
    resident = estate.sq1[0]
    with time_machine.travel(at("2026-12", 2), tick=False):
        assert client.get("/api/v1/me/surveys").status_code == 401
        answer(rt, resident, survey_id(rt, estate.anju, "SQ1", "2026-12"), (4, 4, 4, 4, 4), "2026-12")
        listed = client.get("/api/v1/me/surveys", headers=resident.logged_in(client).headers)
        assert listed.status_code == 200
        items = listed.get_json()["items"]
        # November's closed on the 15th; SQ2's is not theirs.
        assert [(i["company"]["name"], i["community"], i["month"], i["answered"]) for i in items] == [
            ("阳光物业", "SQ1", "2026-12", False),
            ("安居物业", "SQ1", "2026-12", True),
        ]
        assert [q["label"] for q in items[0]["questions"]] == [
            "保洁卫生",
            "绿化养护",
            "秩序安保",
            "维修响应",
            "服务态度",
        ]
        assert items[0]["closes_at"] == "2026-12-15T09:00:00+08:00"
        sq2 = client.get("/api/v1/me/surveys", headers=estate.sq2[0].logged_in(client).headers).get_json()["items"]
        assert [(i["company"]["name"], i["answered"]) for i in sq2] == [("阳光物业", False)]
        assert client.get("/api/v1/me/surveys", headers=estate.secretary.logged_in(client).headers).get_json() == {
            "items": []
        }


# -- results ------------------------------------------------------------------------------------------

URL = "/api/v1/property-evaluations"


def test_results_refuse_other_roles_other_areas_and_bad_months(
    rt: Runtime, client: FlaskClient, estate: Estate
) -> None:
    with rt.db.write() as session:
        create_area(session, AreaKind.STREET, "JD2", "红旗街道")
        create_area(session, AreaKind.COMMUNITY, "SQ3", "红旗社区", "JD2")
    other_admin = make_person(rt, "admin-jd2", (Role.STREET_ADMIN, "JD2")).logged_in(client)
    for who in (estate.sq1[0], estate.staff):
        assert client.get(f"{URL}?area=SQ1&month=2026-11", headers=who.headers).status_code == 403
        assert client.get(f"{URL}/flags?area=JD1", headers=who.headers).status_code == 403
    assert client.get(f"{URL}/flags?area=JD1", headers=estate.secretary.headers).status_code == 403
    for who, area in ((estate.secretary, "SQ2"), (estate.secretary, "JD1"), (other_admin, "JD1"), (other_admin, "SQ1")):
        refused = client.get(f"{URL}?area={area}&month=2026-11", headers=who.headers)
        unknown = client.get(f"{URL}?area=NOPE&month=2026-11", headers=who.headers)
        assert refused.status_code == unknown.status_code == 404, (who.openid, area)
    for area in ("JD1", "SQ1", "NOPE"):
        assert client.get(f"{URL}/flags?area={area}", headers=other_admin.headers).status_code == 404
    for month in ("2026-13", "2026-1", "11-2026", "", "２０２６-11"):
        bad = client.get(f"{URL}?area=SQ1&month={month}", headers=estate.secretary.headers)
        assert bad.status_code == 400, month
        assert bad.get_json()["error"]["details"]["fields"][0]["field"] == "month"
    assert client.get(f"{URL}?area=SQ1", headers=estate.secretary.headers).status_code == 400


def _figures(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in ("surveys", "responses", "survey_score", "order_score", "score", "enough", "below")}


def test_a_hand_checked_month_adds_up_from_communities_to_the_company(
    rt: Runtime, client: FlaskClient, estate: Estate
) -> None:
    month = "2026-11"
    open_month(rt, month)
    sunny_sq1 = survey_id(rt, estate.sunny, "SQ1", month)
    answer(rt, estate.sq1[0], sunny_sq1, (5, 5, 5, 5, 5), month, comment="很好")
    answer(rt, estate.sq1[1], sunny_sq1, (4, 3, 4, 2, 5), month)
    answer(rt, estate.sq2[0], survey_id(rt, estate.sunny, "SQ2", month), (3, 3, 3, 3, 3), month)
    answer(rt, estate.sq1[0], survey_id(rt, estate.anju, "SQ1", month), (4, 4, 4, 4, 4), month)
    # 阳光物业's orders in SQ1 in November: one completed and rated 4, one only dispatched; one
    # dispatched in December and one of 安居物业's do not count for it.
    dispatched_order(rt, estate, at(month, 10), company=estate.sunny, rating=4)
    dispatched_order(rt, estate, at(month, 20), company=estate.sunny)
    dispatched_order(rt, estate, at("2026-12", 1, 10), company=estate.sunny, done=True)
    dispatched_order(rt, estate, at(month, 10), company=estate.anju)

    street = client.get(f"{URL}?area=JD1&month={month}", headers=estate.street_admin.headers)
    assert street.status_code == 200, street.get_json()
    body = street.get_json()
    assert (body["threshold"], body["min_responses"]) == (80.0, 5)
    [sunny, anju] = body["companies"]
    assert sunny["company"] == {"id": estate.sunny, "name": "阳光物业"}
    [sq1, sq2] = sunny["by_community"]
    assert sq1["community"] == "SQ1"
    # SQ1: sums 9, 8, 9, 7, 10 over 2 → 4.3 → 82.5; orders 1 of 2 done (50) and a 4 (75) → 62.5;
    # 0.8 × 82.5 + 0.2 × 62.5 = 78.5. Two answers are fewer than 5: not enough, so not below.
    assert _figures(sq1) == {
        "surveys": 1, "responses": 2, "survey_score": 82.5, "order_score": 62.5, "score": 78.5,
        "enough": False, "below": False,
    }  # fmt: skip
    assert sq1["means"] == {"cleaning": 4.5, "greening": 4.0, "security": 4.5, "repairs": 3.5, "attitude": 5.0}
    assert sq1["orders"] == {"dispatched": 2, "completed": 1, "ratings": 1, "completion_rate": 0.5, "mean_rating": 4.0}
    assert _figures(sq2) == {
        "surveys": 1, "responses": 1, "survey_score": 50.0, "order_score": None, "score": 50.0,
        "enough": False, "below": False,
    }  # fmt: skip
    assert sq2["orders"]["dispatched"] == 0
    # The total is the rows' sums: 3 responses, sums 12, 11, 12, 10, 13 → 71.67; 69.83 combined.
    totals = sunny["totals"]
    assert totals["responses"] == sq1["responses"] + sq2["responses"]
    assert totals["orders"]["dispatched"] == sq1["orders"]["dispatched"] + sq2["orders"]["dispatched"]
    assert _figures(totals) == {
        "surveys": 2, "responses": 3, "survey_score": 71.67, "order_score": 62.5, "score": 69.83,
        "enough": False, "below": False,
    }  # fmt: skip
    assert totals["means"] == {"cleaning": 4.0, "greening": 3.67, "security": 4.0, "repairs": 3.33, "attitude": 4.33}
    # 安居物业: all 4s (75) and one order dispatched, not done (0): 0.8 × 75 = 60.
    assert anju["company"]["name"] == "安居物业"
    assert _figures(anju["totals"]) == {
        "surveys": 1, "responses": 1, "survey_score": 75.0, "order_score": 0.0, "score": 60.0,
        "enough": False, "below": False,
    }  # fmt: skip

    # The secretary sees their community only: 阳光物业's SQ1 row is its whole total there.
    mine = client.get(f"{URL}?area=SQ1&month={month}", headers=estate.secretary.headers).get_json()
    [sunny_here, _] = mine["companies"]
    assert sunny_here["by_community"] == [sq1]
    assert _figures(sunny_here["totals"]) == _figures({**sq1, "surveys": 1})
    # A month with nothing in it is an empty list, not an error.
    empty = client.get(f"{URL}?area=SQ1&month=2025-01", headers=estate.secretary.headers)
    assert (empty.status_code, empty.get_json()["companies"]) == (200, [])


def test_the_street_lists_its_flags_with_both_months(rt: Runtime, client: FlaskClient) -> None:
    estate = make_estate(rt, sq1=5, sq2=0)
    admin = estate.street_admin.logged_in(client)
    for month in ("2026-10", "2026-11"):
        open_month(rt, month)
        for resident in estate.sq1:
            answer(rt, resident, survey_id(rt, estate.sunny, "SQ1", month), (3, 3, 3, 4, 3), month)
    assert client.get(f"{URL}/flags?area=JD1", headers=admin.headers).get_json() == {"items": []}
    assert evaluate_month(rt, "2026-11", at("2026-12")) == 1
    listed = client.get(f"{URL}/flags?area=JD1", headers=admin.headers)
    assert listed.status_code == 200
    [flag] = listed.get_json()["items"]
    assert (flag["street"], flag["month"], flag["company"]["name"]) == ("JD1", "2026-11", "阳光物业")
    assert sorted(flag["evidence"]) == ["2026-10", "2026-11"]
    # All 3 but repairs 4: means 3, 3, 3, 4, 3 → 3.2 → 55.
    assert [flag["evidence"][m]["score"] for m in ("2026-10", "2026-11")] == [55.0, 55.0]
    assert flag["created_at"] == "2026-12-01T09:00:00+08:00"
    # The community's view of the same month says it was below too.
    result = client.get(f"{URL}?area=JD1&month=2026-11", headers=admin.headers).get_json()
    assert result["companies"][0]["totals"]["below"] is True


def test_results_cost_the_same_statements_for_few_and_many_answers(rt: Runtime, client: FlaskClient) -> None:
    estate = make_estate(rt, sq1=6, sq2=0)
    admin = estate.street_admin.logged_in(client)
    open_month(rt, "2026-11")

    def cost() -> int:
        with counting(rt) as statements:
            response = client.get(f"{URL}?area=JD1&month=2026-11", headers=admin.headers)
        assert response.status_code == 200
        return len(statements)

    answer(rt, estate.sq1[0], survey_id(rt, estate.sunny, "SQ1", "2026-11"), (4, 4, 4, 4, 4), "2026-11")
    few = cost()
    for resident in estate.sq1[1:]:
        for company in (estate.sunny, estate.anju):
            answer(rt, resident, survey_id(rt, company, "SQ1", "2026-11"), (2, 3, 4, 5, 1), "2026-11")
    dispatched_order(rt, estate, at("2026-11", 5), company=estate.sunny, rating=5)
    assert cost() == few
