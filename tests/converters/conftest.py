from pathlib import Path

import pytest
import spacy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def nlp_en():
    return spacy.blank("en")


@pytest.fixture(scope="session")
def nlp_zh():
    return spacy.blank("zh")
