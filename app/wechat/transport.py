"""The HTTP session under wechatpy: requests' interface, urllib3's work.

wechatpy 1.8.18 calls ``self._http.request(method, url, params=..., data=..., timeout=...)`` on a
``requests.Session`` and reads the answer as a ``requests.Response``. Measured on the outbox
fan-out (bench/README.md, "outbox_fanout.py"), a keep-alive POST costs about 1.0 ms of CPU through
requests and 0.5 ms through urllib3's pool alone: requests merges settings, runs hooks, builds
cookie jars and a prepared request for every call. The outbox sends one request per message, so
that overhead is half of a send.

``LeanSession`` keeps the ``requests.Session`` type and behaviour that wechatpy and our gateway
rely on (``Response`` objects, ``raise_for_status``, ``requests`` exceptions, the session's
headers) and sends plain calls (no files, no auth, no proxy for the host, no cookies) through one
``urllib3.PoolManager`` directly, without following redirects. Anything else goes to requests'
own path, unchanged.
"""

from __future__ import annotations

import json as jsonlib
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import certifi
import requests
import urllib3
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import SSLError as Urllib3SSLError

#: The keyword arguments the direct path understands; any other sends the call through requests.
_DIRECT_KWARGS = frozenset({"params", "data", "json", "headers", "timeout", "allow_redirects"})


class LeanSession(requests.Session):
    """A ``requests.Session`` whose plain calls skip requests' per-request machinery."""

    def __init__(self, *, pool_maxsize: int) -> None:
        super().__init__()
        self.trust_env = False  # the environment is read once, by the gateway (client.py)
        self._pool_maxsize = pool_maxsize
        self._lock = threading.Lock()
        self._pools, self._pools_verify = self._new_manager(), self.verify
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=pool_maxsize)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def _new_manager(self) -> urllib3.PoolManager:
        return urllib3.PoolManager(
            num_pools=4,
            maxsize=self._pool_maxsize,
            retries=False,
            cert_reqs="CERT_NONE" if self.verify is False else "CERT_REQUIRED",
            ca_certs=self.verify if isinstance(self.verify, str) else certifi.where(),
        )

    def _manager(self) -> urllib3.PoolManager:
        if self._pools_verify != self.verify:  # the gateway set a CA bundle after making us
            with self._lock:
                if self._pools_verify != self.verify:
                    self._pools, self._pools_verify = self._new_manager(), self.verify
        return self._pools

    def _direct(self, url: str, kwargs: Mapping[str, Any]) -> bool:
        if not _DIRECT_KWARGS.issuperset(kwargs) or self.auth is not None or self.cookies or self.cert:
            return False
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or parts.username or parts.password:
            return False
        return not (self.proxies.get(f"{parts.scheme}://{parts.hostname}") or self.proxies.get(parts.scheme))

    def request(  # type: ignore[override] # requests' signature, everything after url as keywords
        self, method: str | bytes, url: str | bytes, **kwargs: Any
    ) -> requests.Response:
        method = method.decode() if isinstance(method, bytes) else method
        url = url.decode() if isinstance(url, bytes) else url
        if not self._direct(url, kwargs):
            return super().request(method, url, **kwargs)
        return self._send_direct(method.upper(), url, **kwargs)

    def _send_direct(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: bytes | str | Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | tuple[float, float] | None = None,
        allow_redirects: bool = True,
    ) -> requests.Response:
        # Redirects are not followed: WeChat's API never answers one, and following one would mean
        # sending a message's POST a second time. A 3xx comes back as it is (not JSON: the gateway
        # calls WeChat unavailable, and the outbox retries later).
        del allow_redirects
        merged = {name: value.decode() if isinstance(value, bytes) else value for name, value in self.headers.items()}
        if headers:
            merged.update(headers)
        body: bytes | None
        if json is not None and data is None:
            body = jsonlib.dumps(json, allow_nan=False).encode("utf-8")
            merged.setdefault("Content-Type", "application/json")
        elif isinstance(data, Mapping):
            body = urlencode(list(data.items()), doseq=True).encode("utf-8")
            merged.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif isinstance(data, str):
            body = data.encode("utf-8")
        else:
            body = data
        if params:
            query = urlencode([(k, v) for k, v in params.items() if v is not None], doseq=True)
            if query:
                url = f"{url}{'&' if '?' in url else '?'}{query}"
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        raw = self._urlopen(method, url, body, merged, urllib3.Timeout(connect=connect, read=read))
        response = requests.Response()
        response.status_code = raw.status
        response.headers = CaseInsensitiveDict(raw.headers)
        response._content = raw.data
        response.reason = raw.reason or ""
        response.url = url
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        return response

    def _urlopen(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: urllib3.Timeout
    ) -> urllib3.BaseHTTPResponse:
        """urllib3's request, its failures raised as the requests exceptions callers catch (mapped
        as requests' HTTPAdapter maps them)."""
        try:
            return self._manager().request(
                method, url, body=body, headers=headers, timeout=timeout, redirect=False, preload_content=True
            )
        except NewConnectionError as exc:  # before ConnectTimeoutError: urllib3 derives it from that
            raise requests.ConnectionError(exc) from exc
        except ConnectTimeoutError as exc:
            raise requests.ConnectTimeout(exc) from exc
        except ReadTimeoutError as exc:
            raise requests.ReadTimeout(exc) from exc
        except Urllib3SSLError as exc:
            raise requests.exceptions.SSLError(exc) from exc
        except MaxRetryError as exc:  # not raised with retries=False; mapped as requests does anyway
            reason = exc.reason
            if isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError):
                raise requests.ConnectTimeout(exc) from exc
            raise requests.ConnectionError(exc) from exc
        except (ProtocolError, OSError) as exc:
            raise requests.ConnectionError(exc) from exc
        except HTTPError as exc:
            raise requests.RequestException(exc) from exc
