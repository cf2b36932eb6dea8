"""Data residency: an environment's region must be one its country's data may be held in."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from customer_etl.config.model import Config
from customer_etl.config.residency import ResidencySettings

RULE = {"country": "GB", "regions": {"GB": ["eu-west-2"], "DE": ["eu-central-1"]}}


def test_a_region_of_the_country_is_accepted() -> None:
    config = Config.model_validate(
        {"environment": "prod", "aws": {"region": "eu-west-2", "residency": RULE}}
    )
    assert config.aws.residency.allowed_regions == ["eu-west-2"]


def test_a_region_outside_the_country_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match="outside the regions GB data may be held in"):
        Config.model_validate(
            {"environment": "prod", "aws": {"region": "eu-central-1", "residency": RULE}}
        )


def test_a_country_without_regions_is_refused() -> None:
    with pytest.raises(ValidationError, match="list its allowed regions"):
        ResidencySettings(country="FR", regions={"GB": ["eu-west-2"]})


def test_no_country_applies_no_rule() -> None:
    assert ResidencySettings().refusal("us-east-1") is None
