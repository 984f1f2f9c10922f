"""What Linli asks of WeChat, as a Protocol, with the plain values that cross it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class CodeSession:
    """The answer of jscode2session. ``session_key`` must never leave the server."""

    openid: str
    session_key: str
    unionid: str | None


@dataclass(frozen=True, slots=True)
class Follower:
    """An Official Account follower as ``cgi-bin/user/info`` describes them. ``unionid`` is None
    unless the account is bound to the Open Platform account that the mini-program is bound to."""

    openid: str
    subscribed: bool
    unionid: str | None


class Verdict(StrEnum):
    """msgSecCheck v2's ``result.suggest``."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    REVIEW = "review"
    RISKY = "risky"


class WeChatGateway(Protocol):
    """Every WeChat call Linli makes. Each raises a subclass of ``app.wechat.errors.WeChatError``."""

    def code_to_session(self, code: str) -> CodeSession:
        """Exchange a ``wx.login`` code for the user's openid (mini-program)."""
        ...

    def get_phone_number(self, code: str) -> str:
        """Exchange a ``getPhoneNumber`` code for the user's phone number (mini-program)."""
        ...

    def check_text(self, content: str, *, openid: str, scene: int = 2) -> Verdict:
        """Content security (msgSecCheck v2) for user-generated text."""
        ...

    def send_subscribe_message(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, Any],
        *,
        page: str | None = None,
        miniprogram_state: str | None = None,
    ) -> None:
        """A mini-program subscribe message; needs a one-time grant from the user."""
        ...

    def send_template_message(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, Any],
        *,
        url: str | None = None,
        page: str | None = None,
        client_msg_id: str | None = None,
    ) -> str | None:
        """An Official Account template message to a follower; ``page`` opens the mini-program.
        Answers WeChat's msgid, which its delivery receipt (TEMPLATESENDJOBFINISH) names."""
        ...

    def send_customer_service_text(self, openid: str, text: str) -> None:
        """A customer-service text (客服消息) to a follower who wrote in the last 48 hours."""
        ...

    def get_follower(self, oa_openid: str) -> Follower:
        """Who an Official Account openid is (``user/info``): following or not, and the unionid
        that names the same person in the mini-program."""
        ...

    def send_robot_message(self, key: str, payload: Mapping[str, Any]) -> None:
        """A WeCom group robot message (text or markdown)."""
        ...

    def create_menu(self, menu: Mapping[str, Any]) -> None:
        """Replace the Official Account's custom menu (``{"button": [...]}``)."""
        ...
