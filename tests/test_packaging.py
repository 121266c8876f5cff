"""What a built distribution ships besides the code: the type marker, the licence, the changelog."""

import sys

import pytest
from conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def test_py_typed_is_shipped_and_license_and_changelog_exist():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["spacy_bio_rel"]
    assert (REPO / "spacy_bio_rel" / "py.typed").is_file()
    assert "MIT License" in (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "## [0.3.0] - Unreleased" in (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
