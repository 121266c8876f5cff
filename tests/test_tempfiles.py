"""Writing outputs in one step (spacy_bio_rel/tempfiles.py): publish, atomic_output, staging_folder."""

import errno
import os

import pytest

from spacy_bio_rel import tempfiles
from spacy_bio_rel.tempfiles import NoHardLinksError, atomic_output, publish, staging_folder, temp_path


def _file(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _folder(path, **files):
    path.mkdir()
    for name, text in files.items():
        _file(path / name, text)
    return path


def _tree(folder):
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


def test_publish_replaces_a_file_and_a_folder(tmp_path):
    out = _file(tmp_path / "out.jsonl", "old")
    publish(_file(tmp_path / "new.tmp", "new"), out)
    assert out.read_text() == "new" and not (tmp_path / "new.tmp").exists()

    folder = _folder(tmp_path / "model", a="old a", stale="gone")
    publish(_folder(tmp_path / "model.tmp", a="new a"), folder)
    assert _tree(folder) == {"a": "new a"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "out.jsonl"]  # no .old left


def test_exclusive_publish_keeps_what_is_there_and_names_it(tmp_path):
    out = _file(tmp_path / "out.jsonl", "written by another run")
    tmp = _file(tmp_path / ".out.jsonl.1.tmp", "mine")
    with pytest.raises(FileExistsError) as e:
        publish(tmp, out, exclusive=True)
    assert e.value.filename == str(out)
    assert out.read_text() == "written by another run" and tmp.read_text() == "mine"

    fresh = tmp_path / "fresh.jsonl"
    publish(tmp, fresh, exclusive=True)
    assert fresh.read_text() == "mine" and not tmp.exists()

    folder = _folder(tmp_path / "shards", part="theirs")
    mine = _folder(tmp_path / "shards.tmp", part="mine")
    with pytest.raises(FileExistsError) as e:
        publish(mine, folder, exclusive=True)
    assert e.value.filename == str(folder) and _tree(folder) == {"part": "theirs"}


def test_exclusive_folder_publish_onto_a_folder_that_appeared_meanwhile(tmp_path, monkeypatch):
    """The existence check passes, then another run's folder appears before the rename."""
    target = tmp_path / "shards"
    mine = _folder(tmp_path / "shards.tmp", part="mine")
    real_exists = type(target).exists

    def appears(self):
        if self == target and not real_exists(self):
            _folder(target, part="theirs")
            return False
        return real_exists(self)

    monkeypatch.setattr(type(target), "exists", appears)
    with pytest.raises(FileExistsError) as e:
        publish(mine, target, exclusive=True)
    assert e.value.filename == str(target) and _tree(target) == {"part": "theirs"}


def test_exclusive_publish_without_hard_links_is_a_clear_error(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise OSError(errno.EPERM, os.strerror(errno.EPERM), src, None, dst)

    monkeypatch.setattr(os, "link", no_links)
    tmp = _file(tmp_path / "x.tmp", "mine")
    with pytest.raises(NoHardLinksError, match="hard links") as e:
        publish(tmp, tmp_path / "out.jsonl", exclusive=True)
    assert e.value.filename == str(tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_a_failed_folder_swap_puts_the_previous_folder_back(tmp_path, monkeypatch):
    folder = _folder(tmp_path / "model", a="old")
    new = _folder(tmp_path / "model.tmp", a="new")
    real_rename = os.rename

    def second_fails(src, dst):
        if str(src) == str(new):
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(src))
        return real_rename(src, dst)

    monkeypatch.setattr(tempfiles.os, "rename", second_fails)
    with pytest.raises(OSError) as e:
        publish(new, folder)
    assert e.value.filename == str(folder)  # the output, not the temporary
    assert _tree(folder) == {"a": "old"} and not temp_path(folder, "old").exists()


def test_atomic_output_publishes_on_success_and_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "sub" / "out.jsonl"
    with atomic_output(out) as tmp:
        assert tmp == temp_path(out)
        _file(tmp, "done")
    assert out.read_text() == "done" and os.listdir(out.parent) == ["out.jsonl"]

    with pytest.raises(OSError) as e:
        with atomic_output(tmp_path / "shards", folder=True) as tmp:
            assert tmp.is_dir()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp / "part-00000.jsonl"))
    assert e.value.filename == str(tmp_path / "shards" / "part-00000.jsonl")
    assert sorted(os.listdir(tmp_path)) == ["sub"]


def test_staging_folder_names_the_outputs_and_is_removed(tmp_path):
    with pytest.raises(OSError) as e:
        with staging_folder(tmp_path, "convert") as tmp:
            assert tmp.parent == tmp_path and tmp.name.startswith(f".convert-{os.getpid()}-")
            publish(_file(tmp / "train.spacy", "x"), tmp_path / "train.spacy")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp / "dev.spacy"))
    assert e.value.filename == str(tmp_path / "dev.spacy")
    assert os.listdir(tmp_path) == ["train.spacy"]
