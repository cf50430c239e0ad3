"""Order-sync's own settings (``OMS_MATCH_*``): where the match weights decide (O2, O5).

A score is a sum of Fellegi-Sunter match weights, in bits (``matching``): +1 doubles the
odds that the order is the candidate's. Raising ``link`` trades recall for precision (more
orders for a CSR); lowering ``review`` trades reviews for new customers.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .matching import Thresholds

if TYPE_CHECKING:
    from plumbing.runtime import ServiceRuntime


class MatchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_MATCH_", extra="ignore")

    link_weight: float = Field(default=Thresholds.link, description="At or above: the order is linked.")
    review_weight: float = Field(default=Thresholds.review, description="At or above, below link: a CSR decides.")
    margin: float = Field(
        default=Thresholds.margin, gt=0, description="A runner-up within this of the best sends the order to review."
    )

    @model_validator(mode="after")
    def _ordered(self) -> MatchSettings:
        if self.review_weight > self.link_weight:
            raise ValueError("OMS_MATCH_REVIEW_WEIGHT must not exceed OMS_MATCH_LINK_WEIGHT")
        return self


@cache
def _read() -> Thresholds:
    settings = MatchSettings()
    return Thresholds(link=settings.link_weight, review=settings.review_weight, margin=settings.margin)


def thresholds(runtime: ServiceRuntime) -> Thresholds:  # noqa: ARG001 - one reading per process
    return _read()


class ParkingSettings(BaseSettings):
    """How long an order's event waits for an order that has not arrived (``OMS_ORDER_SYNC_*``)."""

    model_config = SettingsConfigDict(env_prefix="OMS_ORDER_SYNC_", extra="ignore")

    parked_days: float = Field(
        default=30,
        gt=0,
        description="An event whose order has not arrived after this long is set aside as a rejected order.",
    )
    parked_sweep_seconds: float = Field(default=3600, gt=0, description="How often a worker looks for such events.")
