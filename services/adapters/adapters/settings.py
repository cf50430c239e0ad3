"""Settings of the adapters (``OMS_ADAPTERS_*``). Secrets are ``SecretStr``: never printed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .mapping import PlatformConfig

PLATFORMS = (
    "shopify",
    "commercetools",
    "saleor",
    "medusa",
    "woocommerce",
    "bigcommerce",
    "magento",
    "shopware",
    "ebay",
    "amazon",
)


class AdapterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_ADAPTERS_", extra="ignore")

    # Shopify: the app's client secret signs every webhook (X-Shopify-Hmac-Sha256).
    shopify_secret: SecretStr | None = None
    shopify_source_system: str = "shopify"
    shopify_scope: str | None = None
    # Orders with ``test: true``: "ignore" (default: acknowledged and logged, no customer is
    # created, no email sent) or "accept" (a staging setup that wants test orders through).
    shopify_test_orders: Literal["ignore", "accept"] = "ignore"

    # commercetools: the HTTP destination's AuthorizationHeader value, sent as Authorization.
    commercetools_authorization: SecretStr | None = None
    commercetools_source_system: str = "commercetools"
    commercetools_scope: str | None = None
    commercetools_scopes: dict[str, str] = Field(default_factory=dict, description="store key -> scope")

    # Saleor: JWS (RS256) by the instance's keys: the JWKS document itself, or its URL
    # (https://<saleor>/.well-known/jwks.json); or, deprecated, the webhook's secretKey (HMAC).
    saleor_jwks: str | None = None
    saleor_jwks_url: str | None = None
    saleor_secret: SecretStr | None = None
    saleor_source_system: str = "saleor"
    saleor_scope: str | None = None
    saleor_scopes: dict[str, str] = Field(default_factory=dict, description="channel slug -> scope")

    # Medusa: the forwarding subscriber signs the body with this secret (X-Medusa-Hmac-Sha256).
    medusa_secret: SecretStr | None = None
    medusa_source_system: str = "medusa"
    medusa_scope: str | None = None
    medusa_scopes: dict[str, str] = Field(default_factory=dict, description="sales channel id -> scope")

    # WooCommerce: the webhook's secret signs every delivery (X-WC-Webhook-Signature).
    woocommerce_secret: SecretStr | None = None
    woocommerce_source_system: str = "woocommerce"
    woocommerce_scope: str | None = None

    # BigCommerce signs nothing: the webhook is created with a custom header
    # ({"Authorization": "<this value>"}) that every delivery carries. Its webhooks name the
    # order only; the order is read from the V2 Orders API with the store's API account.
    bigcommerce_authorization: SecretStr | None = None
    bigcommerce_store_hash: str | None = None
    bigcommerce_access_token: SecretStr | None = None
    bigcommerce_api_url: str = "https://api.bigcommerce.com"
    bigcommerce_timeout: float = Field(default=10.0, gt=0, description="Seconds per API request.")
    bigcommerce_source_system: str = "bigcommerce"
    bigcommerce_scope: str | None = None
    bigcommerce_scopes: dict[str, str] = Field(default_factory=dict, description="channel id -> scope")

    # Adobe Commerce / Magento 2 sends no signed webhooks of its own: the module or relay that
    # forwards its orders (an observer, an App Builder action behind Adobe I/O Events or Commerce
    # Webhooks) signs the body with this secret (X-Magento-Hmac-Sha256, base64 HMAC-SHA256).
    magento_secret: SecretStr | None = None
    magento_source_system: str = "magento"
    magento_scope: str | None = None
    magento_scopes: dict[str, str] = Field(default_factory=dict, description="store (view) id -> scope")

    # Shopware 6 app webhooks: signed with the shop's secret from the app registration
    # (shopware-shop-signature, hex HMAC-SHA256 of the body).
    shopware_secret: SecretStr | None = None
    shopware_source_system: str = "shopware"
    shopware_scope: str | None = None
    shopware_scopes: dict[str, str] = Field(default_factory=dict, description="sales channel id -> scope")
    shopware_currencies: dict[str, str] = Field(
        default_factory=dict, description="currency id -> ISO 4217 code, for orders without currency.isoCode"
    )

    # eBay (Sell Fulfillment API Order objects) and Amazon (SP-API Orders v0, with the buyer
    # and address a Restricted Data Token reads) are polled: no webhook, no secret here.
    ebay_source_system: str = "ebay"
    ebay_scope: str | None = None
    ebay_scopes: dict[str, str] = Field(default_factory=dict, description="eBay marketplace id (EBAY_DE) -> scope")
    amazon_source_system: str = "amazon"
    amazon_scope: str | None = None
    amazon_scopes: dict[str, str] = Field(
        default_factory=dict, description="Amazon MarketplaceId (A1PA6795UKMFR9) -> scope"
    )

    max_body_bytes: int = Field(default=5_000_000, ge=1_000, description="Larger webhook bodies get 413.")

    def platform(self, name: str) -> PlatformConfig:
        return PlatformConfig(
            platform=name,
            source_system=getattr(self, f"{name}_source_system"),
            scope=getattr(self, f"{name}_scope"),
            scopes=getattr(self, f"{name}_scopes", {}),
            test_orders=getattr(self, f"{name}_test_orders", "ignore"),
            currencies=getattr(self, f"{name}_currencies", {}),
        )
