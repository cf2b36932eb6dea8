"""Classify the columns of a source file by what they hold: a class of personal data and a
confidence from 0 to 1 per column, from a sample of the raw values and the header.

How a confidence is computed (docs/data-protection.md):

- content share: among the sampled non-empty values, the share the class's content test
  accepts (`privacy.patterns`); a name-shaped value counts 0.5, or 1 when one of its words
  is a common name;
- support: the share counts fully from 10 non-empty values on, proportionally below, so a
  column with two values cannot be certain;
- header hint: 1 when the normalised header names the class (`email`, `dob`, `ni_number`...);
- confidence = content weight x share x support + header weight x hint, with weights by how
  telling content is: 0.85 / 0.15 for classes with a strict format (email, phone, postcode,
  National Insurance number, card, IP address), 0.6 / 0.4 for dates of birth (any date looks
  like one; a header naming another date leaves a third of the content weight), 0.5 / 0.5
  for names (a header naming a place or an answer, `post_town`, `country`, `status`,
  leaves a third of the content weight: many towns are surnames too).

The class with the highest confidence wins; under `min_confidence` the column holds no
personal data; under `confidence_threshold` the finding goes to the review list.
Findings hold counts, never values.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Final

import pandas as pd

from customer_etl.config.privacy import CLASS_OF_COLUMN, ClassificationSettings
from customer_etl.core.classification import (
    ClassificationReport,
    ColumnFinding,
    ColumnRole,
    Evidence,
    PersonalDataClass,
)
from customer_etl.core.errors import UnexpectedPersonalDataError
from customer_etl.core.schema import CANONICAL_COLUMNS
from customer_etl.privacy.patterns import MATCHERS

_FULL_SUPPORT: Final = 10
_STRICT = (0.85, 0.15)
_WEIGHTS: Final[dict[PersonalDataClass, tuple[float, float]]] = {
    PersonalDataClass.EMAIL: _STRICT,
    PersonalDataClass.PHONE: _STRICT,
    PersonalDataClass.POSTCODE: _STRICT,
    PersonalDataClass.NATIONAL_INSURANCE_NUMBER: _STRICT,
    PersonalDataClass.PAYMENT_CARD: _STRICT,
    PersonalDataClass.IP_ADDRESS: _STRICT,
    PersonalDataClass.DATE_OF_BIRTH: (0.6, 0.4),
    PersonalDataClass.PERSON_NAME: (0.5, 0.5),
    # A street shape is telling, but a column of them may be business premises.
    PersonalDataClass.ADDRESS: (0.6, 0.4),
}
_HEADER_HINTS: Final[dict[PersonalDataClass, tuple[str, ...]]] = {
    # Normalised headers (`First Name` -> `first_name`) equal to, or with a word equal to,
    # one of these.
    PersonalDataClass.EMAIL: ("email", "e_mail", "email_address", "mail"),
    PersonalDataClass.PHONE: ("phone", "telephone", "tel", "mobile", "msisdn", "cell", "fax"),
    PersonalDataClass.POSTCODE: ("postcode", "post_code", "postal_code", "zip", "zipcode"),
    PersonalDataClass.PERSON_NAME: (
        "first_name",
        "last_name",
        "surname",
        "forename",
        "forenames",
        "given_name",
        "family_name",
        "full_name",
        "middle_name",
        "firstname",
        "lastname",
        "fullname",
        "name",
        "customer_name",
        "contact_name",
        "maiden_name",
    ),
    PersonalDataClass.DATE_OF_BIRTH: ("dob", "birth", "date_of_birth", "birthdate", "birthday"),
    PersonalDataClass.NATIONAL_INSURANCE_NUMBER: (
        "ni",
        "nino",
        "ni_number",
        "ni_no",
        "nin",
        "national_insurance",
        "national_insurance_number",
    ),
    PersonalDataClass.PAYMENT_CARD: ("card", "card_number", "pan", "credit_card", "ccn", "cc"),
    PersonalDataClass.IP_ADDRESS: ("ip", "ip_address", "ipaddress", "ip_addr", "remote_addr"),
    PersonalDataClass.ADDRESS: (
        "address",
        "street",
        "address_line_1",
        "address_line_2",
        "address1",
        "address2",
        "street_address",
        "home_address",
        "postal_address",
        "addr",
    ),
}
# Whole-header hints only: as words these would match too much (`name` in `company_name`).
# `address` as a word is in `email_address` and `ip_address` too.
_EXACT_ONLY: Final = frozenset(
    {"name", "ni", "nin", "cc", "pan", "mail", "cell", "address", "addr", "street"}
)
_OTHER_DATE_WORDS: Final = frozenset(
    {"date", "at", "time", "created", "updated", "signup", "joined", "modified", "since"}
)
# Header words of business columns whose values look like names (`Wells`, `Stone`, `Ross`
# are post towns and common surnames): no person's name is filed under them.
_NOT_NAME_WORDS: Final = frozenset(
    {
        "town",
        "city",
        "county",
        "country",
        "region",
        "district",
        "locality",
        "consent",
        "status",
        "flag",
        "code",
        "type",
        "category",
    }
)


def classify_column(
    values: pd.Series, header: str, today: date
) -> tuple[PersonalDataClass | None, float, Evidence]:
    """The most likely class of one column of raw strings, its confidence, its evidence."""
    present = values.dropna().astype(str).str.strip()
    present = present[present != ""]
    name = normalise(header)
    support = min(1.0, len(present) / _FULL_SUPPORT)
    best: tuple[PersonalDataClass | None, float, Evidence] = (
        None,
        0.0,
        Evidence(sampled=len(values), non_empty=len(present), matched=0, header_hint=False),
    )
    for data_class, matcher in MATCHERS.items():
        matched = float(matcher(present, today).sum()) if len(present) else 0.0
        hint = _header_names(name, data_class)
        content_weight, header_weight = _WEIGHTS[data_class]
        if not hint and _names_something_else(name, data_class):
            content_weight /= 3
        share = matched / len(present) if len(present) else 0.0
        confidence = round(content_weight * share * support + header_weight * hint, 3)
        if confidence > best[1]:
            evidence = Evidence(
                sampled=len(values), non_empty=len(present), matched=matched, header_hint=hint
            )
            best = (data_class, confidence, evidence)
    return best


def classify(
    sample: pd.DataFrame,
    roles: dict[str, ColumnRole],
    settings: ClassificationSettings,
    today: date,
    targets: dict[str, str] | None = None,
) -> ClassificationReport:
    """Classify every column of `sample` (raw strings, headers as written; `roles` says what
    the run does with each, canonical when absent; `targets` which canonical field a
    canonical column feeds, when its header is not the field's name)."""
    targets = targets or {}
    findings = []
    for position in range(sample.shape[1]):
        header = str(sample.columns[position])
        data_class, confidence, evidence = classify_column(sample.iloc[:, position], header, today)
        role = roles.get(header, "canonical")
        if confidence < settings.min_confidence:
            data_class = None
        finding = ColumnFinding(
            column=header,
            role=role,
            data_class=data_class,
            confidence=confidence,
            evidence=evidence,
        )
        if role == "canonical":
            finding = _as_the_record_holds_it(finding, targets.get(header, normalise(header)))
        findings.append(_with_policy(finding, settings))
    return ClassificationReport(
        sampled_rows=len(sample),
        confidence_threshold=settings.confidence_threshold,
        columns=findings,
        review=[
            f
            for f in findings
            if f.data_class is not None and f.confidence < settings.confidence_threshold
        ],
    )


def unexpected_columns(report: ClassificationReport) -> list[ColumnFinding]:
    """Extra columns holding personal data that the configuration does not say how to
    handle."""
    return [f for f in report.personal_columns if f.role == "extra" and f.handling is None]


def refuse_unexpected(report: ClassificationReport, file_name: str) -> None:
    """Raise UnexpectedPersonalDataError naming the first unexpected column and its class."""
    unexpected = unexpected_columns(report)
    if not unexpected:
        return
    first = unexpected[0]
    more = f" (and {len(unexpected) - 1} more column(s))" if len(unexpected) > 1 else ""
    raise UnexpectedPersonalDataError(
        f"input file {file_name} has an unexpected personal-data column {first.column!r} "
        f"classified as {first.data_class} (confidence {first.confidence:.2f}){more}: "
        f"add privacy.classification.extra_columns.{first.column}: {{handling: drop}} to the "
        "configuration, or remove the column (see docs/data-protection.md)"
    )


def normalise(header: str) -> str:
    return "_".join(header.strip().lower().replace("-", " ").split())


def _as_the_record_holds_it(finding: ColumnFinding, target: str) -> ColumnFinding:
    """A canonical column takes its record field's class, so that the report says what the
    load does: a company name is encrypted as a name whether or not it looks like one, and
    a country code is stored as is whatever it resembles."""
    data_class = CLASS_OF_COLUMN.get(target)
    if data_class is not None:
        return finding.model_copy(
            update={"data_class": data_class, "confidence": 1.0, "class_from": "record"}
        )
    if target in CANONICAL_COLUMNS and finding.data_class is not None:
        return finding.model_copy(update={"handling": "keep"})
    return finding


def _with_policy(finding: ColumnFinding, settings: ClassificationSettings) -> ColumnFinding:
    if finding.role == "dropped":
        return finding.model_copy(update={"handling": "drop"})
    if finding.role == "extra":
        override = settings.extra_columns.get(finding.column)
        if override is not None:
            return finding.model_copy(update={"handling": override.handling})
        policy = settings.policies.get(finding.data_class) if finding.data_class else None
        # An extra column is never loaded, so only a class policy of `drop` covers it.
        if policy is not None and policy.handling == "drop":
            return finding.model_copy(
                update={"handling": "drop", "retention_class": policy.retention_class}
            )
        return finding
    if finding.data_class is None or finding.handling == "keep":
        return finding
    policy = settings.policies[finding.data_class]
    return finding.model_copy(
        update={"handling": policy.handling, "retention_class": policy.retention_class}
    )


def _header_names(name: str, data_class: PersonalDataClass) -> bool:
    hints = _HEADER_HINTS[data_class]
    if name in hints:
        return True
    words = set(name.split("_"))
    return any(
        hint not in _EXACT_ONLY and (hint in words or ("_" in hint and hint in name))
        for hint in hints
    )


def _names_something_else(name: str, data_class: PersonalDataClass) -> bool:
    """Whether a header says its column holds another kind of date than a birth date, or
    another kind of word than a name."""
    others = _OTHER_WORDS.get(data_class)
    return others is not None and bool(set(name.split("_")) & others)


_OTHER_WORDS: Final = {
    PersonalDataClass.DATE_OF_BIRTH: _OTHER_DATE_WORDS,
    PersonalDataClass.PERSON_NAME: _NOT_NAME_WORDS,
}


def roles_of(
    header: Iterable[str], ignored: Iterable[str], dropped: Iterable[str]
) -> dict[str, ColumnRole]:
    """Each header's role from a file's header plan."""
    extra, gone = set(ignored), set(dropped)
    return {
        name: "dropped" if name in gone else "extra" if name in extra else "canonical"
        for name in header
    }
