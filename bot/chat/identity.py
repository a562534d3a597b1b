"""Signed merchant identity: the host page vouches for who the merchant is.

A merchant portal that embeds the widget knows which merchant is logged in. Its server
signs that merchant id with the secret it shares with us (``merchant_identity_secret``)
and puts the result on the widget's script tag; the widget sends it with each message,
the app verifies it here and forwards only a verified id to Rasa, as message metadata
``{"verified_merchant_id": "<id>"}``. The custom actions use it to show a ticket's status
only to the merchant it belongs to.

The signed string is exactly ``f"{merchant_id}.{expires}"`` (UTF-8), where ``expires`` is
a Unix time in whole seconds, and the signature is the lower-case hex HMAC-SHA256 of it:

    hmac.new(secret.encode(), f"{merchant_id}.{expires}".encode(), hashlib.sha256).hexdigest()

``sign`` below is that line; docs/widget.md shows it for the host's server.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass

MERCHANT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SIGNATURE_RE = re.compile(r"^[0-9a-fA-F]{64}$")
METADATA_KEY = "verified_merchant_id"

ERRORS = {
    "merchant_identity_disabled": (
        "商户身份校验未启用 / signed merchant identities are not enabled on this server (merchant_identity_secret)"
    ),
    "merchant_identity_malformed": (
        "商户身份格式不正确 / merchant identity must be id [A-Za-z0-9_-]{1,64}, integer expires and a 64-hex signature"
    ),
    "merchant_identity_invalid": "商户身份签名不正确 / merchant identity signature does not match",
    "merchant_identity_expired": "商户身份已过期，请刷新页面 / merchant identity expired: the host page must sign a new one",
    "merchant_identity_too_long": (
        "商户身份有效期过长 / merchant identity expires too far in the future (merchant_identity_max_ttl_s)"
    ),
}


class MerchantIdentityError(Exception):
    def __init__(self, code: str):
        super().__init__(ERRORS[code])
        self.code = code
        self.message = ERRORS[code]


@dataclass(frozen=True)
class MerchantIdentity:
    merchant_id: str
    expires: int


def signed_string(merchant_id: str, expires: int) -> bytes:
    return f"{merchant_id}.{int(expires)}".encode()


def sign(secret: str, merchant_id: str, expires: int) -> str:
    """The signature the host's server computes (hex HMAC-SHA256 of ``"<merchant_id>.<expires>"``)."""
    return hmac.new(secret.encode(), signed_string(merchant_id, expires), hashlib.sha256).hexdigest()


def verify(
    secret: str,
    merchant_id: str,
    expires: int,
    signature: str,
    *,
    max_ttl_s: int,
    now: float | None = None,
) -> MerchantIdentity:
    """The identity when the signature is good and current; MerchantIdentityError otherwise."""
    if not secret:
        raise MerchantIdentityError("merchant_identity_disabled")
    if (
        not isinstance(merchant_id, str)
        or not MERCHANT_ID_RE.fullmatch(merchant_id)
        or isinstance(expires, bool)
        or not isinstance(expires, int)
        or not isinstance(signature, str)
        or not SIGNATURE_RE.fullmatch(signature)
    ):
        raise MerchantIdentityError("merchant_identity_malformed")
    # Signature first, in constant time: an attacker learns nothing from which check failed.
    if not hmac.compare_digest(sign(secret, merchant_id, expires), signature.lower()):
        raise MerchantIdentityError("merchant_identity_invalid")
    now = time.time() if now is None else now
    if expires <= now:
        raise MerchantIdentityError("merchant_identity_expired")
    if expires > now + max_ttl_s:
        raise MerchantIdentityError("merchant_identity_too_long")
    return MerchantIdentity(merchant_id, expires)
