"""The vectorised path for well-formed UK numbers (`formats.uk_e164`) decides exactly what
`phonenumbers` decides: the same E.164 for every number it takes, and it takes only numbers
that `phonenumbers` finds possible. Numbers near its edges (other leading digits, a digit
too many or too few, other regions, other separators) go to `phonenumbers`, and the whole
rule answers the same with the fast path on and off."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from customer_etl.core.fast_paths import reference_paths
from customer_etl.core.formats import _e164, phones, uk_e164
from customer_etl.reference.sample import write_sample

SETTINGS = settings(max_examples=300, deadline=None)

# Numbers shaped like UK ones, and a little off: any leading digit, 8 to 12 digits, spaces
# anywhere (doubled too), a dash or a dot, a prefix of 0, +44, 44, +440, 00 44 or nothing.
prefixes = st.sampled_from(["0", "+44", "+44 ", "44", "+440", "00 44", "", "+", "0 "])
separators = st.sampled_from(["", "", "", " ", "  ", "-", "."])
digit_runs = st.lists(st.tuples(st.sampled_from("0123456789"), separators), min_size=8, max_size=12)
regions = st.sampled_from(["GB", "GB", "US", "FR", "GG", "JE", "IM", "IE"])


def number_from(prefix: str, run: list[tuple[str, str]]) -> str:
    return prefix + "".join(digit + separator for digit, separator in run).rstrip(" -.")


@SETTINGS
@given(prefixes, digit_runs, regions)
def test_a_number_taken_gets_the_e164_of_phonenumbers(
    prefix: str, run: list[tuple[str, str]], region: str
) -> None:
    number = number_from(prefix, run)
    [fast] = uk_e164(pd.Series([number]), pd.Series([region])).tolist()
    if fast is not pd.NA:
        assert fast == _e164(f"{number}|{region}", "possible")


@SETTINGS
@given(st.lists(st.tuples(prefixes, digit_runs, regions), min_size=1, max_size=30))
def test_the_rule_answers_the_same_on_both_paths(
    cases: list[tuple[str, list[tuple[str, str]], str]],
) -> None:
    values = pd.Series([number_from(prefix, run) for prefix, run, _ in cases])
    countries = pd.Series([region for _, _, region in cases])
    fast = phones(values, countries, "possible")
    with reference_paths():
        reference = phones(values, countries, "possible")
    pd.testing.assert_series_equal(fast[0], reference[0])
    pd.testing.assert_series_equal(fast[1], reference[1])


def test_every_number_of_the_generated_files_is_decided_as_phonenumbers_does(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sample.csv"
    write_sample(path, rows=20_000, seed=3, defect_rate=0.05)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    present = frame[frame["phone"] != ""]
    values, countries = present["phone"], present["country"].replace("", "GB")
    fast = uk_e164(values, countries)
    assert fast.notna().mean() > 0.5, "the sample's numbers are mostly taken by the fast path"
    for number, region, e164 in zip(values, countries, fast, strict=True):
        if e164 is not pd.NA:
            assert e164 == _e164(f"{number}|{region}", "possible")


def test_edges_go_to_phonenumbers() -> None:
    values = pd.Series(
        [
            "07700 900123",  # taken
            "+44 7700 900123",  # taken, whatever the region
            "04000 000000",  # 4 after the national 0: not GB's plan
            "0770090012",  # a digit short
            "077009001234",  # a digit too many
            "01800 201234",  # 180020, GB's other national prefix
            "07700-900123",  # a dash
            "07700 900123",  # read in the US, the national 0 means nothing
        ]
    )
    region = pd.Series(["GB", "US", "GB", "GB", "GB", "GB", "GB", "US"])
    taken = uk_e164(values, region).notna().tolist()
    assert taken == [True, True, False, False, False, False, False, False]
