"""Redaction of personal-data patterns from log records: a safety net, not the control.

The control is that the code never logs a record's values (only counts, stage names, ids
and error classes). This filter catches a slip: an exception message that quotes a value,
an `extra` field that should not be there. It redacts what a pattern can recognise (email
addresses, UK and international telephone numbers, UK postcodes, National Insurance
numbers, card numbers that pass the Luhn check); it cannot recognise a name, so it is no
licence to log one.

Example:
    >>> redact("bounced: jo@example.com, SW1A 1AA")
    'bounced: [email], [postcode]'
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from customer_etl.core.formats import luhn_valid

# One alternation, tried left to right at each position: a card before a phone (both are
# digit runs), an email before a postcode (an email's domain can look like one).
_PERSONAL = re.compile(
    # Not after `/`: the `user@host` of a URL (`postgresql://etl@db/x`) is no person's.
    r"(?P<email>(?<![/\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Z]{2,}\b)"
    r"|(?P<card>(?<![\w.+-])\d(?:[ -]?\d){12,18}(?![\w]))"
    # Any two letters, not only the prefixes HMRC issues: its specimens (QQ) are caught too.
    r"|(?P<ni_number>\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b)"
    r"|(?P<phone>(?<![\w.+/:-])(?:\+\d|\(?0\d)[\d ().-]{6,20}\d(?!\w))"
    # Not after `-`: a run id ends in six hex digits (`...Z-ab12cd`), which can look like one.
    r"|(?P<postcode>(?<![\w-])(?:[A-Z]{1,2}\d[A-Z\d]?|GIR) ?\d[A-Z]{2}\b)",
    re.IGNORECASE,
)
# Every pattern needs a digit or an `@`: a string without either is passed over unsearched,
# which keeps the common log line (words and field names) at the cost of one quick scan.
_CANDIDATE = re.compile(r"[\d@]")
_PHONE_DIGITS = range(9, 16)  # E.164 allows up to 15 digits; UK numbers have 10 or 11

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def redact(text: str) -> str:
    """`text` with every recognised personal-data pattern replaced by `[kind]`."""
    if not _CANDIDATE.search(text):
        return text
    return _PERSONAL.sub(_replacement, text)


def _replacement(match: re.Match[str]) -> str:
    kind = match.lastgroup or "personal"
    value = match.group()
    if kind == "card" and not luhn_valid("".join(c for c in value if c.isdigit())):
        return value
    if kind == "phone" and sum(c.isdigit() for c in value) not in _PHONE_DIGITS:
        return value
    return f"[{kind}]"


def redact_value(value: Any) -> Any:
    """`value` with its strings redacted, through dicts (keys as well as values: a counter
    keyed by value would otherwise log the values), lists, tuples and sets; numbers as they
    are (they are counts and durations)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return _redact_mapping(value)
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(redact_value(item) for item in value)
    return value


def _redact_mapping(mapping: dict[Any, Any]) -> dict[Any, Any]:
    """Keys that redact alike (two emails become `[email]`) are numbered, `[email] #2`, so
    that no entry, and no count, is lost."""
    redacted: dict[Any, Any] = {}
    for key, item in mapping.items():
        new_key = redact_value(key)
        if new_key in redacted:
            number = 2
            while f"{new_key} #{number}" in redacted:
                number += 1
            new_key = f"{new_key} #{number}"
        redacted[new_key] = redact_value(item)
    return redacted


class RedactingFilter(logging.Filter):
    """Redacts personal-data patterns from a record's message, its `extra` fields and its
    exception text before the formatter sees them. Attach it to a handler, so that it runs
    for every logger that writes through that handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.getMessage())
            record.args = None
        else:
            record.msg = redact_value(record.msg)
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES:
                record.__dict__[key] = redact_value(value)
        if record.exc_info and record.exc_info[0] is not None:
            # The formatter would render the traceback from exc_info (the exception's own
            # message included); hand it the redacted text instead, as an `exception` field.
            error_type, error, trace = record.exc_info
            text = "".join(traceback.format_exception(error_type, error, trace))
            record.__dict__["exception"] = redact(text)
            record.__dict__["exception_name"] = error_type.__name__
            record.exc_info = None
            record.exc_text = None
        return True
