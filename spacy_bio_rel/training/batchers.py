"""Batches of about ``size`` candidate pairs (the paper trains on 256 pairs)."""

from typing import Callable, Iterable, Iterator, List

from spacy.training import Example
from spacy.training.batchers import minibatch_by_words
from spacy.util import registry

from spacy_bio_rel.candidates import sentence_bounds


def count_pairs(doc, directed: bool = True) -> int:
    """Candidate pairs of ``doc`` before the type filter (an upper bound)."""
    total = 0
    ents = list(doc.ents)
    if len(ents) < 2:
        return 0
    for start, end in sentence_bounds(doc):
        m = sum(1 for e in ents if e.start >= start and e.end <= end)
        total += m * (m - 1) if directed else m * (m - 1) // 2
    return total


@registry.batchers("spacy-bio-rel.batch_by_pairs.v1")
def configure_batch_by_pairs(
    size: int = 256, tolerance: float = 0.2, directed: bool = True
) -> Callable[[Iterable[Example]], Iterator[List[Example]]]:
    """Group examples into batches of about ``size`` candidate pairs.

    Counts are taken on the REFERENCE Docs' entities, the ones training reads
    (teacher forcing; the predicted Docs of an end-to-end corpus have none),
    before the type filter, so filtered batches are somewhat smaller. Docs are
    never split: a Doc with more pairs than ``size`` forms a batch of its own.
    Pairs of one sentence always stay together, so the shared per-sentence
    convolution pays off.
    """

    def batcher(examples: Iterable[Example]) -> Iterator[List[Example]]:
        get_length = lambda eg: count_pairs(eg.reference, directed)  # noqa: E731
        yield from minibatch_by_words(
            examples, size=size, tolerance=tolerance, discard_oversize=False, get_length=get_length
        )

    return batcher
