"""Retention classes: how long each kind of data is kept, from which event, on which lawful
basis, and what happens when it expires (docs/governance/retention-schedule.md).

Every class `privacy.classification.policies` names must be defined here (checked by the
`Config` model), and each store the retention job looks after (the warehouse's customers,
the run folders' checkpoints and quarantine, reports, logs, the enrichment cache) belongs to
at most one class.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

RetentionEvent = Literal["last_seen", "signup", "consent_withdrawn", "run_end"]
RetentionAction = Literal["delete", "anonymise", "archive"]
LawfulBasis = Literal[
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
]
Store = Literal[
    "warehouse_customers", "quarantine", "checkpoints", "reports", "logs", "enrichment_cache"
]

RECORD_STORES: frozenset[str] = frozenset({"warehouse_customers"})
"""Stores of records, whose age runs from a customer's own event."""
FILE_STORES: frozenset[str] = frozenset(
    {"quarantine", "checkpoints", "reports", "logs", "enrichment_cache"}
)
"""Stores of artefacts, whose age runs from the run (or answer) that wrote them."""
EVENTS_OF_RECORDS: frozenset[str] = frozenset({"last_seen", "signup"})
"""The events the warehouse records per customer (`last_seen_at`, `signup_date`); it has no
time of consent withdrawal, so a class running from it can hold no store yet."""
ACTIONS_OF_FILES: frozenset[str] = frozenset({"delete", "archive"})
ACTIONS_OF_RECORDS: frozenset[str] = frozenset({"delete", "anonymise"})

DEPRECATED_CUSTOMER_DAYS = "retention.customer_retention_days"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RetentionClass(_Section):
    period_days: int = Field(
        ge=0,
        le=36_500,
        description="Days the data is kept after its event (0: it expires at the event).",
    )
    runs_from: RetentionEvent = Field(
        description="The event the period runs from: `last_seen` (the last source file "
        "holding the customer), `signup` (`signup_date`), `consent_withdrawn`, or `run_end` "
        "(the run, or the API answer, that wrote an artefact).",
    )
    lawful_basis: LawfulBasis = Field(
        description="The UK GDPR article 6 basis for keeping the data this long.",
    )
    action: RetentionAction = Field(
        description="What the retention job does on expiry: `delete`; `anonymise` (warehouse "
        "records: personal columns replaced by keyed pseudonyms, as masking does); "
        "`archive` (files: moved to the archive folder locally, to Glacier in the cloud).",
    )
    purpose: str = Field(
        min_length=1,
        description="Why the data is kept: for the retention schedule and the records of "
        "processing.",
    )
    stores: tuple[Store, ...] = Field(
        (),
        description="What the retention job applies this class to: `warehouse_customers`, "
        "`quarantine`, `checkpoints`, `reports`, `logs`, `enrichment_cache` (a store in "
        "at most one class). Empty: the class is documented and holdable, not applied.",
    )

    @model_validator(mode="after")
    def _stores_fit_the_event_and_action(self) -> RetentionClass:
        for store in self.stores:
            if store in RECORD_STORES:
                if self.runs_from not in EVENTS_OF_RECORDS:
                    raise ValueError(
                        f"store {store} can run from {sorted(EVENTS_OF_RECORDS)}, "
                        f"not {self.runs_from} (the warehouse keeps no such time)"
                    )
                if self.action not in ACTIONS_OF_RECORDS:
                    raise ValueError(f"store {store} can be {sorted(ACTIONS_OF_RECORDS)}")
            else:
                if self.runs_from != "run_end":
                    raise ValueError(f"store {store} runs from run_end, not {self.runs_from}")
                if self.action not in ACTIONS_OF_FILES:
                    raise ValueError(f"store {store} can be {sorted(ACTIONS_OF_FILES)}")
        return self


_DEFAULTS: tuple[tuple[str, int, RetentionEvent, LawfulBasis, tuple[Store, ...], str], ...] = (
    (
        "customer",
        2190,
        "last_seen",
        "contract",
        ("warehouse_customers",),
        "Customer contact data: serving the customer and answering claims within the "
        "six-year limitation period after the last activity.",
    ),
    (
        "marketing",
        0,
        "consent_withdrawn",
        "consent",
        (),
        "Marketing: kept only while the customer consents (marketing_consent).",
    ),
    (
        "special",
        30,
        "run_end",
        "legal_obligation",
        (),
        "National Insurance and payment card numbers: never loaded (dropped at extract); "
        "any copy in a run's artefacts goes with them.",
    ),
    (
        "quarantine",
        30,
        "run_end",
        "legitimate_interests",
        ("quarantine",),
        "Rejected records, kept for a data steward to correct and replay.",
    ),
    (
        "checkpoints",
        7,
        "run_end",
        "legitimate_interests",
        ("checkpoints",),
        "Stage checkpoints, kept to resume or redrive a failed run.",
    ),
    (
        "logs",
        90,
        "run_end",
        "legitimate_interests",
        ("logs",),
        "Structured logs (no personal data), for investigating incidents.",
    ),
    (
        "reports",
        365,
        "run_end",
        "legitimate_interests",
        ("reports",),
        "Run, daily and weekly reports (counts, no personal data), for trends.",
    ),
    (
        "enrichment_cache",
        30,
        "run_end",
        "legitimate_interests",
        ("enrichment_cache",),
        "Postcode and Companies House answers, cached to spare the APIs.",
    ),
)
"""The default classes: name, days, event, lawful basis, stores, purpose (all `delete`)."""


def _default_classes() -> dict[str, RetentionClass]:
    return {
        name: RetentionClass(
            period_days=days,
            runs_from=event,
            lawful_basis=basis,
            action="delete",
            purpose=purpose,
            stores=stores,
        )
        for name, days, event, basis, stores, purpose in _DEFAULTS
    }


class RetentionSettings(_Section):
    classes: dict[str, RetentionClass] = Field(
        default_factory=_default_classes,
        description="Retention classes by name (`[a-z][a-z0-9_]*`): period, event, lawful "
        "basis, action, purpose and stores (docs/governance/retention-schedule.md). A "
        "configuration that sets this replaces the defaults: list every class.",
    )
    anonymise_key_ref: (
        Annotated[str, StringConstraints(pattern=r"^(env|secretsmanager|ssm):[^\s]+$")] | None
    ) = Field(
        None,
        description="Reference to the key of the keyed pseudonyms that `anonymise` writes "
        "(`env:`, `secretsmanager:`, `ssm:`; at least 32 characters): needed when a class "
        "anonymises warehouse customers.",
    )
    customer_retention_days: int | None = Field(
        None,
        ge=1,
        description="Deprecated: the period of the `customer` class (set "
        "`retention.classes.customer.period_days` instead). When set it overrides that "
        "period, and `customer-etl retention` warns.",
    )

    @model_validator(mode="after")
    def _classes_are_well_named_and_stores_unique(self) -> RetentionSettings:
        owners: dict[str, str] = {}
        for name, retention_class in self.classes.items():
            if not name.isidentifier() or name != name.lower() or name.startswith("_"):
                raise ValueError(f"retention class name {name!r} must match [a-z][a-z0-9_]*")
            for store in retention_class.stores:
                if store in owners:
                    raise ValueError(
                        f"store {store} is in two retention classes: {owners[store]} and {name}"
                    )
                owners[store] = name
        anonymising = [
            name
            for name, c in self.classes.items()
            if c.action == "anonymise" and set(c.stores) & RECORD_STORES
        ]
        if anonymising and self.anonymise_key_ref is None:
            raise ValueError(
                f"retention class {anonymising[0]} anonymises warehouse customers: set "
                "retention.anonymise_key_ref to the pseudonyms' key"
            )
        if self.customer_retention_days is not None and "customer" not in self.classes:
            raise ValueError(
                f"{DEPRECATED_CUSTOMER_DAYS} is set but there is no retention class customer"
            )
        return self

    def effective_classes(self) -> dict[str, RetentionClass]:
        """The classes, with the deprecated `customer_retention_days` applied to `customer`."""
        if self.customer_retention_days is None:
            return dict(self.classes)
        customer = self.classes["customer"].model_copy(
            update={"period_days": self.customer_retention_days}
        )
        return {**self.classes, "customer": customer}

    def class_of_store(self, store: str) -> tuple[str, RetentionClass] | None:
        """The class the job applies to `store`, or None (the store is left alone)."""
        for name, retention_class in self.effective_classes().items():
            if store in retention_class.stores:
                return name, retention_class
        return None

    def customer_period_days(self) -> int | None:
        """The period of the class applied to the warehouse's customers, if any."""
        found = self.class_of_store("warehouse_customers")
        return found[1].period_days if found else None


def missing_classes(named: set[str], settings: RetentionSettings) -> list[str]:
    """The classes the classification policies name that the retention settings lack."""
    return sorted(named - set(settings.classes))
