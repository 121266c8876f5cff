"""Counts from /work/shared/datasets/README.md, when the shared datasets are present."""

from pathlib import Path

import pytest

from spacy_bio_rel.converters.brat import BratSettings
from spacy_bio_rel.converters.docs import DocSettings
from spacy_bio_rel.converters.pipeline import OutputSettings, convert_brat, convert_conll04

SHARED = (Path(__file__).resolve().parents[2] / "../shared/datasets").resolve()


@pytest.mark.skipif(not (SHARED / "conll04/train.json").exists(), reason="shared datasets not present")
def test_conll04_train_counts(tmp_path):
    report = convert_conll04(SHARED / "conll04/train.json", OutputSettings(tmp_path, name="train"))
    assert report.documents == 922
    assert sum(report.entities.values()) == 3377
    assert sum(report.relations.values()) == 1283
    assert report.splits["train"]["candidates"]["ordered"]["total"] == 11998
    assert not report.drops


@pytest.mark.skipif(not (SHARED / "sanwen/dev").exists(), reason="shared datasets not present")
def test_sanwen_dev_counts(tmp_path):
    report = convert_brat(
        SHARED / "sanwen/dev", OutputSettings(tmp_path, name="dev"), BratSettings(), DocSettings(lang="zh")
    )
    assert report.documents == 58
    # README: 11,641 entities (discontinuous ones left out), 1,347 relations, 1,032 inside one sentence
    assert (
        report.stats["entities_before_overlap_resolution"] + report.drops["entity_crosses_sentence"] == 11641
    )
    n_rel = sum(report.relations.values()) + sum(
        report.drops[k] for k in ("cross_sentence_relation", "argument_left_out", "argument_lost_to_overlap")
    )
    assert n_rel + report.notes["duplicate_relation_merged"] == 1347
    assert report.drops["coreference_excluded"] == 0
