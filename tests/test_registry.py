"""Every registered name of the package resolves in a fresh process through its entry point alone.

spaCy's registries (catalogue) import a plugin's module from its entry point when a config asks for a name
they do not know, so a name registered in code but not declared in ``pyproject.toml`` works only when
something happened to import ``spacy_bio_rel`` first. The names are found by reading the source
(``@registry.<kind>("...")`` and ``@Language.factory("...")``), so a new one without an entry point fails.
"""

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

# registry attribute of spacy.util.registry -> entry-point group catalogue reads
GROUPS = {
    "architectures": "spacy_architectures",
    "readers": "spacy_readers",
    "batchers": "spacy_batchers",
    "scorers": "spacy_scorers",
    "optimizers": "thinc_optimizers",
    "misc": "spacy_misc",
    "callbacks": "spacy_callbacks",
    "factories": "spacy_factories",
}
DECORATOR = re.compile(
    # the name, then the decorated function: the first top-level def after the decorator
    r'^@(?:registry\.(?P<kind>\w+)|Language\.(?P<factory>factory))\(\s*"(?P<name>[^"]+)".*?^def (?P<function>\w+)',
    re.S | re.M,
)

RESOLVE = r"""
import json, sys
import spacy
from spacy.util import registry

early = sorted(m for m in sys.modules if m.startswith("spacy_bio_rel"))
out = {"imported_before": early, "resolved": [], "failed": []}
for kind, name in json.loads(sys.argv[1]):
    try:
        func = getattr(registry, kind).get(name)
        out["resolved"].append([kind, name, func.__module__, func.__name__])
    except Exception as e:  # noqa: BLE001
        out["failed"].append([kind, name, f"{type(e).__name__}: {e}"])
print("RESULT " + json.dumps(out))
"""


def registered_names():
    """(kind, name, module, function) of every registration in spacy_bio_rel/."""
    found = []
    for path in sorted((REPO / "spacy_bio_rel").rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        for m in DECORATOR.finditer(path.read_text(encoding="utf-8")):
            kind = "factories" if m["factory"] else m["kind"]
            found.append((kind, m["name"], module, m["function"]))
    return found


def declared_entry_points():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {
        (kind, name): target
        for kind, group in GROUPS.items()
        for name, target in project.get("entry-points", {}).get(group, {}).items()
    }


def test_every_registered_name_resolves_through_entry_points():
    names = registered_names()
    kinds = {kind for kind, *_ in names}
    assert kinds == set(GROUPS), f"registrations found: {sorted(kinds)}"  # the grep still sees them all
    assert ("architectures", "spacy-bio-rel.BioTagCNN.v3") in {(k, n) for k, n, *_ in names}
    declared = declared_entry_points()
    # each registration is declared in pyproject.toml, pointing at the decorated function
    missing = [f"{k}: {n} -> {m}:{f}" for k, n, m, f in names if declared.get((k, n)) != f"{m}:{f}"]
    assert not missing, f"registered but not declared as an entry point in pyproject.toml: {missing}"
    stale = sorted(set(declared) - {(k, n) for k, n, *_ in names})
    assert not stale, f"entry points without a registration: {stale}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    out = subprocess.run(
        [sys.executable, "-c", RESOLVE, json.dumps([[k, n] for k, n, *_ in names])],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    (line,) = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")] or [None]
    assert line, out.stderr[-3000:]
    result = json.loads(line[7:])
    assert result["imported_before"] == []  # nothing of ours was imported but through entry points
    assert not result["failed"], result["failed"]
    assert sorted(tuple(r) for r in result["resolved"]) == sorted(names)
