"""Plain data passed from the readers (ace, brat) to the Doc builder (docs)."""

from dataclasses import dataclass, field
from typing import List, Set


@dataclass
class MentionData:
    """An entity mention: character offsets ``[start, end)`` and a label."""

    id: str
    start: int
    end: int
    label: str
    entity_id: str = ""
    mention_type: str = ""


@dataclass
class RelationData:
    """A directed relation mention ``label(head, tail)`` between mention ids."""

    id: str
    head: str
    tail: str
    label: str


@dataclass
class SourceDocument:
    """A document as read from its files, before tokenisation."""

    id: str
    path: str
    text: str
    mentions: List[MentionData] = field(default_factory=list)
    relations: List[RelationData] = field(default_factory=list)
    breaks: List[int] = field(default_factory=list)  # char offsets of hard sentence breaks
    known_ids: Set[str] = field(default_factory=set)  # every mention id in the source, kept or not
