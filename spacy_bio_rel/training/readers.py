"""Corpus readers: the gold-entity setting of the paper, and end to end.

``spacy-bio-rel.GoldEntsCorpus.v1`` reads DocBins and gives Examples whose
predicted Doc is a copy of the reference with its entities (and sentence
boundaries) but without relations: the relation extractor then sees gold
entities, as in the paper. Optionally it samples negative candidate pairs at a
fixed negative:positive ratio (the paper's Figure 3), by marking the dropped
negatives so that ``update`` skips them; entities and their BIO tags stay.
Its ``sentence_window`` (that of the component) says which pairs are candidates
there: with ``k > 1`` the cross-sentence ones too, positives and negatives.

``spacy-bio-rel.EndToEndCorpus.v1`` gives Examples whose predicted Doc has the
reference's tokens and sentence boundaries but no entities and no relations:
for a pipeline with ``ner`` before the relation extractor (an ``ner``
respects entities already on a Doc, so they must not be there). The
relation extractor trains on the reference's entities (teacher forcing) and
predicts over the ``ner``'s.
"""

import contextlib
import random
import zlib
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.training.corpus import walk_corpus
from spacy.util import ensure_path, registry
from spacy.vocab import Vocab
from srsly.msgpack import msgpack_decoders

from spacy_bio_rel.candidates import OTHER, check_sentence_window, iter_candidates
from spacy_bio_rel.relations import USER_DATA_KEY
from spacy_bio_rel.training.gold import gold_label, learn_type_pairs, relation_index

SKIP_PAIRS_KEY = "spacy_bio_rel.skip_pairs"


@contextlib.contextmanager
def msgpack_decoders_looked_up_once():
    """Let srsly look its msgpack decoders up once instead of once per Doc.

    ``DocBin.get_docs`` unpacks each Doc's user data (where relations live)
    with ``srsly.msgpack_loads``, which asks the decoder registry for all
    entries, scanning the installed packages' entry points, on every call:
    about 0.7 ms per Doc, more than half a minute per pass over SanWen's
    47,348 Docs. Inside this block the registry answers from one lookup.
    """
    if "get_all" in vars(msgpack_decoders):  # already inside such a block
        yield
        return
    decoders = msgpack_decoders.get_all()
    msgpack_decoders.get_all = lambda: decoders  # an instance attribute shadows the method
    try:
        yield
    finally:
        del msgpack_decoders.get_all


def docs_from_docbin(path: Union[str, Path], vocab: Vocab) -> List[Doc]:
    """All Docs of one ``.spacy`` file, user data (relations) included.

    A missing, empty or unreadable file is a ValueError naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"DocBin file {path} does not exist")
    if path.stat().st_size == 0:
        raise ValueError(f"DocBin file {path} is empty (0 bytes)")
    try:
        with msgpack_decoders_looked_up_once():
            return list(DocBin().from_disk(path).get_docs(vocab))
    except (ValueError, KeyError, TypeError, zlib.error) as e:
        raise ValueError(f"DocBin file {path} cannot be read (not a .spacy file, or truncated): {e}") from e


def read_docbin_docs(path: Union[str, Path], nlp: Language, limit: int = 0) -> List[Doc]:
    path = ensure_path(path)
    if path is None or not path.exists():
        raise ValueError(f"Corpus path does not exist: {path}")
    docs: List[Doc] = []
    for loc in walk_corpus(path, ".spacy"):
        docs.extend(docs_from_docbin(loc, nlp.vocab))
        if limit and len(docs) >= limit:
            return docs[:limit]
    return docs


def sample_negatives(
    docs: List[Doc], ratio: float, directed: bool, seed: int, sentence_window: int = 1
) -> List[List[List[int]]]:
    """Per doc, the negative pairs to skip so that negatives : positives = ratio.

    Candidates are the pairs of :func:`~.candidates.iter_candidates` with ``sentence_window`` (with
    ``k > 1`` the cross-sentence pairs too, counted as positives or negatives) that pass the type
    filter learned from ``docs`` with the same window.
    """
    allowed = learn_type_pairs(docs, directed, sentence_window)
    pos, neg = 0, []
    for d, doc in enumerate(docs):
        index = relation_index(doc)
        for c in iter_candidates(doc, directed, sentence_window=sentence_window):
            if c.type_pair(directed) not in allowed:
                continue
            if gold_label(index, c, directed) == OTHER:
                neg.append((d, [c.head[0], c.head[1], c.tail[0], c.tail[1]]))
            else:
                pos += 1
    keep = min(len(neg), int(round(ratio * pos)))
    rng = random.Random(seed)
    order = list(range(len(neg)))
    rng.shuffle(order)
    skip: List[List[List[int]]] = [[] for _ in docs]
    for i in order[keep:]:
        d, key = neg[i]
        skip[d].append(key)
    return skip


@registry.readers("spacy-bio-rel.GoldEntsCorpus.v1")
def create_gold_ents_corpus(
    path: Optional[Path],
    limit: int = 0,
    shuffle: bool = False,
    negative_ratio: Optional[float] = None,
    directed: bool = True,
    seed: int = 0,
    sentence_window: int = 1,
) -> Callable[[Language], Iterator[Example]]:
    """Examples with gold entities on the predicted Doc (the paper's setting).

    ``negative_ratio``: keep at most this many negative candidates per positive (sampled with ``seed``;
    None keeps them all); a number of at least 0. ``sentence_window``: the candidates the ratio
    counts, as the component's setting of that name (set them alike; 1: in-sentence pairs only)."""
    if negative_ratio is not None and not (isinstance(negative_ratio, (int, float)) and negative_ratio >= 0):
        raise ValueError(
            f"negative_ratio must be a number of at least 0 (or null for all), got {negative_ratio!r}"
        )
    check_sentence_window(sentence_window)

    def reader(nlp: Language) -> Iterator[Example]:
        docs = read_docbin_docs(path, nlp, limit)
        skips = None
        if negative_ratio is not None:
            skips = sample_negatives(docs, negative_ratio, directed, seed, sentence_window)
        for i, pred, ref in _copies(docs, shuffle):
            if skips is not None:
                pred.user_data[SKIP_PAIRS_KEY] = skips[i]
            yield Example(pred, ref)

    return reader


def _copies(docs: List[Doc], shuffle: bool) -> Iterator[Tuple[int, Doc, Doc]]:
    """``(index, predicted, reference)``: the predicted Doc a copy of the reference without relations."""
    order = list(range(len(docs)))
    if shuffle:
        random.shuffle(order)
    for i in order:
        pred = docs[i].copy()
        pred.user_data.pop(USER_DATA_KEY, None)
        yield i, pred, docs[i]


@registry.readers("spacy-bio-rel.EndToEndCorpus.v1")
def create_end_to_end_corpus(
    path: Optional[Path], limit: int = 0, shuffle: bool = False
) -> Callable[[Language], Iterator[Example]]:
    """Examples whose predicted Doc has gold tokens and sentences, no entities, no relations."""

    def reader(nlp: Language) -> Iterator[Example]:
        for _, pred, ref in _copies(read_docbin_docs(path, nlp, limit), shuffle):
            pred.ents = []
            yield Example(pred, ref)

    return reader
