import pytest

from spacy_bio_rel.converters.splits import assign_by_lists, kfold, normalize_id, read_id_list


def test_kfold_disjoint_complete_deterministic():
    ids = [f"d{i}" for i in range(23)]
    folds = kfold(ids, 5, seed=1)
    assert len(folds) == 5 and sorted(sum(folds, [])) == sorted(ids)
    assert all(4 <= len(f) <= 5 for f in folds)
    assert folds == kfold(list(reversed(ids)), 5, seed=1)
    assert folds != kfold(ids, 5, seed=2)
    with pytest.raises(ValueError):
        kfold(ids[:3], 5)


def test_id_lists(tmp_path):
    (tmp_path / "train.txt").write_text("# comment\npath/to/A.apf.xml\nB\n\nZ\n")
    (tmp_path / "dev.txt").write_text("C.sgm\nB\n")
    lists = {"train": read_id_list(tmp_path / "train.txt"), "dev": read_id_list(tmp_path / "dev.txt")}
    assert lists["train"] == ["A", "B", "Z"]
    parts, unassigned, missing, dups = assign_by_lists(["A", "B", "C", "D"], lists)
    assert parts == {"train": ["A", "B"], "dev": ["C"]}
    assert unassigned == ["D"] and missing["train"] == ["Z"] and dups == ["B"]
    assert normalize_id("x/y/7.ann") == "7"
