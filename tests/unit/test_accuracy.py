"""Accuracy: postcodes that exist (the API's answer or a known area) and company numbers
Companies House knows, scored per record and per run; checks that do not apply are not
counted either way."""

from __future__ import annotations

import pandas as pd

from customer_etl.quality.accuracy import (
    accuracy_scores,
    company_known,
    postcode_known,
    run_accuracy,
)


def test_a_postcode_exists_when_the_api_knew_it_or_its_area_is_real() -> None:
    postcodes = pd.Series(["SW1A 1AA", "QQ1 1QQ", "ZZ9 9ZZ", "", None])
    api_found = pd.Series([False, True, False, False, False])
    assert postcode_known(postcodes, api_found).tolist() == [True, True, False, None, None]


def test_a_company_number_counts_only_when_companies_house_was_asked() -> None:
    numbers = pd.Series(["01234567", "99999999", ""])
    found = pd.Series([True, False, False])
    assert company_known(numbers, found, asked=True).tolist() == [True, False, None]
    assert company_known(numbers, found, asked=False).tolist() == [None, None, None]


def test_records_and_runs_are_scored_over_the_checks_that_applied() -> None:
    postcode = pd.Series([True, True, False, None])
    company = pd.Series([True, False, None, None])
    scores = accuracy_scores(postcode, company)
    assert scores.tolist() == [100.0, 50.0, 0.0, None]
    assert run_accuracy(scores) == 50.0
    assert run_accuracy(pd.Series([None, None], dtype=object)) is None


def test_a_company_number_companies_house_did_not_answer_for_is_not_judged() -> None:
    numbers = pd.Series(["01234567", "99999999", "55555555"])
    found = pd.Series([True, False, False])
    answered = pd.Series([True, True, False])
    assert company_known(numbers, found, asked=True, answered=answered).tolist() == [
        True,
        False,
        None,
    ]
