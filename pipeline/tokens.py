"""Bearer tokens of the JSON API: made for a user, shown once, kept only as a hash, revocable.

``bedflow token create USER`` (or the dashboard) calls :func:`create_token`, which returns the secret once; the
database keeps its SHA-256 (:class:`~pipeline.db.ApiToken`). A request's ``Authorization: Bearer <secret>`` is
turned back into its user by :func:`authenticate`; the user then owns what the request submits and meets the same
ownership rules as in the dashboard (:func:`pipeline.jobs.control.check_owner`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from .db import ApiToken, utcnow
from .errors import BedflowError
from .runs import Services, open_services
from .text import check_text

#: Every secret starts so (recognisable in a leaked log or a secret scanner), then 43 URL-safe characters.
SECRET_PREFIX = "bft_"
SECRET_PATTERN = re.compile(r"bft_[A-Za-z0-9_-]{43}\Z")
#: Characters of the secret kept in the clear, to tell tokens apart in lists.
SHOWN = 12
#: ``last_used_at`` is written at most this often per token (a busy client does not write on every request).
USE_RESOLUTION = timedelta(minutes=1)
#: The longest lifetime ``--expires`` takes.
MAX_LIFETIME = timedelta(days=3650)


class TokenError(BedflowError):
    """A token cannot be made, found or revoked as asked."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as lists show it (never its secret)."""

    id: int
    user: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > utcnow())

    @classmethod
    def of(cls, row: ApiToken) -> "TokenInfo":
        return cls(id=row.id, user=row.user, name=row.name, prefix=row.prefix, created_at=row.created_at,
                   expires_at=row.expires_at, revoked_at=row.revoked_at, last_used_at=row.last_used_at)

    def to_dict(self) -> dict[str, object]:
        stamp = lambda value: value.isoformat(timespec="seconds") if value else None  # noqa: E731
        return {"id": self.id, "user": self.user, "name": self.name, "prefix": self.prefix,
                "created_at": stamp(self.created_at), "expires_at": stamp(self.expires_at),
                "revoked_at": stamp(self.revoked_at), "last_used_at": stamp(self.last_used_at),
                "active": self.active}


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_user(user: str) -> str:
    """A token's user as ownership compares it: one line, trimmed, lower-case (as sign-in names are compared)."""
    try:
        name = check_text(user.strip(), max_length=200).lower()
    except ValueError as error:
        raise TokenError(f"user: {error}") from None
    if not name:
        raise TokenError("a token needs a user name")
    return name


def create_token(user: str, *, name: str = "", expires_in: timedelta | None = None,
                 services: Services | None = None) -> tuple[TokenInfo, str]:
    """Make a token for ``user`` (valid for ``expires_in``, or until revoked); return it and its secret, which is
    shown this once and never stored."""
    if expires_in is not None and not timedelta(0) < expires_in <= MAX_LIFETIME:
        raise TokenError(f"a token's lifetime is from a second to {MAX_LIFETIME.days} days, got {expires_in}")
    try:
        label = check_text(name.strip(), max_length=200)
    except ValueError as error:
        raise TokenError(f"name: {error}") from None
    found = services or open_services()
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=normalise_user(user), name=label, prefix=secret[:SHOWN],
                   secret_hash=hash_secret(secret), created_at=utcnow(),
                   expires_at=utcnow() + expires_in if expires_in else None)
    with found.db.session() as session:
        session.add(row)
        session.flush()
        info = TokenInfo.of(row)
    return info, secret


def list_tokens(user: str | None = None, *, services: Services | None = None) -> list[TokenInfo]:
    """Every token (of ``user``), newest first."""
    found = services or open_services()
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if user is not None:
        query = query.where(ApiToken.user == normalise_user(user))
    with found.db.session() as session:
        return [TokenInfo.of(row) for row in session.scalars(query)]


def revoke_token(token_id: int, *, by: str = "", services: Services | None = None) -> TokenInfo:
    """Revoke a token from now on. ``by`` (a signed-in user) may revoke only their own; empty: anyone's (the
    operator's CLI)."""
    found = services or open_services()
    with found.db.session() as session:
        row = session.get(ApiToken, token_id)
        if row is None or (by and row.user != normalise_user(by)):
            raise TokenError(f"no token {token_id}" + (f" of {by}" if by else ""))
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return TokenInfo.of(row)


def authenticate(secret: str, *, services: Services | None = None) -> str | None:
    """The user a secret is a live token of, else ``None`` (unknown, malformed, revoked or expired)."""
    if not SECRET_PATTERN.match(secret or ""):
        return None
    digest = hash_secret(secret)
    found = services or open_services()
    now = utcnow()
    with found.db.session() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.secret_hash == digest)).first()
        if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
            return None
        if row.last_used_at is None or now - row.last_used_at > USE_RESOLUTION:
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        return row.user


def parse_lifetime(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m`` or a whole number of days (``30``) as a lifetime."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([dhm]?)\s*", text or "")
    if not match:
        raise TokenError(f"a lifetime is a whole number with d, h or m (30d, 12h, 90m), got {text!r}")
    amount, unit = int(match[1]), match[2] or "d"
    lifetime = {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise TokenError(f"a token's lifetime is from a minute to {MAX_LIFETIME.days} days, got {text!r}")
    return lifetime
