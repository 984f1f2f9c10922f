"""Plays WeChat's server against our callback: loads XML fixtures, signs, seals (AES) and reads
replies. Signing and AES are written here from WeChat's documented format, independently of
wechatpy and of app.bot, so that the two implementations check each other:

- signature = sha1(sorted([token, timestamp, nonce]) joined), msg_signature adds Encrypt;
- key = base64decode(EncodingAESKey + "="), iv = key[:16], AES-256-CBC, PKCS#7 to 32 bytes;
- plaintext = 16 random bytes + len(msg) as 4 bytes big-endian + msg + appid.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xmltodict
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from flask.testing import FlaskClient

TOKEN = "test-oa-token"
#: WeChat's documentation sample key (43 characters).
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OA_APPID = "wxsimofficialacct"
MP_APPID = "wxsimminiprogram"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "wechat"
_BLOCK = 32


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324 - WeChat's algorithm


def cdata(text: str) -> str:
    """``text`` as it may stand inside <![CDATA[…]]> (the section is split at ``]]>``)."""
    return text.replace("]]>", "]]]]><![CDATA[>")


def fixture_names() -> list[str]:
    return sorted(path.stem for path in FIXTURES.glob("*.xml"))


def load_fixture(name: str, **values: str) -> str:
    """A fixture with its ``{{placeholders}}`` filled: to, from, time, msgid, plus ``values``."""
    text = (FIXTURES / f"{name}.xml").read_text(encoding="utf-8")
    defaults = {
        "to": "gh_linli",
        "from": "oa-nobody",
        "time": str(int(time.time())),
        "msgid": str(secrets.randbelow(10**18) + 10**18),
    }
    for key, value in {**defaults, **values}.items():
        text = text.replace("{{" + key + "}}", value)
    assert "{{" not in text, f"unfilled placeholder in {name}"
    return text


def _aes(key: bytes) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def seal(xml: str, *, appid: str = OA_APPID, aes_key: str = AES_KEY) -> str:
    """WeChat's encryption of a push, done by hand."""
    key = base64.b64decode(aes_key + "=")
    message = xml.encode("utf-8")
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + appid.encode("ascii")
    pad = _BLOCK - len(plain) % _BLOCK
    plain += bytes([pad]) * pad
    encryptor = _aes(key).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")


def unseal(encrypted: str, *, aes_key: str = AES_KEY) -> tuple[str, str]:
    """(message, appid) from WeChat's encrypted form, by hand."""
    key = base64.b64decode(aes_key + "=")
    decryptor = _aes(key).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    plain = plain[: -plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20 : 20 + length].decode("utf-8"), plain[20 + length :].decode("ascii")


@dataclass
class Push:
    status: int
    body: str
    #: The text reply's Content; None for "success" or an error.
    reply: str | None
    args: dict[str, str]
    sent: str


class WeChatServer:
    """Posts fixtures to /wechat/callback as WeChat would, in plain or AES safe mode."""

    def __init__(self, client: FlaskClient, *, aes: bool = False, token: str = TOKEN) -> None:
        self.client = client
        self.aes = aes
        self.token = token
        self.mode = "aes" if aes else "plain"

    def signed_args(self, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        ts = timestamp or str(int(time.time()))
        nonce = nonce or secrets.token_hex(8)
        return {"signature": sha1_signature(self.token, ts, nonce), "timestamp": ts, "nonce": nonce}

    def post(
        self,
        xml: str,
        *,
        timestamp: str | None = None,
        nonce: str | None = None,
        appid: str = OA_APPID,
        overrides: dict[str, str] | None = None,
    ) -> Push:
        """Sign (and seal) ``xml`` and post it; ``overrides`` replaces query parameters after signing."""
        args = self.signed_args(timestamp, nonce)
        body = xml
        if self.aes:
            encrypted = seal(xml, appid=appid)
            body = load_fixture("aes__envelope", encrypt=encrypted)
            args["encrypt_type"] = "aes"
            args["msg_signature"] = sha1_signature(self.token, args["timestamp"], args["nonce"], encrypted)
        args.update(overrides or {})
        return self.post_raw(body, args)

    def post_raw(self, body: str | bytes, args: dict[str, str]) -> Push:
        data = body.encode("utf-8") if isinstance(body, str) else body
        response = self.client.post("/wechat/callback", query_string=args, data=data, content_type="text/xml")
        text = response.get_data(as_text=True)
        reply = self._reply(text) if response.status_code == 200 else None
        return Push(response.status_code, text, reply, args, body if isinstance(body, str) else "")

    def _reply(self, text: str) -> str | None:
        if text == "success":
            return None
        outer: dict[str, Any] = xmltodict.parse(text)["xml"]
        if self.aes:
            expected = sha1_signature(self.token, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"])
            assert outer["MsgSignature"] == expected, "reply signature does not verify"
            inner, appid = unseal(outer["Encrypt"])
            assert appid in {OA_APPID, MP_APPID}
            outer = xmltodict.parse(inner)["xml"]
        assert outer["MsgType"] == "text"
        content: str = outer["Content"]
        return content

    # -- conveniences ----------------------------------------------------------------------------

    def text(self, oa_openid: str, content: str, **kwargs: Any) -> Push:
        return self.post(load_fixture("text__command", content=cdata(content), **{"from": oa_openid}), **kwargs)

    def event(
        self, name: str, sender: str, *, appid: str = OA_APPID, values: dict[str, str] | None = None, **kwargs: Any
    ) -> Push:
        """Push fixture ``name`` from ``sender``; ``values`` fill further placeholders (time …)."""
        return self.post(load_fixture(name, **{"from": sender, **(values or {})}), appid=appid, **kwargs)
