"""The signed merchant identity: checked by the app, forwarded to Rasa only when genuine."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from bot.chat import identity as merchant_identity
from tests.chat.conftest import MERCHANT_SECRET

MID = "898310048161234"


def host_sign(merchant_id: str, expires: int, secret: str = MERCHANT_SECRET) -> str:
    """Exactly the snippet docs/widget.md gives the host's server."""
    message = f"{merchant_id}.{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def identity(merchant_id=MID, expires=None, secret=MERCHANT_SECRET, signature=None) -> dict:
    expires = int(time.time()) + 3600 if expires is None else expires
    return {"id": merchant_id, "expires": expires, "signature": signature or host_sign(merchant_id, expires, secret)}


def test_the_docs_snippet_and_the_app_agree():
    exp = 1_900_000_000
    assert merchant_identity.sign(MERCHANT_SECRET, MID, exp) == host_sign(MID, exp)


def test_a_verified_merchant_id_reaches_rasa_as_metadata(browser, rasa):
    m = browser()
    r = m.say("我的工单怎么样了", merchant=identity())
    assert r.status_code == 200, r.text
    assert rasa.received[-1][2] == {"verified_merchant_id": MID}
    # Without an identity, no metadata at all (nothing an action could mistake for proof).
    m.say("你好")
    assert rasa.received[-1][2] is None


@pytest.mark.parametrize(
    "ident, code",
    [
        (lambda: identity(expires=int(time.time()) - 1), "merchant_identity_expired"),
        (lambda: identity(secret="a-guess"), "merchant_identity_invalid"),
        # the signature of another merchant id, or of a later expiry
        (lambda: {**identity(), "id": "898310048169999"}, "merchant_identity_invalid"),
        (lambda: {**identity(), "expires": identity()["expires"] + 86400 * 365}, "merchant_identity_invalid"),
        (lambda: identity(expires=int(time.time()) + 86400 * 30), "merchant_identity_too_long"),
        (lambda: identity(merchant_id="8983 1004"), "merchant_identity_malformed"),
        (lambda: {**identity(), "signature": "zz" * 32}, "merchant_identity_malformed"),
    ],
)
def test_a_forged_or_expired_identity_is_refused_and_nothing_reaches_rasa(browser, rasa, services, ident, code):
    m = browser()
    r = m.say("查一下我的工单", merchant=ident())
    assert r.status_code == 401, r.text
    assert r.json()["code"] == code
    assert " / " in r.json()["message"]
    assert rasa.received == []
    assert services.conversations.transcript(m.conv) == []  # the widget resends without it; nothing doubled


def test_an_identity_is_refused_when_the_server_has_no_secret(browser, rasa, services):
    from pydantic import SecretStr

    services.settings = services.settings.model_copy(update={"merchant_identity_secret": SecretStr("")})
    r = browser().say("你好", merchant=identity())
    assert r.status_code == 401 and r.json()["code"] == "merchant_identity_disabled"


def test_uppercase_hex_signatures_are_accepted():
    exp = int(time.time()) + 60
    sig = host_sign(MID, exp).upper()
    assert merchant_identity.verify(MERCHANT_SECRET, MID, exp, sig, max_ttl_s=3600).merchant_id == MID


def test_verify_compares_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(merchant_identity.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    with pytest.raises(merchant_identity.MerchantIdentityError):
        merchant_identity.verify(MERCHANT_SECRET, MID, int(time.time()) + 60, "0" * 64, max_ttl_s=3600)
    assert calls == [1]
