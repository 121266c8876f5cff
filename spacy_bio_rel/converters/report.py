"""ConversionReport: what a converter read, kept, changed and left out.

Every item a converter leaves out goes through :meth:`ConversionReport.drop`
(a reason, the file and item, a message); every item it keeps but changes
(a token split, a span expanded, a stored text that differs from the text at
its offsets) goes through :meth:`ConversionReport.note`. Counts are kept per
reason with the first few examples, so nothing is skipped silently.
"""

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

from spacy.attrs import SENT_START
from spacy.tokens import Doc

from spacy_bio_rel.relations import relation_keys
from spacy_bio_rel.training.gold import count_candidates, learn_type_pairs

MAX_EXAMPLES = 5


def count_sentences(doc: Doc) -> int:
    """Sentences of ``doc`` (1 when sentence boundaries are unset, 0 when empty)."""
    if not len(doc):
        return 0
    if not doc.has_annotation("SENT_START"):
        return 1
    return int((doc.to_array([SENT_START]).astype("int64") == 1).sum()) or 1


@dataclass
class ConversionReport:
    """Counts of one conversion run; printed as a table, written as JSON."""

    source: str = ""
    settings: Dict[str, object] = field(default_factory=dict)
    documents: int = 0
    sentences: int = 0
    entities: Counter = field(default_factory=Counter)
    relations: Counter = field(default_factory=Counter)
    drops: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)
    examples: Dict[str, List[str]] = field(default_factory=dict)
    stats: Counter = field(default_factory=Counter)  # extra figures, e.g. before overlap resolution
    splits: Dict[str, Dict[str, object]] = field(default_factory=dict)
    verbose: bool = False

    # -- recording --------------------------------------------------------
    def _example(self, reason: str, where: str, message: str) -> str:
        text = f"{where}: {message}" if message else where
        examples = self.examples.setdefault(reason, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(text)
        return text

    def drop(self, reason: str, where: str, message: str = "", n: int = 1) -> None:
        """Count ``n`` items left out for ``reason``; ``where`` names file and item."""
        self.drops[reason] += n
        text = self._example(reason, where, message)
        if self.verbose:
            print(f"[dropped: {reason}] {text}", file=sys.stderr)

    def note(self, reason: str, where: str, message: str = "", n: int = 1) -> None:
        """Count ``n`` items kept but changed or questionable (never silently)."""
        self.notes[reason] += n
        text = self._example(reason, where, message)
        if self.verbose:
            print(f"[note: {reason}] {text}", file=sys.stderr)

    def add_doc(self, doc: Doc) -> None:
        """Count the sentences, entities and relations of one output Doc."""
        self.sentences += count_sentences(doc)
        for ent in doc.ents:
            self.entities[ent.label_] += 1
        for _, _, label in relation_keys(doc):
            self.relations[label] += 1

    def add_split(
        self,
        name: str,
        docs: List[Doc],
        n_documents: int,
        path: Optional[Path],
        type_pairs_from: Optional[List[Doc]] = None,
        filter_source: str = "itself",
        sentence_window: int = 1,
    ) -> None:
        """Candidate counts of one output part (file), both approaches, of the pairs at most
        ``sentence_window - 1`` sentence boundaries apart (the type filter learned at that window)."""
        n_ents = sum(len(d.ents) for d in docs)
        n_rels = sum(len(relation_keys(d)) for d in docs)
        counts: Dict[str, Dict[str, int]] = {}
        for approach, directed in (("unordered", False), ("ordered", True)):
            pairs = None
            if type_pairs_from is not None:
                pairs = learn_type_pairs(type_pairs_from, directed, sentence_window)
            counts[approach] = count_candidates(docs, pairs, sentence_window)[approach]
        self.splits[name] = {
            "path": str(path) if path is not None else None,
            "documents": n_documents,
            "docs_written": len(docs),
            "sentences": sum(count_sentences(d) for d in docs),
            "entities": n_ents,
            "relations": n_rels,
            "type_filter_learned_from": filter_source,
            "candidates_sentence_window": sentence_window,
            "candidates": counts,
        }

    # -- output -----------------------------------------------------------
    def to_dict(self) -> Dict[str, object]:
        return {
            "source": self.source,
            "settings": self.settings,
            "documents": self.documents,
            "sentences": self.sentences,
            "entities": {"total": sum(self.entities.values()), **dict(sorted(self.entities.items()))},
            "relations": {"total": sum(self.relations.values()), **dict(sorted(self.relations.items()))},
            "dropped": {"total": sum(self.drops.values()), **dict(sorted(self.drops.items()))},
            "notes": dict(sorted(self.notes.items())),
            "stats": dict(sorted(self.stats.items())),
            "examples": {k: v for k, v in sorted(self.examples.items())},
            "splits": self.splits,
        }

    def write_json(self, path: Union[str, Path]) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def format_table(self) -> str:
        return format_report(self.to_dict())

    def __str__(self) -> str:
        return self.format_table()


def ratio(pos: int, neg: int) -> str:
    """``1:N`` positive to negative, N rounded to one decimal."""
    if pos == 0:
        return "no positives" if neg else "-"
    return f"1:{neg / pos:.1f}"


def _rows(title: str, items: Iterable[Tuple[str, object]]) -> List[str]:
    items = list(items)
    if not items:
        return []
    width = max(len(str(k)) for k, _ in items)
    return [title] + [
        f"  {str(k):<{width}}  {v:>10,}" if isinstance(v, int) else f"  {str(k):<{width}}  {v}"
        for k, v in items
    ]


def format_report(data: Dict[str, object]) -> str:
    """A readable table of a report dict (as written by ``to_dict``)."""
    lines = [f"Conversion report: {data.get('source', '')}"]
    lines += _rows(
        "Totals",
        [
            ("documents", data["documents"]),
            ("sentences", data["sentences"]),
            ("entity mentions", data["entities"]["total"]),
            ("relation mentions", data["relations"]["total"]),
            ("items left out", data["dropped"]["total"]),
        ],
    )
    lines += _rows("Entity mentions by type", [(k, v) for k, v in data["entities"].items() if k != "total"])
    lines += _rows(
        "Relation mentions by type", [(k, v) for k, v in data["relations"].items() if k != "total"]
    )
    lines += _rows("Left out, by reason", [(k, v) for k, v in data["dropped"].items() if k != "total"])
    lines += _rows("Kept with a note, by reason", list(data["notes"].items()))
    lines += _rows("Other figures", list(data.get("stats", {}).items()))
    if data["examples"]:
        lines.append("Examples (first few per reason)")
        for reason, examples in data["examples"].items():
            for ex in examples:
                lines.append(f"  [{reason}] {ex}")
    for name, split in data["splits"].items():
        lines.append(f"Output '{name}': {split['path']}")
        lines.append(
            f"  documents {split['documents']:,}, Docs written {split['docs_written']:,}, "
            f"sentences {split['sentences']:,}, entities {split['entities']:,}, "
            f"relations {split['relations']:,}"
        )
        window = split.get("candidates_sentence_window", 1)
        reach = f"sentence_window {window}, cross-sentence pairs included; " if window > 1 else ""
        lines.append(f"  candidates ({reach}type filter learned from {split['type_filter_learned_from']}):")
        lines.append(
            f"    {'approach':<10} {'total':>9} {'pos':>7} {'neg':>9} {'pos:neg':>8} | "
            f"{'filtered':>9} {'pos':>7} {'neg':>9} {'pos:neg':>8} {'pos lost':>8}"
        )
        for approach, c in split["candidates"].items():
            lines.append(
                f"    {approach:<10} {c['total']:>9,} {c['positive']:>7,} {c['negative']:>9,} "
                f"{ratio(c['positive'], c['negative']):>8} | {c['filtered_total']:>9,} "
                f"{c['filtered_positive']:>7,} {c['filtered_negative']:>9,} "
                f"{ratio(c['filtered_positive'], c['filtered_negative']):>8} "
                f"{c['positive_removed_by_filter']:>8,}"
            )
    return "\n".join(lines)
