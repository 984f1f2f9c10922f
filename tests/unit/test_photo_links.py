"""Photo-link signing without a database or an app: expiry windows, what a token binds, and that
photo links and login tokens never pass for each other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeSerializer

from app.core.errors import UnauthenticatedError
from app.core.ids import MAX_ID
from app.core.tokens import BadSignatureError, LinkExpiredError, PhotoLinkSigner, TokenSigner

KEY = "unit-test-key"
#: 9:10 UTC: ten minutes into a 30-minute window.
AT = datetime(2026, 12, 1, 9, 10, tzinfo=UTC)


def _signer(minutes: int = 30, key: str = KEY) -> PhotoLinkSigner:
    return PhotoLinkSigner(key, minutes=minutes)


@pytest.mark.parametrize(
    ("now", "expires"),
    [
        (datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2026, 12, 1, 9, 30, tzinfo=UTC)),  # on a boundary: 30 min
        (datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC), datetime(2026, 12, 1, 10, 0, tzinfo=UTC)),  # just past: 59:59
        (AT, datetime(2026, 12, 1, 10, 0, tzinfo=UTC)),
        (datetime(2026, 12, 1, 9, 29, 59, tzinfo=UTC), datetime(2026, 12, 1, 10, 0, tzinfo=UTC)),
    ],
)
def test_expiry_is_rounded_up_to_the_window(now: datetime, expires: datetime) -> None:
    assert _signer().expiry(now) == int(expires.timestamp())


@pytest.mark.parametrize("minutes", [1, 7, 30, 1440])
def test_a_link_lives_at_least_one_window_and_less_than_two(minutes: int) -> None:
    signer = _signer(minutes)
    for offset in range(0, 3 * minutes * 60, 97):
        now = AT + timedelta(seconds=offset)
        life = signer.expiry(now) - now.timestamp()
        assert minutes * 60 <= life < 2 * minutes * 60


def test_one_token_per_photo_viewer_and_window() -> None:
    signer = _signer()
    token = signer.mint(1, 8, AT)
    # Windows end on the boundary: 9:30 itself still gets the 10:00 expiry (30 minutes exactly).
    assert signer.mint(1, 8, AT + timedelta(minutes=20)) == token
    assert signer.mint(1, 8, AT + timedelta(minutes=20, seconds=1)) != token  # the next window
    assert signer.mint(1, 9, AT) != token  # another viewer
    assert signer.mint(2, 8, AT) != token  # another photo


def test_check_answers_the_claims() -> None:
    signer = _signer()
    link = signer.check(signer.mint(1, 8, AT), 1, AT)
    assert (link.upload_id, link.viewer_id) == (1, 8)
    assert link.expires_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert signer.check(signer.mint(MAX_ID, MAX_ID, AT), MAX_ID, AT).viewer_id == MAX_ID


def test_expired_at_the_expiry_itself() -> None:
    signer = _signer()
    token = signer.mint(1, 8, AT)
    signer.check(token, 1, datetime(2026, 12, 1, 9, 59, 59, tzinfo=UTC))
    with pytest.raises(LinkExpiredError) as expired:
        signer.check(token, 1, datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    assert (expired.value.code, expired.value.http_status) == ("link_expired", 403)


def test_the_photo_id_is_bound() -> None:
    signer = _signer()
    with pytest.raises(BadSignatureError) as refused:
        signer.check(signer.mint(1, 8, AT), 2, AT)
    assert (refused.value.code, refused.value.http_status) == ("bad_signature", 403)


def test_a_shorter_window_does_not_cut_links_already_given() -> None:
    """The expiry is in the signed claims, so changing ``uploads.link_minutes`` (or restarting)
    leaves the links in answers already sent valid until their own expiry."""
    token = _signer(60).mint(1, 8, AT)
    assert _signer(5).check(token, 1, AT + timedelta(minutes=100)).viewer_id == 8


def test_another_key_is_refused() -> None:
    with pytest.raises(BadSignatureError):
        _signer(key="another key").check(_signer().mint(1, 8, AT), 1, AT)


@pytest.mark.parametrize(
    "payload",
    [
        [1, 8],
        [1, 8, 1796119200, 0],
        {"u": 1, "v": 8, "e": 1796119200},
        [0, 8, 1796119200],
        [1, -8, 1796119200],
        [1, 2**63, 1796119200],
        [True, 8, 1796119200],
        [1, 8, "1796119200"],
        [1, 8, 1796119200.5],
        "1",
    ],
)
def test_odd_claims_under_the_right_key_are_refused(payload: object) -> None:
    """Only PhotoLinkSigner signs under its salt; should anything else ever do (a bug, a leaked
    key), an odd value is refused before it reaches a query."""
    forged = URLSafeSerializer(KEY, salt="linli.photo-link.v1").dumps(payload)
    with pytest.raises(BadSignatureError):
        _signer().check(forged, 1, AT)


def test_photo_links_and_login_tokens_do_not_cross() -> None:
    tokens = TokenSigner(KEY, ttl_seconds=3600)
    links = _signer()
    with pytest.raises(UnauthenticatedError):
        tokens.verify(links.mint(1, 8, AT))
    with pytest.raises(BadSignatureError):
        links.check(tokens.issue(1, 0), 1, AT)


def test_a_window_under_a_minute_is_refused() -> None:
    with pytest.raises(ValueError, match="minute"):
        PhotoLinkSigner(KEY, minutes=0)
