"""Our own signed tokens: API bearer tokens (WeChat's session_key never leaves the server) and the
signed, expiring photo links that ``<image src>`` can load without an Authorization header.

Both are signed with the one configured key, each under a salt of its own: itsdangerous derives a
separate key per salt, so a photo link never verifies as a login token, nor a token as a link.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from app.core.errors import ForbiddenError, TokenExpiredError, UnauthenticatedError
from app.core.ids import is_db_id

# Salts name a purpose and are no secret; a new version in one retires every token of that kind.
_TOKEN_SALT = "linli.api-token.v1"  # noqa: S105 - a salt, not a password
_PHOTO_LINK_SALT = "linli.photo-link.v1"
#: Longest token id accepted from a token; ours are 16 characters (12 random bytes, base64url).
MAX_TOKEN_ID_LENGTH = 32


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    #: Must equal the user's current ``token_generation``; bumping it revokes older tokens.
    generation: int
    #: This token's own id (jti), which logging out of one device revokes; None for tokens issued
    #: before tokens had ids (those can only be revoked all at once, by the generation).
    token_id: str | None
    #: When it was signed: a revocation must be kept until ``issued_at`` + the lifetime.
    issued_at: datetime


class TokenSigner:
    """Issue and verify bearer tokens signed with the configured key."""

    def __init__(self, secret_key: str, *, ttl_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=_TOKEN_SALT)
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: int, generation: int) -> str:
        # A random id per token lets one device log out without logging out the others.
        return self._serializer.dumps({"u": user_id, "g": generation, "j": secrets.token_urlsafe(12)})

    def verify(self, token: str) -> TokenClaims:
        """Raise TokenExpiredError for an expired token, UnauthenticatedError for anything else wrong."""
        try:
            payload, signed_at = self._serializer.loads(token, max_age=self.ttl_seconds, return_timestamp=True)
        except SignatureExpired as exc:
            raise TokenExpiredError() from exc
        except BadSignature as exc:
            raise UnauthenticatedError("登录凭证无效，请重新登录") from exc
        # A subject outside the id range names no user; refused here, it never reaches the lookup
        # (where the driver would fail on it with a 500).
        if not isinstance(payload, dict) or not is_db_id(payload.get("u")) or not isinstance(payload.get("g"), int):
            raise UnauthenticatedError("登录凭证无效，请重新登录")
        token_id = payload.get("j")
        if token_id is not None and not (isinstance(token_id, str) and 0 < len(token_id) <= MAX_TOKEN_ID_LENGTH):
            raise UnauthenticatedError("登录凭证无效，请重新登录")
        return TokenClaims(user_id=payload["u"], generation=payload["g"], token_id=token_id, issued_at=signed_at)


class BadSignatureError(ForbiddenError):
    """A photo link that this server did not sign as it stands: altered, cut short, or signed for
    another photo. Asking again will not help; a fresh answer (the order, the upload) gives a new link."""

    code = "bad_signature"
    default_message = "照片链接无效，请刷新页面后重试"


class LinkExpiredError(ForbiddenError):
    """A genuine photo link past its expiry: the mini-program reloads the answer it came from."""

    code = "link_expired"
    default_message = "照片链接已过期，请刷新页面"


@dataclass(frozen=True, slots=True)
class PhotoLink:
    """What a valid photo link says: which photo, minted for whom, valid until when."""

    upload_id: int
    #: The user the link was minted for; the photo rule is checked for them again at each fetch.
    viewer_id: int
    expires_at: datetime


class PhotoLinkSigner:
    """Mint and check photo-link tokens: (upload id, viewer id, expiry), signed.

    The expiry is in the signed payload and checked against the caller's ``now`` (the project's
    clock) rather than itsdangerous' own timestamp, because it must be chosen, not merely
    recorded: see :meth:`expiry`.
    """

    def __init__(self, secret_key: str, *, minutes: int) -> None:
        if minutes < 1:
            raise ValueError("a photo link must live at least a minute")
        self._serializer = URLSafeSerializer(secret_key, salt=_PHOTO_LINK_SALT)
        self.window_seconds = minutes * 60

    def expiry(self, now: datetime) -> int:
        """When a link minted at ``now`` expires, in Unix seconds: ``now`` plus the window, rounded
        up to the next multiple of the window.

        Rounding makes every link to one photo for one viewer the same string for a whole window,
        so the mini-program's image cache (keyed by URL) keeps a photo across list refreshes
        instead of downloading it again per answer. The price is a lifetime between one and two
        windows instead of exactly one; never less than one, so a page just shown keeps working.
        """
        earliest = int(now.timestamp()) + self.window_seconds
        return -(-earliest // self.window_seconds) * self.window_seconds

    def mint(self, upload_id: int, viewer_id: int, now: datetime) -> str:
        """The token for ``viewer_id`` to fetch ``upload_id``; the same for a whole window."""
        return self._serializer.dumps([upload_id, viewer_id, self.expiry(now)])

    def check(self, token: str, upload_id: int, now: datetime) -> PhotoLink:
        """The link's claims, if ``token`` was signed here for ``upload_id`` and is not past its expiry.

        Raises BadSignatureError (altered, malformed, or another photo's) or LinkExpiredError.
        """
        try:
            payload = self._serializer.loads(token)
        except BadSignature as exc:
            raise BadSignatureError() from exc
        # Only this class signs under its salt, so a payload of another shape means a bug or a
        # leaked key; refuse it rather than let an odd value reach a query.
        if not isinstance(payload, list) or len(payload) != 3:  # noqa: PLR2004 - [upload, viewer, expiry]
            raise BadSignatureError()
        linked_id, viewer_id, expires = payload
        if not (is_db_id(linked_id) and is_db_id(viewer_id) and isinstance(expires, int)):
            raise BadSignatureError()
        if linked_id != upload_id:
            # A genuine link to another photo with this id pasted in: the signature covers the id.
            raise BadSignatureError()
        if expires <= now.timestamp():
            raise LinkExpiredError()
        return PhotoLink(upload_id=linked_id, viewer_id=viewer_id, expires_at=datetime.fromtimestamp(expires, UTC))
