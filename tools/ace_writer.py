"""Write ACE 2005-format files (.sgm + .apf.xml) from a small inline markup.

Used to build the embedded sample (assets/ace_sample/) and the test fixtures
(tests/fixtures/ace/). All text is written for the project, never LDC text.

Markup inside a paragraph:
    [E1-1 the new {director} of [E2-1 {Harbor Works}]]
``[ID ...]`` is a mention (nesting allowed); ``{...}`` inside it marks the
head (no braces: head = extent). ``E<n>-<m>`` is mention m of entity E<n>,
``V..`` a value, ``T..`` a timex2. Entities are typed in ``entities``.
"""

import re
from typing import Dict, List, Sequence, Tuple
from xml.sax.saxutils import escape

PRONOUNS = {
    "he",
    "she",
    "it",
    "they",
    "his",
    "her",
    "its",
    "their",
    "him",
    "them",
    "we",
    "our",
    "他",
    "她",
    "他们",
    "她们",
    "我们",
    "它",
}
OPEN_RE = re.compile(r"\[([EVT]\d+-\d+) ")


def parse_markup(marked: str) -> Tuple[str, List[dict]]:
    """``(plain text, mentions)``; mention offsets are [start, end) in the plain text."""
    out: List[str] = []
    pos = 0
    stack: List[dict] = []
    mentions: List[dict] = []
    i = 0
    while i < len(marked):
        m = OPEN_RE.match(marked, i)
        c = marked[i]
        if m:
            stack.append({"id": m.group(1), "start": pos, "head": None})
            i = m.end()
            continue
        if c in "{}" and not stack:
            pass  # braces outside a mention mark nothing
        elif c == "{":
            stack[-1]["head_start"] = pos
        elif c == "}":
            stack[-1]["head"] = (stack[-1].pop("head_start"), pos)
        elif c == "]":
            men = stack.pop()
            men["end"] = pos
            if men["head"] is None:
                men["head"] = (men["start"], pos)
            mentions.append(men)
        else:
            out.append(c)
            pos += 1
        i += 1
    if stack:
        raise ValueError(f"unclosed mention {stack[-1]['id']} in {marked!r}")
    return "".join(out), mentions


def mention_type(text: str) -> str:
    if text.lower() in PRONOUNS:
        return "PRO"
    return "NAM" if text[:1].isupper() or not text[:1].isascii() else "NOM"


def build_document(doc_id: str, headline: str, paragraphs: Sequence[str], source: str = "newswire"):
    """``(sgm string, plain text, mentions)`` with offsets into the plain text."""
    segments: List[Tuple[bool, str]] = []  # (is_tag, content)

    def tag(t):
        segments.append((True, t))

    def txt(t):
        segments.append((False, t))

    tag("<DOC>")
    txt("\n")
    tag("<DOCID>")
    txt(f" {doc_id} ")
    tag("</DOCID>")
    txt("\n")
    tag(f'<DOCTYPE SOURCE="{source}">')
    txt(" NEWS STORY ")
    tag("</DOCTYPE>")
    txt("\n")
    tag("<DATETIME>")
    txt(" 2024-03-01 ")
    tag("</DATETIME>")
    txt("\n")
    tag("<BODY>")
    txt("\n")
    marked_parts: List[Tuple[int, str]] = []
    tag("<HEADLINE>")
    txt("\n")
    marked_parts.append((len(segments), headline))
    txt(None)
    txt("\n")
    tag("</HEADLINE>")
    txt("\n")
    tag("<TEXT>")
    txt("\n")
    for p in paragraphs:
        tag("<P>")
        txt("\n")
        marked_parts.append((len(segments), p))
        txt(None)
        txt("\n")
        tag("</P>")
        txt("\n")
    tag("</TEXT>")
    txt("\n")
    tag("</BODY>")
    txt("\n")
    tag("</DOC>")
    txt("\n")

    text_parts: List[str] = []
    sgm_parts: List[str] = []
    mentions: List[dict] = []
    marked = dict(marked_parts)
    offset = 0
    for k, (is_tag, content) in enumerate(segments):
        if is_tag:
            sgm_parts.append(content)
            continue
        if content is None:
            plain, ms = parse_markup(marked[k])
            for m in ms:
                m["start"] += offset
                m["end"] += offset
                m["head"] = (m["head"][0] + offset, m["head"][1] + offset)
            mentions.extend(ms)
            content = plain
        text_parts.append(content)
        sgm_parts.append(escape(content))
        offset += len(content)
    return "".join(sgm_parts), "".join(text_parts), mentions


def _charseq(text: str, start: int, end: int) -> str:
    return f'<charseq START="{start}" END="{end - 1}">{escape(text[start:end])}</charseq>'


def build_apf(
    doc_id: str,
    text: str,
    mentions: List[dict],
    entities: Dict[str, Tuple[str, str]],
    relations: Sequence[Tuple[str, str, str, str, str]],
    source: str = "newswire",
) -> str:
    """The .apf.xml string. ``relations``: (id, TYPE, SUBTYPE, arg1 mention id, arg2 mention id)."""
    by_id = {m["id"]: m for m in mentions}
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE source_file SYSTEM "apf.v5.1.1.dtd">',
        f'<source_file URI="{doc_id}.sgm" SOURCE="{source}" TYPE="text" AUTHOR="LDC" ENCODING="UTF-8">',
        f'<document DOCID="{doc_id}">',
    ]
    groups: Dict[str, List[dict]] = {}
    for m in sorted(mentions, key=lambda m: (m["id"].split("-")[0], int(m["id"].split("-")[1]))):
        groups.setdefault(m["id"].split("-")[0], []).append(m)
    for ent_id, ms in groups.items():
        full = f"{doc_id}-{ent_id}"
        if ent_id.startswith("E"):
            etype, sub = entities[ent_id]
            lines.append(f'  <entity ID="{full}" TYPE="{etype}" SUBTYPE="{sub}" CLASS="SPC">')
            for m in ms:
                head_text = text[m["head"][0] : m["head"][1]]
                mt = mention_type(head_text)
                lines.append(f'    <entity_mention ID="{doc_id}-{m["id"]}" TYPE="{mt}" LDCTYPE="{mt}">')
                lines.append(f"      <extent>{_charseq(text, m['start'], m['end'])}</extent>")
                lines.append(f"      <head>{_charseq(text, m['head'][0], m['head'][1])}</head>")
                lines.append("    </entity_mention>")
            lines.append(
                f"    <entity_attributes><name>{_charseq(text, ms[0]['head'][0], ms[0]['head'][1])}"
                "</name></entity_attributes>"
            )
            lines.append("  </entity>")
        elif ent_id.startswith("V"):
            vtype, sub = entities.get(ent_id, ("Numeric", "Money"))
            lines.append(f'  <value ID="{full}" TYPE="{vtype}" SUBTYPE="{sub}">')
            for m in ms:
                lines.append(f'    <value_mention ID="{doc_id}-{m["id"]}">')
                lines.append(f"      <extent>{_charseq(text, m['start'], m['end'])}</extent>")
                lines.append("    </value_mention>")
            lines.append("  </value>")
        else:
            lines.append(f'  <timex2 ID="{full}" VAL="2024">')
            for m in ms:
                lines.append(f'    <timex2_mention ID="{doc_id}-{m["id"]}">')
                lines.append(f"      <extent>{_charseq(text, m['start'], m['end'])}</extent>")
                lines.append("    </timex2_mention>")
            lines.append("  </timex2>")
    for rid, rtype, sub, a1, a2, *extra in relations:
        m1, m2 = by_id[a1], by_id[a2]
        e1, e2 = a1.split("-")[0], a2.split("-")[0]
        lines.append(
            f'  <relation ID="{doc_id}-{rid}" TYPE="{rtype}" SUBTYPE="{sub}" MODALITY="Asserted" '
            'TENSE="Unspecified">'
        )
        lines.append(f'    <relation_argument REFID="{doc_id}-{e1}" ROLE="Arg-1"/>')
        lines.append(f'    <relation_argument REFID="{doc_id}-{e2}" ROLE="Arg-2"/>')
        lo, hi = min(m1["start"], m2["start"]), max(m1["end"], m2["end"])
        lines.append(f'    <relation_mention ID="{doc_id}-{rid}-1" LEXICALCONDITION="Other">')
        lines.append(f"      <extent>{_charseq(text, lo, hi)}</extent>")
        for role, m in (("Arg-1", m1), ("Arg-2", m2)):
            lines.append(f'      <relation_mention_argument REFID="{doc_id}-{m["id"]}" ROLE="{role}">')
            lines.append(f"        <extent>{_charseq(text, m['start'], m['end'])}</extent>")
            lines.append("      </relation_mention_argument>")
        for role, ref in zip(extra[::2], extra[1::2]):
            m = by_id[ref]
            lines.append(f'      <relation_mention_argument REFID="{doc_id}-{ref}" ROLE="{role}">')
            lines.append(f"        <extent>{_charseq(text, m['start'], m['end'])}</extent>")
            lines.append("      </relation_mention_argument>")
        lines.append("    </relation_mention>")
        lines.append("  </relation>")
    lines += ["</document>", "</source_file>", ""]
    return "\n".join(lines)


def write_document(
    folder,
    doc_id: str,
    headline: str,
    paragraphs: Sequence[str],
    entities: Dict[str, Tuple[str, str]],
    relations: Sequence[tuple],
) -> str:
    """Write ``<folder>/<doc_id>.sgm`` and ``.apf.xml``; returns the plain text."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sgm, text, mentions = build_document(doc_id, headline, paragraphs)
    missing = {m["id"].split("-")[0] for m in mentions if m["id"].startswith("E")} - set(entities)
    if missing:
        raise ValueError(f"{doc_id}: untyped entities {sorted(missing)}")
    (folder / f"{doc_id}.sgm").write_text(sgm, encoding="utf-8")
    (folder / f"{doc_id}.apf.xml").write_text(
        build_apf(doc_id, text, mentions, entities, relations), encoding="utf-8"
    )
    return text
