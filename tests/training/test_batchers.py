from conftest import make_doc, planted_docs
from spacy.training import Example

from spacy_bio_rel.training.batchers import configure_batch_by_pairs, count_pairs


def test_count_pairs(nlp_en):
    doc = planted_docs(nlp_en, 1)[0]
    assert count_pairs(doc, True) == 6 and count_pairs(doc, False) == 3
    assert count_pairs(make_doc(nlp_en, ["a"], [(0, 1, "X")])) == 0


def test_batches_of_about_size_pairs(nlp_en):
    examples = [Example(d, d) for d in planted_docs(nlp_en, 100)]
    batches = list(configure_batch_by_pairs(size=60, tolerance=0.2)(examples))
    assert sum(len(b) for b in batches) == 100
    sizes = [sum(count_pairs(eg.predicted) for eg in b) for b in batches]
    assert all(s <= 72 for s in sizes) and max(sizes) >= 54


def test_pairs_are_counted_on_the_reference_entities(nlp_en):
    """End-to-end corpora give predicted Docs without entities: the batches must still hold
    about ``size`` training pairs, not the whole corpus."""
    examples = []
    for ref in planted_docs(nlp_en, 100):
        pred = ref.copy()
        pred.ents = []
        examples.append(Example(pred, ref))
    batches = list(configure_batch_by_pairs(size=60, tolerance=0.2)(examples))
    assert len(batches) >= 10
    assert all(sum(count_pairs(eg.reference) for eg in b) <= 72 for b in batches)
