"""ACE ``.sgm`` files -> plain text with the offsets the annotation counts.

SGML, not XML: tags are removed with a tolerant scanner (no XML parser), so
stray ``&``, unclosed or unbalanced tags and attribute-only tags do no harm.
A character reference (``&amp;``, ``&#38;``, ``&#x26;``) becomes the one
character it stands for; an ``&`` that starts no known reference stays as is.
The positions where tags were removed are kept: sentence splitting may treat
them as hard breaks (a headline never runs into the first paragraph).
"""

import html.entities
import re
from dataclasses import dataclass, field
from typing import List

from spacy_bio_rel.converters.textio import DEFAULT_ENCODING, read_text

# A tag: '<' followed by a name character, '/' or '!', up to the next '>'
# with no '<' in between. A lone '<' (e.g. "a < b") is text.
TAG_RE = re.compile(r"<[A-Za-z/!?][^<>]*>")
REF_RE = re.compile(r"&(#[0-9]{1,7};|#[xX][0-9A-Fa-f]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")


@dataclass
class SgmlText:
    """Plain text of an ``.sgm`` file and where markup tags were."""

    text: str
    tag_positions: List[int] = field(default_factory=list)


def resolve_reference(ref: str) -> str:
    """``#38;``/``#x26;``/``amp;`` -> the character; '' when unknown."""
    body = ref[:-1]
    try:
        if body.startswith(("#x", "#X")):
            return chr(int(body[2:], 16))
        if body.startswith("#"):
            return chr(int(body[1:]))
    except (ValueError, OverflowError):
        return ""
    return html.entities.html5.get(body + ";", "")


def _unescape(chunk: str) -> str:
    def repl(m: "re.Match[str]") -> str:
        char = resolve_reference(m.group(1))
        return char if char else m.group(0)

    return REF_RE.sub(repl, chunk)


def strip_sgml(raw: str) -> SgmlText:
    """Remove markup tags and resolve character references."""
    parts: List[str] = []
    positions: List[int] = []
    length = 0
    last = 0
    for m in TAG_RE.finditer(raw):
        chunk = _unescape(raw[last : m.start()])
        parts.append(chunk)
        length += len(chunk)
        positions.append(length)
        last = m.end()
    chunk = _unescape(raw[last:])
    parts.append(chunk)
    return SgmlText("".join(parts), positions)


def read_sgm(path, encoding: str = DEFAULT_ENCODING) -> SgmlText:
    """Read an ``.sgm`` file (strictly decoded, see :mod:`.textio`) and strip it."""
    return strip_sgml(read_text(path, encoding))
