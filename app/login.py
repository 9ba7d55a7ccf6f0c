"""Password sign-in for ``bedflow serve`` (``BEDFLOW_AUTH=basic``): a login page that resists guessing and forgery.

Panel's own basic sign-in is replaced by :class:`PasswordSignIn`, a Panel auth provider whose login page

* checks passwords in constant time (:func:`password_matches`: ``hmac.compare_digest``, and an unknown user
  costs the same comparison as a known one);
* throttles failed sign-ins per user name and per client address (:class:`LoginThrottle`): past the limit
  within the window, the page answers 429 with ``Retry-After`` and checks nothing, right password or not;
* protects its form against cross-site request forgery: the form carries Tornado's ``_xsrf`` token, which must
  match the ``_xsrf`` cookie, or the POST is refused with 403 (so another site cannot sign a browser in to an
  account of its choosing);
* sets every cookie it writes ``HttpOnly`` and ``SameSite=Lax``, and ``Secure`` when the request came over
  https (directly, or through a proxy trusted with ``BEDFLOW_TRUST_PROXY=1`` that says so in
  ``X-Forwarded-Proto``);
* shows only its own messages (an ``?error=`` code picks one): it never echoes text from the URL;
* loads nothing from other hosts.

The user name a session sees (``pn.state.user``) is the one whose password matched: with a users file it is one
of the file's names; with one shared password, whatever name was typed (owners then mean nothing: use a file).
"""

from __future__ import annotations

import hmac
import html
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

from panel.auth import BasicAuthProvider, BasicLoginHandler, _validate_next_url
from panel.io.state import state

from .auth import ThrottlePolicy

log = logging.getLogger("bedflow.signin")

#: Messages the login page can show, by the code in ``?error=``.
MESSAGES = {"invalid": "Wrong user name or password.",
            "throttled": "Too many failed sign-ins: try again in {minutes} min."}
#: The longest user name and password the form takes (longer ones are refused unchecked).
MAX_FIELD = 256


class LoginThrottle:
    """Failed sign-ins in a sliding window, counted per user name (case-insensitive) and per client address.

    :meth:`retry_after` says how long a (user, address) must wait before the next attempt is checked (0: now);
    :meth:`failed` records a failure; :meth:`succeeded` forgets the user's failures (not the address's, so one
    good account does not reset guessing at others from the same address). Bounded memory: at most
    ``max_keys`` users and addresses are remembered (the oldest are forgotten first). Thread-safe.
    """

    def __init__(self, policy: ThrottlePolicy = ThrottlePolicy(), clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000) -> None:
        self.policy, self.clock, self.max_keys = policy, clock, max_keys
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, user: str, address: str) -> list[tuple[tuple[str, str], int]]:
        return [(("user", user.strip().lower()), self.policy.per_user),
                (("address", address), self.policy.per_address)]

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.policy.window:
            times.popleft()
        return times

    def retry_after(self, user: str, address: str) -> float:
        """Seconds until an attempt for ``user`` from ``address`` is checked again; 0 when it is checked now."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key, limit in self._keys(user, address):
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = max(wait, times[len(times) - limit] + self.policy.window - now)
        return wait

    def failed(self, user: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key, _ in self._keys(user, address):
                times = self._recent(key, now)
                times.append(now)
                self._failures.pop(key, None)
                self._failures[key] = times  # newest last: the oldest key is the first to forget
            while len(self._failures) > self.max_keys:
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, user: str, address: str) -> None:
        with self._lock:
            self._failures.pop(("user", user.strip().lower()), None)


#: What a wrong user name is compared with, so that it costs as much as a wrong password.
_NOBODY = "\x00" * 32


def password_matches(credentials: str | Mapping[str, str], user: str, password: str) -> bool:
    """Whether ``password`` signs ``user`` in: ``credentials`` is one shared password (any user name) or a mapping
    of user names to passwords. Constant time in the password (and the same work for unknown users)."""
    if isinstance(credentials, str):
        expected, known = credentials, True
    else:
        known = user in credentials
        expected = credentials.get(user, _NOBODY)
    return hmac.compare_digest(password.encode("utf-8"), expected.encode("utf-8")) and known


class _LoginPage(BasicLoginHandler):
    """The login page (GET) and form (POST). Subclassed per server by :class:`PasswordSignIn` with its settings."""

    credentials: str | Mapping[str, str] = {}
    throttle: LoginThrottle = LoginThrottle()
    login_endpoint: str = "/login"

    def set_cookie(self, name: str, value: str | bytes, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        """Every cookie of the sign-in: HttpOnly, SameSite=Lax, and Secure over https."""
        kwargs.setdefault("httponly", True)
        kwargs.setdefault("samesite", "Lax")
        kwargs["secure"] = bool(kwargs.get("secure")) or self.request.protocol == "https"
        super().set_cookie(name, value, *args, **kwargs)

    def _page(self, code: str = "", status: int = 200, minutes: int = 0) -> None:
        message = MESSAGES.get(code, "").format(minutes=minutes)
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; "
                                                   "form-action 'self'; frame-ancestors 'none'")
        self.set_header("X-Frame-Options", "DENY")
        self.finish(LOGIN_PAGE.format(action=html.escape("." + self.login_endpoint),
                                      xsrf=self.xsrf_form_html(),
                                      message=html.escape(message)))

    def get(self) -> None:
        next_url = _validate_next_url(self.get_argument("next", state.base_url))
        if next_url:
            self.set_cookie("next_url", next_url)
        self._page(self.get_argument("error", ""))

    def post(self) -> None:
        self.check_xsrf_cookie()  # 403 without the form's token matching its cookie
        user = self.get_argument("username", "").strip()
        password = self.get_argument("password", "")
        address = self.request.remote_ip or ""
        wait = self.throttle.retry_after(user, address)
        if wait > 0:
            log.warning("sign-in refused (throttled) for user %r from %s", user[:MAX_FIELD], address)
            self.set_header("Retry-After", str(max(1, int(wait + 0.999))))
            self._page("throttled", status=429, minutes=max(1, int(wait / 60 + 0.999)))
            return
        if user and len(user) <= MAX_FIELD and len(password) <= MAX_FIELD \
                and password_matches(self.credentials, user, password):
            self.throttle.succeeded(user, address)
            self.set_current_user(user)
            log.info("signed in: %r from %s", user, address)
            self.redirect(_validate_next_url(self.get_cookie("next_url", state.base_url)) or "/")
            return
        self.throttle.failed(user, address)
        log.warning("sign-in failed for user %r from %s", user[:MAX_FIELD], address)
        self.redirect(self.login_endpoint.lstrip("/") + "?error=invalid")


class PasswordSignIn(BasicAuthProvider):
    """Panel's basic auth provider with bedflow's login page (see the module docstring); pass it to ``pn.serve``
    as ``auth_provider``."""

    def __init__(self, credentials: str | Mapping[str, str], policy: ThrottlePolicy = ThrottlePolicy(),
                 login_endpoint: str = "/login", logout_endpoint: str = "/logout") -> None:
        self._handler = type("LoginPage", (_LoginPage,), {
            "credentials": credentials, "throttle": LoginThrottle(policy), "login_endpoint": login_endpoint})
        super().__init__(login_endpoint=login_endpoint, logout_endpoint=logout_endpoint)

    @property
    def login_handler(self) -> type[_LoginPage]:
        return self._handler


LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>bedflow: sign in</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f5f7; margin: 0; height: 100vh; display: flex;
       align-items: center; justify-content: center; }}
form {{ background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 2em; width: 320px; }}
h1 {{ font-size: 1.3em; margin: 0 0 1em; }}
input[type=text], input[type=password] {{ width: 100%; box-sizing: border-box; padding: 10px; margin-bottom: 1em;
       border: 1px solid #ccc; border-radius: 4px; }}
button {{ width: 100%; padding: 10px; background: #1f5fa8; color: #fff; border: 0; border-radius: 4px; }}
.error {{ color: #b00020; font-weight: bold; min-height: 1.4em; }}
</style></head>
<body><form action="{action}" method="post">
<h1>bedflow</h1>
<p class="error">{message}</p>
{xsrf}
<input name="username" type="text" autocapitalize="off" autocorrect="off" autocomplete="username"
       placeholder="user name" maxlength="256" required>
<input name="password" type="password" autocomplete="current-password" placeholder="password" maxlength="256"
       required>
<button type="submit">Sign in</button>
</form></body></html>
"""
