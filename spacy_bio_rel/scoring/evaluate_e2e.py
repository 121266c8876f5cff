"""Evaluation with predicted entities, and the threshold sweep, for ``spacy-bio-rel evaluate``.

``--entities gold`` (the default) is the protocol's gold-entity setting of
:mod:`.evaluate`; ``--entities predicted`` runs the whole pipeline on the
reference Docs' tokens and sentences without their entities and relations
(``spacy-bio-rel.EndToEndCorpus.v1``, gold tokenisation as in the CoNLL04
literature) and reports entity P/R/F1 and the strict
end-to-end relation scores of :mod:`.e2e_scorer`, split into in-sentence and
cross-sentence relations (:mod:`.distance`, with the strict keys) when the
component's ``sentence_window`` is above 1 or the data has cross-sentence gold
relations. ``--sweep`` prints P/R/F1 over cut-offs on ``Relation.score``
(:mod:`.sweep`) in either setting.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from spacy.language import Language
from spacy.training import Example

from spacy_bio_rel.scoring.distance import format_distance_scores, scores_by_distance
from spacy_bio_rel.scoring.e2e_scorer import doc_relation_keys, format_e2e, score_e2e
from spacy_bio_rel.scoring.evaluate import gold_entity_examples
from spacy_bio_rel.scoring.sweep import (
    SweepRow,
    best_cutoff,
    best_row,
    collect_scored,
    default_cutoffs,
    format_sweep,
    sweep,
)
from spacy_bio_rel.training.readers import create_end_to_end_corpus
from spacy_bio_rel.util import load_pipeline, relation_component, require_entity_setter

ENTITY_SETTINGS = ("gold", "predicted")


def _load(nlp: Union[Language, str, Path]) -> Language:
    return load_pipeline(nlp)


def reference_examples(nlp: Language, data_path: Union[str, Path]) -> List[Example]:
    """Examples whose predicted Doc has the reference's tokens and sentences, no entities, no relations."""
    examples = list(create_end_to_end_corpus(Path(data_path))(nlp))
    if not examples:
        raise ValueError(f"No documents found in {data_path}")
    return examples


def evaluate_predicted_entities(
    nlp: Union[Language, str, Path], data_path: Union[str, Path], *, batch_size: int = 64
) -> Dict[str, Any]:
    """Entity P/R/F1 and strict end-to-end relation scores of the whole pipeline on raw text."""
    nlp = _load(nlp)
    component = relation_component(nlp)
    require_entity_setter(nlp)
    examples = reference_examples(nlp, data_path)
    docs = nlp.pipe((eg.predicted for eg in examples), batch_size=batch_size)
    examples = [Example(doc, eg.reference) for doc, eg in zip(docs, examples)]
    pipe = nlp.get_pipe(component)
    directed = bool(pipe.cfg.get("directed", True))
    out = score_e2e(examples, directed=directed)
    window = int(pipe.cfg.get("sentence_window", 1))
    split = scores_by_distance(examples, directed, window, keys=doc_relation_keys)
    if window > 1 or split["cross_sentence"]["n_gold"]:
        out["by_distance"] = split
    out.update(
        {
            "entities": "predicted",
            "data": str(data_path),
            "docs": len(examples),
            "pipeline": list(nlp.pipe_names),
            "component_settings": {k: v for k, v in pipe.cfg.items() if k not in ("units", "type_pairs")},
            "training_seed": nlp.config["training"].get("seed"),
        }
    )
    return out


def sweep_dataset(
    nlp: Union[Language, str, Path],
    data_path: Union[str, Path],
    *,
    entities: str = "gold",
    cutoffs: Optional[Sequence[float]] = None,
    negative_ratio: Optional[float] = None,
    seed: int = 0,
    batch_size: int = 64,
) -> Dict[str, Any]:
    """Run the pipeline once with no threshold and score every cut-off of ``cutoffs``
    (default: 21 evenly spaced, see :func:`.sweep.default_cutoffs`)."""
    if entities not in ENTITY_SETTINGS:
        raise ValueError(f"entities must be one of {ENTITY_SETTINGS}, got {entities!r}")
    nlp = _load(nlp)
    component = relation_component(nlp)
    if entities == "predicted":
        require_entity_setter(nlp)
        examples = reference_examples(nlp, data_path)
    else:
        examples = gold_entity_examples(nlp, data_path, component, negative_ratio, seed)
    gold, predicted = collect_scored(
        nlp, examples, component=component, predicted_entities=entities == "predicted", batch_size=batch_size
    )
    grid = list(cutoffs) if cutoffs else default_cutoffs([s for _, s in predicted])
    rows = sweep(gold, predicted, grid)
    best, exact = best_row(rows), best_cutoff(gold, predicted)
    return {
        "entities": entities,
        "data": str(data_path),
        "docs": len(examples),
        "threshold": nlp.get_pipe(component).cfg["threshold"],
        "rows": [r.as_dict() for r in rows],
        "best": best.as_dict() if best else None,
        "best_over_all_scores": exact.as_dict() if exact else None,
        "negative_ratio": negative_ratio,
        "seed": seed,
    }


def parse_cutoffs(text: Optional[str]) -> Optional[List[float]]:
    """``"0,0.25,0.5"`` or ``"0:1:0.05"`` (start:stop:step, stop included) -> cut-offs."""
    if not text:
        return None
    text = text.strip()
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            n = int(round((stop - start) / step))
            return [round(start + i * step, 10) for i in range(n + 1)]
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(
            f"cut-offs must be a comma-separated list or start:stop:step, got {text!r}"
        ) from None


def describe(scores: Dict[str, Any]) -> str:
    """The plain-text report of :func:`evaluate_predicted_entities` or :func:`sweep_dataset`."""
    head = f"data: {scores['data']} ({scores['docs']} docs); entities: {scores['entities']}"
    if "rows" in scores:

        def row(d):
            return SweepRow(**d) if d else None

        text = format_sweep(
            [row(d) for d in scores["rows"]], row(scores["best"]), row(scores["best_over_all_scores"])
        )
        return "\n".join(
            [head + f"; sweep over Relation.score (component threshold {scores['threshold']})", text]
        )
    lines = [head] + format_e2e(scores)
    if "by_distance" in scores:
        lines += format_distance_scores(scores["by_distance"])
    return "\n".join(lines)
