from __future__ import annotations

import time

from customer_etl.adapters.postcodes_io import PostcodesIoLookup
from customer_etl.config.model import PostcodesSettings
from tests.fakes.postcodes_api import FakePostcodesApi, details, serve


def settings(base_url: str, **overrides: object) -> PostcodesSettings:
    return PostcodesSettings.model_validate(
        {"base_url": base_url, "timeout_seconds": 2, **overrides}
    )


def test_bulk_lookup_batches_at_most_100_and_maps_unknown_to_none() -> None:
    postcodes = [f"SW1A {i}AA" for i in range(250)]
    with serve(FakePostcodesApi(known={"SW1A 1AA": details("London", "Westminster")})) as api:
        answers = PostcodesIoLookup(settings(api.base_url)).lookup(postcodes)
    assert [len(batch) for batch in api.requests] == [100, 100, 50]
    assert answers["SW1A 1AA"] is not None
    assert answers["SW1A 1AA"].admin_district == "Westminster"
    assert answers["SW1A 2AA"] is None
    assert len(answers) == 250


def test_a_failing_api_opens_the_circuit_and_the_rest_is_not_asked() -> None:
    postcodes = [f"B{i} 1AA" for i in range(1000)]
    with serve(FakePostcodesApi(down=True)) as api:
        answers = PostcodesIoLookup(settings(api.base_url, failure_threshold=2)).lookup(postcodes)
    assert answers == {}
    assert len(api.requests) == 2


def test_an_unreachable_api_costs_seconds_not_minutes() -> None:
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    lookup = PostcodesIoLookup(settings("http://127.0.0.1:9"))
    started = time.perf_counter()
    answers = lookup.lookup([f"B{i} 1AA" for i in range(5000)])
    assert answers == {}
    assert time.perf_counter() - started < 10
