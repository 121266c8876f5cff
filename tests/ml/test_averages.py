"""`use_averages = true` reaches the torch network (spacy_bio_rel/ml/averages.py)."""

import numpy
import spacy
import torch
from conftest import planted_docs
from spacy.util import fix_random_seed
from util import SMALL_MODEL, gold_examples

from spacy_bio_rel.ml.architectures import torch_module
from spacy_bio_rel.training.optimizers import configure_rmsprop


def _trained(use_averages: bool):
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("relation_extractor", config={"model": SMALL_MODEL, "directed": True})
    examples = gold_examples(planted_docs(nlp))
    nlp.initialize(lambda: examples)
    optimizer = configure_rmsprop(learn_rate=0.01, use_averages=use_averages)
    for _ in range(3):
        for i in range(0, len(examples), 8):
            nlp.update(examples[i : i + 8], sgd=optimizer)
    return nlp, optimizer, examples


def _scores(nlp, examples):
    _, scores = nlp.get_pipe("relation_extractor").predict([eg.predicted for eg in examples])
    return numpy.concatenate(scores)


def test_nlp_use_params_puts_the_averages_into_the_torch_network_and_restores_the_weights():
    nlp, optimizer, examples = _trained(use_averages=True)
    net = torch_module(nlp.get_pipe("relation_extractor").model)
    current = {n: p.detach().clone() for n, p in net.named_parameters()}
    before = _scores(nlp, examples)  # builds the prediction tables at the current weights
    with nlp.use_params(optimizer.averages):
        inside = {n: p.detach().clone() for n, p in net.named_parameters()}
        averaged = _scores(nlp, examples)
    after = _scores(nlp, examples)
    averages = {name: avg for (_, name), avg in optimizer.averages.items() if isinstance(name, str)}
    assert set(averages) == set(current)  # every torch parameter has an average
    for name, avg in averages.items():
        assert numpy.allclose(inside[name].numpy(), avg), name
    assert any(not torch.equal(inside[n], current[n]) for n in current)
    for n, p in net.named_parameters():
        assert torch.equal(p.detach(), current[n]), n
    assert not numpy.allclose(before, averaged)  # tables rebuilt for the averaged weights
    numpy.testing.assert_array_equal(before, after)

    # the averaged scores are those of a network that holds the averages as its weights
    with torch.no_grad():
        for n, p in net.named_parameters():
            p.copy_(torch.from_numpy(numpy.asarray(averages[n])))
    numpy.testing.assert_allclose(_scores(nlp, examples), averaged, rtol=1e-5, atol=1e-5)


def test_without_averages_use_params_changes_nothing():
    nlp, optimizer, examples = _trained(use_averages=False)
    assert optimizer.averages is None
    before = _scores(nlp, examples)
    with nlp.use_params({}):
        numpy.testing.assert_array_equal(_scores(nlp, examples), before)
