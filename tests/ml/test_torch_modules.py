import torch
from thinc.api import PyTorchWrapper, chain

from spacy_bio_rel.ml.torch_modules import wrapped_modules


def test_wrapped_modules_finds_each_torch_module_once_in_the_layers():
    a, b = torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)
    wa = PyTorchWrapper(a)
    model = chain(wa, PyTorchWrapper(b), wa)
    assert wrapped_modules(model) == [a, b]
    assert wrapped_modules(None) == [] and wrapped_modules(object()) == []
