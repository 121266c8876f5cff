"""Prediction runs on the component's torch_threads and restores torch's setting."""

import spacy
import torch

from spacy_bio_rel.ml.threads import torch_threads


def test_context_sets_and_restores():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with torch_threads(0):
        assert torch.get_num_threads() == before


def test_restored_after_an_error():
    before = torch.get_num_threads()
    try:
        with torch_threads(1):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert torch.get_num_threads() == before


def test_component_predicts_on_its_threads(monkeypatch):
    from conftest import planted_docs
    from util import gold_examples, trained

    from spacy_bio_rel.ml.bio_tag_cnn import BioTagCNN

    nlp = trained()
    pipe = nlp.get_pipe("relation_extractor")
    seen = []
    forward = BioTagCNN.forward
    monkeypatch.setattr(
        BioTagCNN,
        "forward",
        lambda self, *a, **k: (seen.append(torch.get_num_threads()), forward(self, *a, **k))[1],
    )
    docs = [eg.predicted for eg in gold_examples(planted_docs(nlp, 4))]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        pipe.predict(docs)
        assert seen and set(seen) == {1} and torch.get_num_threads() == 2
        pipe.cfg["torch_threads"] = 0
        seen.clear()
        pipe.predict(docs)
        assert set(seen) == {2}
    finally:
        pipe.cfg["torch_threads"] = 1
        torch.set_num_threads(before)


def test_torch_threads_is_a_load_time_setting(tmp_path):
    """The saved cfg does not override the config the pipeline is loaded with."""
    from util import trained

    trained().to_disk(tmp_path / "p")
    nlp = spacy.load(tmp_path / "p", config={"components": {"relation_extractor": {"torch_threads": 0}}})
    assert nlp.get_pipe("relation_extractor").cfg["torch_threads"] == 0
    assert spacy.load(tmp_path / "p").get_pipe("relation_extractor").cfg["torch_threads"] == 1
