"""Is the key provider usable: a data key generated, unwrapped again, and the two equal."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from customer_etl.core.errors import CustomerEtlError
from customer_etl.core.ports import KeyProvider
from customer_etl.health.report import Finding, Status

COMPONENT = "key_provider"
PROBE_CONTEXT = {"purpose": "health-check"}
"""Encryption context of the probe key: never the context of a run's keys."""


def check_key_provider(build: Callable[[], KeyProvider]) -> Finding:
    """Builds the provider (reads the key file, or reaches KMS) and makes one round trip.
    Errors are reported by class: a KMS error's text may quote key ARNs and request ids."""
    try:
        provider = build()
        key = provider.generate_data_key(PROBE_CONTEXT)
        plaintext = provider.unwrap(key.wrapped, key.kek_version, PROBE_CONTEXT)
    except CustomerEtlError as error:  # ours say what to do and hold no key material
        return Finding(Status.UNHEALTHY, f"data key round trip failed: {error}")
    except Exception as error:
        return Finding(
            Status.UNHEALTHY,
            f"data key round trip failed ({type(error).__name__}): check the key file "
            "(local) or the KMS key and the function's access to it (cloud)",
        )
    if not hmac.compare_digest(plaintext, key.plaintext):
        return Finding(Status.UNHEALTHY, "an unwrapped data key differs from the one generated")
    return Finding(
        Status.HEALTHY, f"data key generated and unwrapped (key version {key.kek_version})"
    )
