"""The governance documents stay true to the code: the classification scheme is generated
from the policies (stale: run `make docs`), and the GDPR gap analysis covers its articles and
names only tests that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from customer_etl.config.classification_scheme import DOCUMENT, render_classification_scheme
from customer_etl.config.privacy import ClassificationSettings, ClassPolicy
from customer_etl.core.classification import PersonalDataClass

REPO = Path(__file__).resolve().parents[2]
GAP_ANALYSIS = REPO / "docs" / "governance" / "gdpr-gap-analysis.md"
ARTICLES = ("5", "6", "12", "13", "14", "15", "16", "17", "18", "21", "25", "30", "32", "33")
TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def test_the_classification_scheme_is_generated_from_the_policies() -> None:
    documented = (REPO / DOCUMENT).read_text(encoding="utf-8")
    assert documented == render_classification_scheme(), "run `make docs` to regenerate it"


def test_the_scheme_follows_a_changed_policy() -> None:
    changed = ClassificationSettings(
        policies={
            PersonalDataClass.PHONE: ClassPolicy(handling="mask", retention_class="marketing")
        }
    )
    scheme = render_classification_scheme(changed)
    assert (
        "| `phone` | mask | marketing | consent | 0 | consent_withdrawn | delete | `phone` |"
        in scheme
    )
    assert scheme != render_classification_scheme()


def test_the_gap_analysis_covers_every_article() -> None:
    text = GAP_ANALYSIS.read_text(encoding="utf-8")
    headings = re.findall(r"^## Articles? ([\d and]+):", text, flags=re.MULTILINE)
    covered = {number for heading in headings for number in re.findall(r"\d+", heading)}
    assert set(ARTICLES) <= covered, set(ARTICLES) - covered


def test_every_test_the_gap_analysis_names_exists() -> None:
    references = TEST_REFERENCE.findall(GAP_ANALYSIS.read_text(encoding="utf-8"))
    assert len(references) >= len(ARTICLES)
    missing = []
    for path, name in references:
        file = REPO / path
        if not file.is_file():
            missing.append(path)
            continue
        if name:
            tree = ast.parse(file.read_text(encoding="utf-8"))
            defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
            if name not in defined:
                missing.append(f"{path}::{name}")
    assert missing == [], f"named in docs/governance/gdpr-gap-analysis.md but not found: {missing}"
