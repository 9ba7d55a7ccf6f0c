"""Password sign-in (``BEDFLOW_AUTH=basic``, :mod:`app.login`): constant-time checks, throttling per user and per
address, a CSRF token on the form, HttpOnly/SameSite/Secure cookies, no text echoed from the URL.

The served tests talk HTTP to a real ``bedflow serve`` (no browser: what is checked is what the server answers).
"""

from __future__ import annotations

import pytest
from conftest import Browser, cookies

from app.auth import AuthConfig, AuthError, ThrottlePolicy
from app.login import LoginThrottle, password_matches

COOKIE_SECRET = "test-cookie-secret-0123456789abcdef"
PASSWORD = "correct horse battery staple"
BASIC = {"BEDFLOW_AUTH": "basic", "BEDFLOW_AUTH_PASSWORD": PASSWORD, "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_throttle_counts_failures_per_user_and_per_address_in_a_sliding_window():
    clock = Clock()
    throttle = LoginThrottle(ThrottlePolicy(per_user=3, per_address=5, window=60), clock=clock)
    for _ in range(3):
        assert throttle.retry_after("Ana", "10.0.0.1") == 0
        throttle.failed("Ana", "10.0.0.1")
        clock.now += 1
    assert throttle.retry_after("ana", "10.0.0.9") == pytest.approx(60 - 3)  # the user, from anywhere, any case
    assert throttle.retry_after("rui", "10.0.0.1") == 0  # the address has 2 more
    throttle.failed("rui", "10.0.0.1")
    throttle.failed("eve", "10.0.0.1")
    assert throttle.retry_after("zoe", "10.0.0.1") > 0  # 5 failures from one address, over three names
    assert throttle.retry_after("zoe", "10.0.0.2") == 0
    clock.now += 60
    assert throttle.retry_after("ana", "10.0.0.9") == 0  # the window slid past the first failures
    throttle.succeeded("rui", "10.0.0.1")
    assert throttle.retry_after("rui", "10.0.0.3") == 0


def test_the_throttle_remembers_a_bounded_number_of_names():
    throttle = LoginThrottle(ThrottlePolicy(per_user=1, per_address=10**6, window=60), max_keys=100)
    for k in range(1000):
        throttle.failed(f"user{k}", "10.0.0.1")
    assert len(throttle._failures) <= 100
    assert throttle.retry_after("user999", "10.0.0.2") > 0  # the newest are kept


def test_passwords_match_exactly_for_the_right_user_only():
    assert password_matches(PASSWORD, "anyone", PASSWORD)
    assert not password_matches(PASSWORD, "anyone", PASSWORD[:-1])
    assert not password_matches(PASSWORD, "anyone", PASSWORD + " ")
    users = {"ana": PASSWORD, "rui": "another long password"}
    assert password_matches(users, "ana", PASSWORD) and not password_matches(users, "rui", PASSWORD)
    assert not password_matches(users, "eve", PASSWORD) and not password_matches(users, "eve", "\x00" * 32)
    assert password_matches({"zoé": "pässwörd with ümlauts"}, "zoé", "pässwörd with ümlauts")


def test_throttle_settings_are_read_and_checked():
    config = AuthConfig.from_env({**BASIC, "BEDFLOW_LOGIN_ATTEMPTS": "3", "BEDFLOW_LOGIN_WINDOW": "60",
                                  "BEDFLOW_TRUST_PROXY": "1"}, dotenv=None)
    assert config.throttle == ThrottlePolicy(per_user=3, per_address=20, window=60) and config.trust_proxy
    assert config.serve_options()["use_xheaders"] is True
    with pytest.raises(AuthError, match="BEDFLOW_LOGIN_ATTEMPTS must be a whole number from 1 to 1000"):
        AuthConfig.from_env({**BASIC, "BEDFLOW_LOGIN_ATTEMPTS": "0"}, dotenv=None)
    with pytest.raises(AuthError, match="BEDFLOW_LOGIN_WINDOW"):
        AuthConfig.from_env({**BASIC, "BEDFLOW_LOGIN_WINDOW": "1e9"}, dotenv=None)


# -- against a served app ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_login_form_needs_its_csrf_token_and_sets_strict_cookies(served_app):
    served = served_app(env=BASIC)
    anonymous = Browser(served.url)
    # a forged form (another site posting to /login) carries no token: refused before any password is checked
    status, _, _ = anonymous.request("/login", {"username": "ana", "password": PASSWORD})
    assert status == 403
    token, headers = anonymous.login_form()
    stranger = Browser(served.url)  # a token from another browser's page does not match this one's cookie
    assert stranger.request("/login", {"_xsrf": token, "username": "ana", "password": PASSWORD})[0] == 403
    xsrf = cookies(headers)["_xsrf"]
    assert "HttpOnly" in xsrf and "SameSite=Lax" in xsrf and "Secure" not in xsrf  # plain http: no Secure

    status, headers, _ = anonymous.request("/login", {"_xsrf": token, "username": "ana", "password": PASSWORD})
    assert status == 302 and dict(headers)["Location"] == "/"
    user = cookies(headers)["user"]
    assert "HttpOnly" in user and "SameSite=Lax" in user
    assert anonymous.request("/")[0] == 200  # signed in

    # the error message is the server's own, never text from the URL
    status, _, page = Browser(served.url).request("/login?error=%3Cscript%3Ealert(1)%3C/script%3ECall+us")
    assert status == 200 and "alert" not in page and "Call us" not in page
    assert "Content-Security-Policy" in served.get("/login")[1]
    assert "Traceback" not in served.log()


@pytest.mark.slow
def test_failed_sign_ins_are_throttled_per_user_and_per_address(served_app):
    served = served_app(env={**BASIC, "BEDFLOW_LOGIN_ATTEMPTS": "3", "BEDFLOW_LOGIN_ADDRESS_ATTEMPTS": "5"})
    guesser = Browser(served.url)
    for _ in range(3):
        status, headers, _ = guesser.sign_in("ana", "wrong password guess")
        assert status == 302 and dict(headers)["Location"].endswith("login?error=invalid")
    status, headers, page = guesser.sign_in("ana", PASSWORD)  # the right password, but too late
    assert status == 429 and int(dict(headers)["Retry-After"]) > 800, headers
    assert "Too many failed sign-ins" in page and "user" not in cookies(headers)
    assert Browser(served.url).sign_in("ANA", PASSWORD)[0] == 429  # the name is throttled from any browser
    # the address: two more failures for other names reach its limit of 5
    for name in ("rui", "eve"):
        assert guesser.sign_in(name, "wrong password guess")[0] == 302
    assert Browser(served.url).sign_in("zoe", PASSWORD)[0] == 429
    assert "sign-in failed for user 'ana'" in served.log() and PASSWORD not in served.log()


@pytest.mark.slow
def test_behind_a_trusted_proxy_cookies_are_secure_and_addresses_come_from_its_headers(served_app):
    direct = served_app(env={**BASIC, "BEDFLOW_LOGIN_ADDRESS_ATTEMPTS": "2"})
    _, headers = Browser(direct.url).login_form({"X-Forwarded-Proto": "https"})
    assert "Secure" not in cookies(headers)["_xsrf"]  # not trusted: a client cannot claim https
    for k in range(2):
        assert Browser(direct.url).sign_in(f"a{k}", "wrong", {"X-Forwarded-For": f"10.1.1.{k}"})[0] == 302
    assert Browser(direct.url).sign_in("a3", PASSWORD, {"X-Forwarded-For": "10.9.9.9"})[0] == 429  # nor change its address

    proxied = served_app(env={**BASIC, "BEDFLOW_LOGIN_ADDRESS_ATTEMPTS": "2", "BEDFLOW_TRUST_PROXY": "1"})
    https = {"X-Forwarded-Proto": "https"}
    _, headers = Browser(proxied.url).login_form(https)
    assert "Secure" in cookies(headers)["_xsrf"]
    status, headers, _ = Browser(proxied.url).sign_in("ana", PASSWORD, https)
    assert status == 302 and "Secure" in cookies(headers)["user"]
    for k in range(2):
        assert Browser(proxied.url).sign_in("b", "wrong", {**https, "X-Forwarded-For": "10.2.2.2"})[0] == 302
    assert Browser(proxied.url).sign_in("c", PASSWORD, {**https, "X-Forwarded-For": "10.2.2.2"})[0] == 429
    assert Browser(proxied.url).sign_in("c", PASSWORD, {**https, "X-Forwarded-For": "10.3.3.3"})[0] == 302
