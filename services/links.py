"""Signed, expiring links to the web companion: no passwords, the link is the key.

A link carries a `Grant` (the member it was handed to, the server it was handed out in, a
job when it opens only that job's page, when it was issued and when it expires) and an
HMAC-SHA256 of it under the deployment's secret (IMAGINEBOT_WEB_SECRET). Anything changed
in the link breaks the signature. Checking a grant against bans and deletions is the web
companion's, on every request (services.gallery).

Pure: no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

DEFAULT_TTL_S = 24 * 3600


class LinkRefused(Exception):
    """A link whose signature does not match (tampered or from another deployment) or that
    has expired; the message says which, for the 403 page."""


@dataclass(frozen=True)
class Grant:
    member: int
    guild: int | None  # None: handed out in a direct message
    job: int | None  # a job page link: that job only; None: the member's gallery too
    issued: int  # unix seconds
    expires: int

    def encode(self) -> str:
        fields = (self.member, self.guild or 0, self.job or 0, self.issued, self.expires)
        return ".".join(map(str, fields))

    @classmethod
    def decode(cls, text: str) -> Grant:
        member, guild, job, issued, expires = (int(part) for part in text.split("."))
        return cls(member, guild or None, job or None, issued, expires)


class Links:
    """Makes and checks the links of one deployment (its secret, public URL and link life)."""

    def __init__(
        self,
        secret: str,
        base_url: str,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("IMAGINEBOT_WEB_SECRET must be at least 16 characters")
        self._key = secret.encode()
        self.base_url = base_url.rstrip("/")
        self.ttl_s = ttl_s
        self.clock = clock

    def grant(self, member: int, guild: int | None, job: int | None = None) -> Grant:
        now = int(self.clock())
        return Grant(member, guild, job, now, now + int(self.ttl_s))

    def token(self, grant: Grant) -> str:
        payload = grant.encode().encode()
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()
        return f"{_b64(payload)}.{_b64(mac)}"

    def check(self, token: str) -> Grant:
        """The grant a token carries; LinkRefused if it was altered or has expired."""
        try:
            payload_text, mac_text = token.split(".")
            payload, mac = _unb64(payload_text), _unb64(mac_text)
            expected = hmac.new(self._key, payload, hashlib.sha256).digest()
            if not hmac.compare_digest(mac, expected):
                raise ValueError("bad signature")
            grant = Grant.decode(payload.decode())
        except (ValueError, UnicodeDecodeError):
            raise LinkRefused("This link is not valid: it was changed or cut short.") from None
        if self.clock() >= grant.expires:
            raise LinkRefused("This link has expired: ask the bot for a new one with /web.")
        return grant

    def job_url(self, job_id: int, grant: Grant) -> str:
        return f"{self.base_url}/jobs/{job_id}?t={quote(self.token(grant))}"

    def region_url(self, job_id: int, grant: Grant) -> str:
        """The Vary (Region) editor of a job's image."""
        return f"{self.base_url}/jobs/{job_id}/region?t={quote(self.token(grant))}"

    def csrf(self, token: str) -> str:
        """The value a page's form must send back with `token` (a POST forged elsewhere
        cannot know it)."""
        return _b64(hmac.new(self._key, b"csrf:" + token.encode(), hashlib.sha256).digest())

    def gallery_url(self, grant: Grant) -> str:
        return f"{self.base_url}/gallery?t={quote(self.token(grant))}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
