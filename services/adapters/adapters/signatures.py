"""Is a webhook body really from the platform? Checked on the raw bytes, before parsing.

- Shopify: ``X-Shopify-Hmac-Sha256`` is base64(HMAC-SHA256(app secret, body)).
- Saleor: ``Saleor-Signature`` is a JWS (RS256) with a detached, unencoded payload
  (RFC 7797, ``b64: false``) signed by a key of the instance's JWKS; webhooks with a
  ``secretKey`` (deprecated) get hex(HMAC-SHA256(secretKey, body)) instead.
- commercetools: its HTTP destinations authenticate with a fixed ``Authorization`` header
  (AuthorizationHeader); there is no body signature. The broker route is the other way in.
- WooCommerce: ``X-WC-Webhook-Signature`` is base64(HMAC-SHA256(the webhook's secret, body)).
- BigCommerce signs nothing: a webhook is created with custom ``headers``, and the
  ``Authorization`` value configured there is compared, like commercetools'.
- Medusa has no webhooks of its own: the subscriber that forwards ``order.placed`` signs
  the body like Shopify does, in ``X-Medusa-Hmac-Sha256``.
- Adobe Commerce / Magento 2 neither: the module or relay that forwards its orders signs the
  body the same way, in ``X-Magento-Hmac-Sha256``.
- Shopware 6: ``shopware-shop-signature`` is hex(HMAC-SHA256(the shop's secret, body)), the
  secret the app handed the shop at registration.

Every comparison is constant-time; a missing secret means nothing is accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from functools import cached_property

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet
from pydantic import SecretStr

from .settings import AdapterSettings

SHOPIFY_HEADER = "x-shopify-hmac-sha256"
SALEOR_HEADER = "saleor-signature"
COMMERCETOOLS_HEADER = "authorization"
MEDUSA_HEADER = "x-medusa-hmac-sha256"
WOOCOMMERCE_HEADER = "x-wc-webhook-signature"
BIGCOMMERCE_HEADER = "authorization"
MAGENTO_HEADER = "x-magento-hmac-sha256"
SHOPWARE_HEADER = "shopware-shop-signature"


def hmac_base64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _value(secret: SecretStr | None) -> str:
    """A configured secret's text; "" when none is set (then nothing is accepted)."""
    return secret.get_secret_value() if secret is not None else ""


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.strip().encode(), expected.encode())


class Verifier:
    """One per process: holds the Saleor keys (parsed once; a JWKS URL is cached by PyJWT)."""

    def __init__(self, settings: AdapterSettings) -> None:
        self.settings = settings

    @cached_property
    def _saleor_keys(self) -> PyJWKSet | None:
        return PyJWKSet.from_dict(json.loads(self.settings.saleor_jwks)) if self.settings.saleor_jwks else None

    @cached_property
    def _saleor_client(self) -> PyJWKClient | None:
        return PyJWKClient(self.settings.saleor_jwks_url) if self.settings.saleor_jwks_url else None

    def verify(self, platform: str, body: bytes, headers: Mapping[str, str]) -> bool:
        """``headers`` with lower-case names. May fetch Saleor's JWKS: call it off the loop."""
        check: Callable[[bytes, Mapping[str, str]], bool] = getattr(self, f"_{platform}")
        return check(body, headers)

    def _shopify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        secret = _value(self.settings.shopify_secret)
        return bool(secret) and _same(headers.get(SHOPIFY_HEADER), hmac_base64(secret, body))

    def _medusa(self, body: bytes, headers: Mapping[str, str]) -> bool:
        secret = _value(self.settings.medusa_secret)
        return bool(secret) and _same(headers.get(MEDUSA_HEADER), hmac_base64(secret, body))

    def _woocommerce(self, body: bytes, headers: Mapping[str, str]) -> bool:
        secret = _value(self.settings.woocommerce_secret)
        return bool(secret) and _same(headers.get(WOOCOMMERCE_HEADER), hmac_base64(secret, body))

    def _magento(self, body: bytes, headers: Mapping[str, str]) -> bool:
        secret = _value(self.settings.magento_secret)
        return bool(secret) and _same(headers.get(MAGENTO_HEADER), hmac_base64(secret, body))

    def _shopware(self, body: bytes, headers: Mapping[str, str]) -> bool:
        secret = _value(self.settings.shopware_secret)
        given = headers.get(SHOPWARE_HEADER)
        return bool(secret) and _same(given.lower() if given else None, hmac_hex(secret, body))

    def _bigcommerce(self, body: bytes, headers: Mapping[str, str]) -> bool:
        expected = _value(self.settings.bigcommerce_authorization)
        return bool(expected) and _same(headers.get(BIGCOMMERCE_HEADER), expected)

    def _commercetools(self, body: bytes, headers: Mapping[str, str]) -> bool:
        expected = _value(self.settings.commercetools_authorization)
        return bool(expected) and _same(headers.get(COMMERCETOOLS_HEADER), expected)

    def _saleor(self, body: bytes, headers: Mapping[str, str]) -> bool:
        signature = (headers.get(SALEOR_HEADER) or "").strip()
        if not signature:
            return False
        if ".." in signature:  # compact JWS with the payload detached: header..signature
            return self._saleor_jws(signature, body)
        secret = _value(self.settings.saleor_secret)
        return bool(secret) and _same(signature, hmac_hex(secret, body))

    def _saleor_jws(self, signature: str, body: bytes) -> bool:
        try:
            kid = jwt.get_unverified_header(signature).get("kid")
            key = self._saleor_key(kid)
            if key is None:
                return False
            jwt.api_jws.decode_complete(signature, key=key, algorithms=["RS256"], detached_payload=body)
            return True
        except (jwt.PyJWTError, ValueError):
            return False

    def _saleor_key(self, kid: str | None) -> PyJWK | None:
        """The key as a PyJWK (not its bare key): PyJWT then verifies with the algorithm the
        key is bound to, which must be the RS256 asked for."""
        if self._saleor_keys is not None:
            for key in self._saleor_keys.keys:
                if kid is None or key.key_id == kid:
                    return key
        if self._saleor_client is not None and kid:
            return self._saleor_client.get_signing_key(kid)
        return None
