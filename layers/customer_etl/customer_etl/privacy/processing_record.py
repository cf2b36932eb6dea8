"""The processing record of each field of a customer's record, as an access export states
it (article 15(1)(a) to (e)): purpose, lawful basis, recipients, the class of personal data
and its retention class from the classification policies, and how it is protected.

Example:
    >>> from customer_etl.config.model import Config
    >>> record = processing_record(Config(environment="local"))
    >>> record["email"]["retention_class"], record["email"]["protection"]
    ('customer', 'encrypt')
"""

from __future__ import annotations

from typing import Any

from customer_etl.config.model import Config
from customer_etl.config.privacy import CLASS_OF_COLUMN
from customer_etl.core.schema import CANONICAL_FIELDS, ENRICHMENT_FIELDS

RECORD_RETENTION_CLASS = "customer"
"""The retention class of the record's fields that are not personal data by themselves
(ids, dates, flags, enrichment): they go with the record."""


def processing_record(config: Config) -> dict[str, dict[str, Any]]:
    """Field name -> its processing record."""
    settings = config.subject_requests
    policies = config.privacy.classification.policies
    record: dict[str, dict[str, Any]] = {}
    for spec in (*CANONICAL_FIELDS, *ENRICHMENT_FIELDS):
        purpose = settings.field_processing.get(spec.name, settings.processing)
        data_class = CLASS_OF_COLUMN.get(spec.name)
        policy = policies.get(data_class) if data_class is not None else None
        record[spec.name] = {
            "meaning": spec.meaning,
            "purpose": purpose.purpose,
            "lawful_basis": purpose.lawful_basis,
            "recipients": list(purpose.recipients),
            "personal_data_class": str(data_class) if data_class is not None else None,
            "retention_class": policy.retention_class if policy else RECORD_RETENTION_CLASS,
            "protection": policy.handling if policy else "keep",
            "source": "enrichment" if spec in ENRICHMENT_FIELDS else "source file",
        }
    return record
