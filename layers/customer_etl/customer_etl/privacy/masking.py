"""Masking of personal fields for non-production environments.

Every method is deterministic for a given key, so the same input masks the same way in
every run (pseudonyms stay joinable), and never returns a value equal to its original.
Values arrive as validation normalised them (lower-cased emails, canonical postcodes,
E.164 phones, dates), and each method keeps what the validation rules check:

- `pseudonymise`: `p_` and 24 hex digits of HMAC-SHA-256(key, field, value);
- `email`: a keyed local part (`u` and 16 hex digits) at the original domain;
- `postcode`: the outward code kept (enrichment still finds the district), a keyed inward
  code of the shape Royal Mail allows; a non-UK postal code keeps its shape, each digit and
  letter replaced;
- `phone`: a UK number becomes one of Ofcom's 1000 drama numbers of its kind (mobiles
  07700 900xxx, others 020 7946 0xxx), so it can reach no one; another country's keeps its
  country code and length with the last four digits replaced;
- `birth_year`: 1 January of the birth year (2 January for someone born on 1 January) when
  the birthday has come by the run's reference date, else 31 December (30 December for
  someone born on 31 December), so the age the rules compute does not change;
- `redact`: `[redacted]` for names, nothing for the optional phone and birth date.

HMAC runs once per distinct value of a chunk; the rest is pandas column arithmetic.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final

import numpy as np
import pandas as pd

from customer_etl.config.privacy import MaskingMethod
from customer_etl.core.errors import MaskingKeyError
from customer_etl.core.formats import UK_POSTCODE_PATTERN
from customer_etl.core.schema import field as schema_field

MIN_KEY_CHARACTERS: Final = 32
REDACTED: Final = "[redacted]"
_INWARD_LETTERS: Final = "ABDEFGHJLNPQRSTUWXYZ"  # the letters Royal Mail uses in inward codes
_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_UK_MOBILE_DRAMA: Final = "+447700900"  # Ofcom: 07700 900000 to 900999
_UK_OTHER_DRAMA: Final = "+442079460"  # Ofcom: 020 7946 0000 to 0999
_MAX_ATTEMPTS: Final = 16
_UK_POSTCODE: Final = re.compile(UK_POSTCODE_PATTERN)


@dataclass(frozen=True)
class MaskingPlan:
    """Which fields to mask and how, with the key. Build it with `plan_from_secret`.

    Example:
        >>> plan = MaskingPlan(key=b"k" * 32, fields={"email": "email"})
        >>> mask_email(pd.Series(["ann@example.com"]), plan.key)[0].endswith("@example.com")
        True
    """

    key: bytes = field(repr=False)
    fields: Mapping[str, MaskingMethod]


def plan_from_secret(secret: str | None, fields: Mapping[str, MaskingMethod]) -> MaskingPlan:
    """A plan from the resolved key; MaskingKeyError when there is none or it is short."""
    if secret is None or not secret.strip():
        raise MaskingKeyError(
            "masking is enabled but privacy.masking.key_ref gives no key: set the secret it "
            "names, or turn privacy.masking.enabled off"
        )
    if len(secret) < MIN_KEY_CHARACTERS:
        raise MaskingKeyError(
            f"the masking key is shorter than {MIN_KEY_CHARACTERS} characters: use a long "
            "random secret (e.g. `openssl rand -hex 32`)"
        )
    return MaskingPlan(key=secret.encode("utf-8"), fields=dict(fields))


def mask_frame(frame: pd.DataFrame, plan: MaskingPlan, today: date) -> pd.DataFrame:
    """A copy of `frame` with the plan's fields masked; missing values stay missing."""
    masked = frame.copy()
    for name, method in plan.fields.items():
        if name not in masked:
            continue
        column = masked[name]
        present = column.notna()
        if not present.any():
            continue
        values = column[present]
        if method == "birth_year":
            result = mask_birth_date(values, today)
        elif method == "redact":
            result = redact(values, name)
        else:
            result = _TEXT_METHODS[method](values.astype(str), plan.key, name)
        out = np.full(len(column), None, dtype=object)
        out[present.to_numpy()] = result.to_numpy(dtype=object)
        masked[name] = pd.Series(out, index=column.index, dtype=object)
    return masked


def pseudonymise(values: pd.Series, key: bytes, field_name: str = "") -> pd.Series:
    """`p_` and 24 hex digits (96 bits) of HMAC-SHA-256 over the field and the value."""
    return _keyed(values, key, field_name, lambda value, digest: "p_" + digest.hex()[:24])


def mask_email(values: pd.Series, key: bytes, field_name: str = "email") -> pd.Series:
    def build(value: str, digest: bytes) -> str:
        domain = value.rpartition("@")[2]
        return f"u{digest.hex()[:16]}@{domain}"

    return _keyed(values, key, field_name, build)


def mask_postcode(values: pd.Series, key: bytes, field_name: str = "postcode") -> pd.Series:
    def build(value: str, digest: bytes) -> str:
        compact = value.replace(" ", "").upper()
        if _is_uk_shape(compact):
            inward = (
                str(digest[0] % 10)
                + _INWARD_LETTERS[digest[1] % len(_INWARD_LETTERS)]
                + _INWARD_LETTERS[digest[2] % len(_INWARD_LETTERS)]
            )
            outward = compact[:-3]
            # Girobank's GIR 0AA is the only postcode of its outward code.
            return f"{outward} {inward}" if outward != "GIR" else f"G1 {inward}"
        return _same_shape(value, digest)

    return _keyed(values, key, field_name, build)


def mask_phone(values: pd.Series, key: bytes, field_name: str = "phone") -> pd.Series:
    def build(value: str, digest: bytes) -> str:
        number = int.from_bytes(digest[:4], "big")
        if value.startswith("+447"):
            return f"{_UK_MOBILE_DRAMA}{number % 1000:03d}"
        if value.startswith("+44"):
            return f"{_UK_OTHER_DRAMA}{number % 1000:03d}"
        digits = [i for i, char in enumerate(value) if char.isdigit()]
        chars = list(value)
        for n, position in enumerate(digits[-4:]):
            chars[position] = str(digest[4 + n] % 10)
        return "".join(chars)

    return _keyed(values, key, field_name, build)


def mask_birth_date(values: pd.Series, today: date) -> pd.Series:
    """Dates generalised to their year as described in the module docstring."""
    born = pd.to_datetime(values).dt.normalize()
    year = born.dt.year.astype(str)
    birthday_come = (born.dt.month < today.month) | (
        (born.dt.month == today.month) & (born.dt.day <= today.day)
    )
    early = pd.to_datetime(year + "-01-01").where(born.dt.strftime("%m-%d") != "01-01")
    early = early.fillna(pd.to_datetime(year + "-01-02"))
    late = pd.to_datetime(year + "-12-31").where(born.dt.strftime("%m-%d") != "12-31")
    late = late.fillna(pd.to_datetime(year + "-12-30"))
    masked = early.where(birthday_come, late)
    return pd.Series(masked.dt.date, index=values.index, dtype=object)


def redact(values: pd.Series, field_name: str) -> pd.Series:
    """Nothing for an optional field; `[redacted]` for a required one, which must stay
    present (or `[removed]` for the one value equal to it)."""
    if not schema_field(field_name).required:
        return pd.Series(None, index=values.index, dtype=object)
    return values.astype(str).map(lambda value: "[removed]" if value == REDACTED else REDACTED)


def _keyed(
    values: pd.Series, key: bytes, field_name: str, build: Callable[[str, bytes], str]
) -> pd.Series:
    """`build(value, digest)` once per distinct value, with a digest under a counter that
    goes up until the result differs from the value (at the first try but for a chance of
    about one in the size of the method's range)."""
    answers: dict[str, str] = {}
    for value in values.unique():
        text = str(value)
        for attempt in range(_MAX_ATTEMPTS):
            message = f"{field_name}\x1f{attempt}\x1f{text}".encode()
            digest = hmac.new(key, message, hashlib.sha256).digest()
            masked = build(text, digest)
            if masked != text:
                break
        answers[text] = masked
    return values.astype(str).map(answers)


def _is_uk_shape(compact: str) -> bool:
    return _UK_POSTCODE.match(compact) is not None


def _same_shape(value: str, digest: bytes) -> str:
    if not any(char.isascii() and char.isalnum() for char in value):
        return "0"  # nothing to replace: any other value will do
    stream = digest * 4
    out = []
    for position, char in enumerate(value):
        byte = stream[position % len(stream)]
        if char.isdigit():
            out.append(str(byte % 10))
        elif char.isascii() and char.isalpha():
            letter = _LETTERS[byte % 26]
            out.append(letter if char.isupper() else letter.lower())
        else:
            out.append(char)
    return "".join(out)


_TEXT_METHODS: Final[dict[str, Callable[[pd.Series, bytes, str], pd.Series]]] = {
    "pseudonymise": pseudonymise,
    "email": mask_email,
    "postcode": mask_postcode,
    "phone": mask_phone,
}
