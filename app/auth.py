"""Who may use the dashboard: sign-in for ``bedflow serve``, configured from the environment.

========================== =================================================================
variable                   meaning
========================== =================================================================
BEDFLOW_AUTH               unset/empty: no sign-in (the server then binds to localhost only);
                           ``basic``: Panel's login form, one shared password, any user name;
                           an OAuth provider Panel knows (``github``, ``google``, ``gitlab``,
                           ``azure``, ``okta``, ``auth0``, ``generic``, ...)
BEDFLOW_AUTH_PASSWORD      with ``basic``: the password (at least 12 characters), or the path of a
                           JSON file ``{"user": "password", ...}`` (one password per user); a
                           value that looks like a path (a ``/`` or ``.json``) must be such a file
BEDFLOW_OAUTH_KEY          with OAuth: the client id the provider gave you
BEDFLOW_OAUTH_SECRET       with OAuth: the client secret
BEDFLOW_OAUTH_EXTRA_PARAMS with OAuth, optional: a JSON object of provider settings
                           (e.g. ``{"TOKEN_URL": ..., "AUTHORIZE_URL": ...}`` for ``generic``)
BEDFLOW_OAUTH_REDIRECT_URI with OAuth, optional: the public callback URL (behind a proxy)
BEDFLOW_OAUTH_ENCRYPTION   with OAuth, optional but advised: a Fernet key (``panel oauth-secret``)
                           that encrypts the tokens kept in cookies
BEDFLOW_ALLOWED_USERS      the accounts that may sign in, comma-separated (user names as the
                           provider gives them; case-insensitive); required with OAuth, where
                           any account at the provider could otherwise sign in
BEDFLOW_AUTH_OPEN_TO_ALL   ``1`` with OAuth and no allow-list: let every account at the provider
                           in, deliberately
BEDFLOW_COOKIE_SECRET      required with any sign-in: the secret that signs session cookies,
                           at least 16 characters (``python -c "import secrets;
                           print(secrets.token_urlsafe(32))"``)
BEDFLOW_LOGIN_ATTEMPTS     with ``basic``: failed sign-ins allowed per user name within the
                           window (default 5), and ``BEDFLOW_LOGIN_ADDRESS_ATTEMPTS`` per client
                           address (default 20); past them the login page answers 429
BEDFLOW_LOGIN_WINDOW       seconds those failures are counted over (default 900)
BEDFLOW_TRUST_PROXY        ``1`` behind a reverse proxy that sets ``X-Forwarded-For`` and
                           ``X-Forwarded-Proto``: client addresses (for throttling) and https
                           (for ``Secure`` cookies) are taken from those headers; never set it
                           when clients reach the server directly, or they could forge both
========================== =================================================================

Like the other settings (:mod:`pipeline.settings`), variables already in the environment win over a
``.env`` file in the working folder. There are no default passwords or secrets: anything missing stops
the server with a message (:class:`AuthError`, a :class:`~pipeline.errors.BedflowError`). Once signed in,
a session sees its user name in ``pn.state.user``. With ``basic``, ``/login`` is bedflow's own page
(:mod:`app.login`: constant-time checks, throttling, a CSRF token, ``SameSite``/``Secure`` cookies);
``/logout`` and the OAuth pages are Panel's.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from pipeline.errors import BedflowError

#: The smallest cookie secret accepted (tornado signs cookies with it: a short one can be guessed).
MIN_COOKIE_SECRET = 16
#: The shortest password basic sign-in accepts.
MIN_PASSWORD = 12
#: OAuth providers that need no client id and secret (they check the user on this machine).
_NO_CLIENT = {"pam"}


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failed sign-ins are allowed within ``window`` seconds, per user name and per client address."""

    per_user: int = 5
    per_address: int = 20
    window: float = 900.0


class AuthError(BedflowError):
    """The sign-in settings are incomplete or wrong."""


def oauth_providers() -> list[str]:
    """The OAuth provider names the installed Panel supports."""
    from panel.auth import AUTH_PROVIDERS

    return sorted(AUTH_PROVIDERS)


@dataclass(frozen=True)
class AuthConfig:
    """The sign-in method of the dashboard and its secrets (hidden from ``repr``)."""

    method: str = ""  # "" (none), "basic" or an OAuth provider name
    password: str | None = field(default=None, repr=False)
    oauth_key: str | None = None
    oauth_secret: str | None = field(default=None, repr=False)
    oauth_extra_params: dict[str, Any] = field(default_factory=dict)
    oauth_redirect_uri: str | None = None
    oauth_encryption_key: str | None = field(default=None, repr=False)
    cookie_secret: str | None = field(default=None, repr=False)
    allowed_users: frozenset[str] = frozenset()  # lower-case; empty: everyone who signs in
    open_to_all: bool = False
    throttle: ThrottlePolicy = ThrottlePolicy()
    trust_proxy: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, dotenv: str | Path | None = ".env") -> AuthConfig:
        """Read the ``BEDFLOW_AUTH*``/``BEDFLOW_OAUTH_*``/``BEDFLOW_COOKIE_SECRET`` variables of ``env``
        (default: ``os.environ``) over those of the ``dotenv`` file, like :meth:`pipeline.settings.Settings.from_env`;
        raise :class:`AuthError` listing everything missing or wrong."""
        values: dict[str, str] = {}
        if dotenv is not None and Path(dotenv).is_file():
            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        values.update(os.environ if env is None else env)

        def get(name: str) -> str | None:
            value = values.get(name, "").strip()
            return value or None

        method = (get("BEDFLOW_AUTH") or "").lower()
        if method in ("none", "off", "0", "false", "no"):
            method = ""
        extra: dict[str, Any] = {}
        problems: list[str] = []
        raw_extra = get("BEDFLOW_OAUTH_EXTRA_PARAMS")
        if raw_extra:
            try:
                extra = json.loads(raw_extra)
            except ValueError as error:
                problems.append(f"BEDFLOW_OAUTH_EXTRA_PARAMS is not valid JSON ({error})")
            else:
                if not isinstance(extra, dict):
                    problems.append("BEDFLOW_OAUTH_EXTRA_PARAMS must be a JSON object {\"KEY\": \"value\", ...}")
                    extra = {}
        throttle = _throttle_policy(get, problems)
        config = cls(method=method, password=values.get("BEDFLOW_AUTH_PASSWORD") or None,
                     oauth_key=get("BEDFLOW_OAUTH_KEY"), oauth_secret=get("BEDFLOW_OAUTH_SECRET"),
                     oauth_extra_params=extra, oauth_redirect_uri=get("BEDFLOW_OAUTH_REDIRECT_URI"),
                     oauth_encryption_key=get("BEDFLOW_OAUTH_ENCRYPTION"), cookie_secret=get("BEDFLOW_COOKIE_SECRET"),
                     allowed_users=frozenset(name.strip().lower() for name in (get("BEDFLOW_ALLOWED_USERS") or "")
                                             .split(",") if name.strip()),
                     open_to_all=(get("BEDFLOW_AUTH_OPEN_TO_ALL") or "").lower() in ("1", "true", "yes"),
                     throttle=throttle,
                     trust_proxy=(get("BEDFLOW_TRUST_PROXY") or "").lower() in ("1", "true", "yes"))
        config.check(problems)
        return config

    # -- derived -------------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        """Whether users must sign in."""
        return bool(self.method)

    @property
    def is_oauth(self) -> bool:
        return self.enabled and self.method != "basic"

    def describe(self) -> str:
        """The sign-in method for display (no secrets)."""
        if not self.enabled:
            return "no sign-in"
        method = "password sign-in (basic)" if self.method == "basic" else f"OAuth sign-in ({self.method})"
        if self.allowed_users:
            return f"{method}, {len(self.allowed_users)} allowed account(s)"
        return method + (", open to every account" if self.is_oauth else "")

    # -- checks --------------------------------------------------------------------------------
    def check(self, problems: list[str] | None = None) -> None:
        """Raise :class:`AuthError` if these settings cannot work."""
        problems = list(problems or [])
        if self.enabled:
            if self.method == "basic":
                if not self.password:
                    problems.append("BEDFLOW_AUTH=basic needs BEDFLOW_AUTH_PASSWORD (the password, or a JSON file "
                                    "of user passwords); there is no default password")
                else:
                    problems += _password_problems(self.password)
            else:
                providers = oauth_providers()
                if self.method not in providers:
                    problems.append(f"BEDFLOW_AUTH={self.method!r} is not a sign-in method: use basic or one of "
                                    f"Panel's OAuth providers ({', '.join(providers)})")
                elif self.method not in _NO_CLIENT:
                    problems += [f"BEDFLOW_AUTH={self.method} needs {name} (from the OAuth app you registered "
                                 f"with {self.method})"
                                 for name, value in (("BEDFLOW_OAUTH_KEY", self.oauth_key),
                                                     ("BEDFLOW_OAUTH_SECRET", self.oauth_secret)) if not value]
                if not self.allowed_users and not self.open_to_all:
                    problems.append(f"BEDFLOW_AUTH={self.method} lets every account at {self.method} sign in: set "
                                    "BEDFLOW_ALLOWED_USERS=name,name,... (the accounts that may), or "
                                    "BEDFLOW_AUTH_OPEN_TO_ALL=1 to let anyone with an account in")
                if self.oauth_encryption_key and not _is_fernet_key(self.oauth_encryption_key):
                    problems.append("BEDFLOW_OAUTH_ENCRYPTION must be 32 url-safe base64-encoded bytes "
                                    "(make one with `panel oauth-secret`)")
                elif self.oauth_encryption_key and not _has_cryptography():
                    problems.append("BEDFLOW_OAUTH_ENCRYPTION needs the `cryptography` package, which is not "
                                    "installed (pip install cryptography)")
            if not self.cookie_secret:
                problems.append(f"BEDFLOW_AUTH={self.method} needs BEDFLOW_COOKIE_SECRET, a random secret of at least "
                                f"{MIN_COOKIE_SECRET} characters that signs the session cookies (make one with "
                                "`python -c \"import secrets; print(secrets.token_urlsafe(32))\"`); there is no "
                                "default, so the server will not start without it")
            elif len(self.cookie_secret) < MIN_COOKIE_SECRET:
                problems.append(f"BEDFLOW_COOKIE_SECRET is too short ({len(self.cookie_secret)} characters, at least "
                                f"{MIN_COOKIE_SECRET} needed)")
        if problems:
            raise AuthError("cannot configure sign-in:\n" + "\n".join(f"  {p}" for p in problems))

    # -- for pn.serve --------------------------------------------------------------------------
    def serve_options(self) -> dict[str, Any]:
        """The keyword options of ``pn.serve`` for this sign-in method (empty without sign-in)."""
        if not self.enabled:
            return {}
        proxy = {"use_xheaders": True} if self.trust_proxy else {}
        if self.method == "basic":
            from .login import PasswordSignIn

            return {"auth_provider": PasswordSignIn(self.credentials(), self.throttle), "cookie_secret": self.cookie_secret,
                    **proxy}
        options: dict[str, Any] = {"oauth_provider": self.method, "cookie_secret": self.cookie_secret, **proxy}
        for name in ("oauth_key", "oauth_secret", "oauth_redirect_uri", "oauth_encryption_key"):
            if getattr(self, name):
                options[name] = getattr(self, name)
        if self.oauth_extra_params:
            options["oauth_extra_params"] = dict(self.oauth_extra_params)
        return options

    def credentials(self) -> str | dict[str, str]:
        """With ``basic``: the shared password, or the users file's ``{user: password}`` (read now)."""
        if self.method != "basic" or not self.password:
            raise AuthError("credentials are for BEDFLOW_AUTH=basic with BEDFLOW_AUTH_PASSWORD")
        if _names_a_file(self.password):
            return json.loads(Path(self.password).read_text(encoding="utf-8"))
        return self.password

    def authorize(self, user: str | None) -> bool:
        """Whether the signed-in ``user`` may use the dashboard (the allow-list; no list: everyone signed in)."""
        if not self.allowed_users:
            return True
        return bool(user) and str(user).strip().lower() in self.allowed_users

    def install(self) -> None:
        """What ``pn.serve`` leaves to ``panel serve``: the allow-list as Panel's authorization callback, and the
        Fernet encryption of OAuth tokens in cookies.

        Call in the server process before serving."""
        if self.enabled and self.allowed_users:
            import panel as pn

            pn.config.authorize_callback = lambda user_info: self.authorize(pn.state.user)
        if self.is_oauth and self.oauth_encryption_key:
            import panel as pn
            from cryptography.fernet import Fernet

            key = self.oauth_encryption_key.encode("ascii")
            pn.config.oauth_encryption_key = key
            pn.state.encryption = Fernet(key)


def _password_problems(value: str) -> list[str]:
    """What is wrong with ``BEDFLOW_AUTH_PASSWORD``: a password of at least :data:`MIN_PASSWORD` characters, or a
    readable JSON object of user passwords. Panel takes a value naming no file as the password itself, so an
    unmounted users file would make its path the shared password: a value that looks like a path must be a file."""
    path = Path(value)
    if _names_a_file(value):
        name = "BEDFLOW_AUTH_PASSWORD"
        try:
            users = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            return [f"{name} names the users file {value!r}, which cannot be read ({error.strerror or error}): "
                    "mount it, or set a password (a password cannot contain '/' or end in .json)"]
        except ValueError as error:
            return [f"{name} names {value!r}, which is not valid JSON ({error})"]
        if not (isinstance(users, dict) and users
                and all(isinstance(u, str) and u and isinstance(p, str) for u, p in users.items())):
            return [f"{name} names {value!r}, which must hold a JSON object {{\"user\": \"password\", ...}}"]
        short = sorted(user for user, password in users.items() if len(password) < MIN_PASSWORD)
        if short:
            return [f"{name} names {value!r}, where the password of {', '.join(short)} is under {MIN_PASSWORD} "
                    "characters"]
        return []
    if len(value) < MIN_PASSWORD:
        return [f"BEDFLOW_AUTH_PASSWORD is too short ({len(value)} characters, at least {MIN_PASSWORD} needed)"]
    return []


def _names_a_file(value: str) -> bool:
    """Whether ``BEDFLOW_AUTH_PASSWORD`` is the path of a users file (it looks like one, or one is there)."""
    return Path(value).is_file() or "/" in value or os.sep in value or value.lower().endswith(".json")


def _throttle_policy(get: Any, problems: list[str]) -> ThrottlePolicy:
    """The sign-in throttle of ``BEDFLOW_LOGIN_ATTEMPTS``, ``BEDFLOW_LOGIN_ADDRESS_ATTEMPTS`` and
    ``BEDFLOW_LOGIN_WINDOW`` (whole numbers; problems appended to ``problems``)."""
    default = ThrottlePolicy()
    values: dict[str, float] = {}
    for name, field_name, low, high in (("BEDFLOW_LOGIN_ATTEMPTS", "per_user", 1, 1000),
                                        ("BEDFLOW_LOGIN_ADDRESS_ATTEMPTS", "per_address", 1, 100_000),
                                        ("BEDFLOW_LOGIN_WINDOW", "window", 1, 86_400)):
        raw = get(name)
        if raw is None:
            continue
        if not raw.isdigit() or not low <= int(raw) <= high:
            problems.append(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
            continue
        values[field_name] = int(raw)
    return ThrottlePolicy(**{**default.__dict__, **values})


def _has_cryptography() -> bool:
    try:
        import cryptography.fernet  # noqa: F401
    except ImportError:
        return False
    return True


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False
