"""Evaluation in the gold-entity setting (../shared/docs/protocol.md).

``spacy evaluate`` builds the Docs it runs the pipeline on from raw text, so
they carry no entities; this module gives the pipeline the gold entities of
each reference Doc (without its relations), as the paper does, and reports
what the protocol asks for: micro P/R/F1 and per-label figures, the instance
count and positive:negative ratio after the type filter, the corpus, the
configuration and the seed; and the scores of in-sentence and cross-sentence
relations apart, with the gold relations beyond the component's
``sentence_window`` (:mod:`.distance`).
"""

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from spacy.language import Language
from spacy.scorer import Scorer
from spacy.training import Example

from spacy_bio_rel.candidates import OTHER
from spacy_bio_rel.ml.featurize import unknown_unit_rate, wide_pairs
from spacy_bio_rel.scoring.distance import format_distance_scores, scores_by_distance
from spacy_bio_rel.training.gold import gold_label, relation_index
from spacy_bio_rel.training.readers import create_gold_ents_corpus
from spacy_bio_rel.util import PipelineError, load_pipeline

UNKNOWN_WARNING = 0.5  # warn when more than this share of the units is unknown to the model


def instance_counts(
    nlp: Language, examples: List[Example], component: str = "relation_extractor"
) -> Dict[str, Any]:
    """Candidates after the type filter on the predicted Docs, and how many are positive."""
    pipe = nlp.get_pipe(component)
    directed = pipe.cfg["directed"]
    featurize = pipe.model.get_ref("featurize")
    capped = pipe.skipped["candidates_over_cap"]
    pos = neg = wide = 0
    for eg in examples:
        index = relation_index(eg.reference)
        cands = pipe.candidates(eg.predicted)
        wide += wide_pairs(featurize, eg.predicted, cands)
        for c in cands:
            if gold_label(index, c, directed) == OTHER:
                neg += 1
            else:
                pos += 1
    return {
        "instances": pos + neg,
        "positive": pos,
        "negative": neg,
        "ratio": f"1:{neg / pos:.1f}" if pos else "n/a",
        "directed": directed,
        "wide_pairs": wide,
        "candidates_over_cap": pipe.skipped["candidates_over_cap"] - capped,
    }


def gold_entity_examples(
    nlp: Language,
    data_path: Union[str, Path],
    component: str = "relation_extractor",
    negative_ratio: Optional[float] = None,
    seed: int = 0,
) -> List[Example]:
    """The DocBin(s) at ``data_path`` as Examples with gold entities on the predicted Docs."""
    pipe = nlp.get_pipe(component)
    reader = create_gold_ents_corpus(
        Path(data_path),
        negative_ratio=negative_ratio,
        directed=pipe.cfg["directed"],
        seed=seed,
        sentence_window=int(pipe.cfg.get("sentence_window", 1)),
    )
    examples = list(reader(nlp))
    if not examples:
        raise ValueError(f"No documents found in {data_path}")
    return examples


def evaluate_gold_entities(
    nlp: Union[Language, str, Path],
    data_path: Union[str, Path],
    *,
    negative_ratio: Optional[float] = None,
    seed: int = 0,
    component: str = "relation_extractor",
) -> Dict[str, Any]:
    """Scores of ``nlp`` on the DocBin(s) at ``data_path`` with gold entities."""
    where = "The pipeline" if isinstance(nlp, Language) else f"The pipeline {nlp}"
    nlp = load_pipeline(nlp)
    if component not in nlp.pipe_names:
        raise PipelineError(
            f"{where} has no {component!r} component (components: {', '.join(nlp.pipe_names) or 'none'})"
        )
    pipe = nlp.get_pipe(component)
    examples = gold_entity_examples(nlp, data_path, component, negative_ratio, seed)
    # nlp.evaluate scores copies it does not return; the split by distance reads the predictions too
    predicted = nlp.pipe(eg.predicted.copy() for eg in examples)
    annotated = [Example(doc, eg.reference) for doc, eg in zip(predicted, examples)]
    scores = Scorer(nlp=nlp).score(annotated)
    keep = (
        "rel_micro_p",
        "rel_micro_r",
        "rel_micro_f",
        "rel_n_gold",
        "rel_n_pred",
        "rel_n_correct",
        "rel_per_type",
    )
    out = {k: scores[k] for k in keep}
    out["data"] = str(data_path)
    out["docs"] = len(examples)
    out["docs_without_entities"] = sum(1 for eg in examples if not len(eg.predicted.ents))
    out["counts"] = instance_counts(nlp, examples, component)
    out["by_distance"] = scores_by_distance(
        annotated, pipe.cfg["directed"], int(pipe.cfg.get("sentence_window", 1))
    )
    out["negative_ratio"] = negative_ratio
    out["seed"] = seed
    out["component_settings"] = {k: v for k, v in pipe.cfg.items() if k != "type_pairs"}
    out["warnings"] = evaluation_warnings(pipe, examples, out)
    out["model"] = dict(nlp.config["components"][component]["model"])
    out["training_seed"] = nlp.config["training"].get("seed")
    return out


def evaluation_warnings(pipe, examples: List[Example], scores: Dict[str, Any]) -> List[str]:
    """What makes the figures meaningless: no gold relations, or data in
    another language or script than the model's (most units unknown)."""
    out = []
    if examples and all(not len(eg.predicted.ents) for eg in examples):
        out.append(
            f"no entities in the {len(examples)} docs: there are no candidate pairs, so every score is 0 "
            "(the gold-entity setting needs Docs with entities, doc.ents)"
        )
    if not scores["rel_n_gold"]:
        out.append("the data has no gold relations: recall and F1 are 0 by definition")
    rate = unknown_unit_rate(pipe.model.get_ref("featurize"), [eg.predicted for eg in examples])
    if rate > UNKNOWN_WARNING:
        out.append(
            f"{100 * rate:.0f}% of the words/characters are unknown to the model's vocabulary: "
            "is the data in the language (and granularity) the model was trained on?"
        )
    return out


def format_scores(scores: Dict[str, Any]) -> str:
    c = scores["counts"]
    lines = [f"warning: {w}" for w in scores.get("warnings", [])] + [
        f"data: {scores['data']} ({scores['docs']} docs"
        + (
            f", {scores['docs_without_entities']} without entities"
            if scores.get("docs_without_entities")
            else ""
        )
        + f"); instances after type filter: {c['instances']} "
        f"({c['positive']} positive, {c['ratio']}), {'ordered' if c['directed'] else 'unordered'} pairs; "
        f"{c.get('wide_pairs', 0)} with targets further apart than max_length (read in a glued window), "
        f"{c.get('candidates_over_cap', 0)} left out by max_candidates_per_sentence",
        f"micro  P {100 * scores['rel_micro_p']:6.2f}  R {100 * scores['rel_micro_r']:6.2f}  "
        f"F1 {100 * scores['rel_micro_f']:6.2f}   (gold {int(scores['rel_n_gold'])}, "
        f"predicted {int(scores['rel_n_pred'])}, correct {int(scores['rel_n_correct'])})",
    ]
    for label, s in scores["rel_per_type"].items():
        lines.append(f"  {label:<20} P {100 * s['p']:6.2f}  R {100 * s['r']:6.2f}  F1 {100 * s['f']:6.2f}")
    if "by_distance" in scores:
        lines += format_distance_scores(scores["by_distance"])
    return "\n".join(lines)


def write_scores(scores: Dict[str, Any], path: Union[str, Path]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(scores, indent=2, ensure_ascii=False), encoding="utf-8")
