"""scripts/fetch_assets.py: the SHARED_DATASETS override and the offline message."""

import urllib.error
import urllib.request

import pytest
from conftest import load_script


@pytest.fixture
def fetch():
    return load_script("fetch_assets")


def offline(*args, **kwargs):
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


@pytest.mark.parametrize("corpus", ["conll04", "sanwen"])
def test_offline_without_shared_copy_is_one_line(fetch, tmp_path, monkeypatch, corpus):
    monkeypatch.delenv("SHARED_DATASETS", raising=False)
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(SystemExit) as e:
        fetch.main([corpus, "--shared", str(tmp_path / "nowhere"), "--dest", str(tmp_path / "dest")])
    msg = str(e.value.code)
    assert msg.startswith("Error: no local copy at ") and str(tmp_path / "nowhere" / corpus) in msg
    assert "SHARED_DATASETS" in msg and str(tmp_path / "dest") in msg and "\n" not in msg


def test_shared_datasets_environment_variable_overrides_the_option(fetch, tmp_path, monkeypatch):
    shared = tmp_path / "mine" / "conll04"
    shared.mkdir(parents=True)
    for name in fetch.CONLL04_FILES:
        (shared / name).write_text("[]")
    monkeypatch.setenv("SHARED_DATASETS", str(tmp_path / "mine"))
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(
        fetch,
        "CONLL04_FILES",
        {k: (u, fetch.sha256_file(shared / k)) for k, (u, _) in fetch.CONLL04_FILES.items()},
    )
    fetch.main(["conll04", "--shared", str(tmp_path / "nowhere"), "--dest", str(tmp_path / "dest")])
    assert (tmp_path / "dest" / "train.json").read_text() == "[]"
