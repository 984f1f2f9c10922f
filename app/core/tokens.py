"""Our own signed, expiring API tokens (WeChat's session_key never leaves the server)."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.core.errors import TokenExpiredError, UnauthenticatedError
from app.core.ids import is_db_id


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    #: Must equal the user's current ``token_generation``; bumping it revokes older tokens.
    generation: int


class TokenSigner:
    """Issue and verify bearer tokens signed with the configured key."""

    def __init__(self, secret_key: str, *, ttl_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="linli.api-token.v1")
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: int, generation: int) -> str:
        return self._serializer.dumps({"u": user_id, "g": generation})

    def verify(self, token: str) -> TokenClaims:
        """Raise TokenExpiredError for an expired token, UnauthenticatedError for anything else wrong."""
        try:
            payload = self._serializer.loads(token, max_age=self.ttl_seconds)
        except SignatureExpired as exc:
            raise TokenExpiredError() from exc
        except BadSignature as exc:
            raise UnauthenticatedError("登录凭证无效，请重新登录") from exc
        # A subject outside the id range names no user; refused here, it never reaches the lookup
        # (where the driver would fail on it with a 500).
        if not isinstance(payload, dict) or not is_db_id(payload.get("u")) or not isinstance(payload.get("g"), int):
            raise UnauthenticatedError("登录凭证无效，请重新登录")
        return TokenClaims(user_id=payload["u"], generation=payload["g"])
