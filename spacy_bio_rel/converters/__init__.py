"""Converters: ACE 2005, brat standoff (SanWen), CoNLL04 JSON, Prodigy JSONL -> DocBin.

One module per step: :mod:`.sgml` (markup -> text), :mod:`.ace`, :mod:`.brat`,
:mod:`.conll04`, :mod:`.prodigy` (reading), :mod:`.sentences` and :mod:`.docs`
(Docs with sentences, entities and gold relations), :mod:`.splits`
(document-level folds and id lists), :mod:`.report` (counts and drops),
:mod:`.pipeline` (read -> Docs -> split -> write).
"""

from spacy_bio_rel.converters.ace import AceSettings, NoDocumentsError, read_ace, read_ace_document
from spacy_bio_rel.converters.brat import BratSettings, NoBratDocumentsError, read_brat
from spacy_bio_rel.converters.conll04 import NoItemsError, read_conll04
from spacy_bio_rel.converters.docs import DOC_ID_KEY, DocSettings, build_docs
from spacy_bio_rel.converters.pipeline import (
    OutputSettings,
    convert_ace,
    convert_brat,
    convert_conll04,
    convert_prodigy,
    write_units,
)
from spacy_bio_rel.converters.prodigy import read_prodigy
from spacy_bio_rel.converters.report import ConversionReport, format_report
from spacy_bio_rel.converters.sgml import strip_sgml
from spacy_bio_rel.converters.splits import kfold, read_id_list

__all__ = [
    "AceSettings",
    "NoDocumentsError",
    "read_ace",
    "read_ace_document",
    "BratSettings",
    "NoBratDocumentsError",
    "read_brat",
    "NoItemsError",
    "read_conll04",
    "DOC_ID_KEY",
    "DocSettings",
    "build_docs",
    "OutputSettings",
    "convert_ace",
    "convert_brat",
    "convert_conll04",
    "convert_prodigy",
    "write_units",
    "read_prodigy",
    "ConversionReport",
    "format_report",
    "strip_sgml",
    "kfold",
    "read_id_list",
]
