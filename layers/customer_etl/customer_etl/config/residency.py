"""Data residency: where the customer data of a country may be stored and processed. The CDK
app refuses to build an environment outside its country's regions (docs/deployment.md,
Data residency)."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2, upper case: `GB`, `DE`."""
RegionName = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")]


class ResidencySettings(BaseModel):
    """Example:
    >>> ResidencySettings(country="GB", regions={"GB": ["eu-west-2"]}).allowed_regions
    ['eu-west-2']
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: CountryCode | None = Field(
        None,
        description="The country whose customers' data this environment holds; unset "
        "applies no residency rule.",
    )
    regions: dict[CountryCode, list[RegionName]] = Field(
        default_factory=dict,
        description="Country -> the AWS regions its data may be stored and processed in. "
        "The stack of an environment is built only in a region its `country` allows.",
    )

    @field_validator("country", mode="before")
    @classmethod
    def _upper_country(cls, value: object) -> object:
        # Environment overrides arrive in lower case (CUSTOMER_ETL__AWS__RESIDENCY__...).
        return value.upper() if isinstance(value, str) else value

    @field_validator("regions", mode="before")
    @classmethod
    def _upper_countries(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(key).upper(): regions for key, regions in value.items()}
        return value

    @property
    def allowed_regions(self) -> list[str]:
        return list(self.regions.get(self.country, [])) if self.country else []

    @model_validator(mode="after")
    def _a_country_has_regions(self) -> ResidencySettings:
        if self.country is not None and not self.regions.get(self.country):
            raise ValueError(
                f"aws.residency.country is {self.country}: list its allowed regions in "
                f"aws.residency.regions.{self.country}"
            )
        return self

    def refusal(self, region: str) -> str | None:
        """Why data may not be held in `region`; None when it may."""
        if self.country is None or region in self.allowed_regions:
            return None
        return (
            f"region {region} is outside the regions {self.country} data may be held in "
            f"({', '.join(self.allowed_regions)}): aws.residency.regions.{self.country}"
        )
