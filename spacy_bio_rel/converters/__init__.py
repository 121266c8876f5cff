"""Converters: ACE 2005, brat standoff (SanWen), CoNLL04 JSON, Prodigy JSONL -> DocBin.

One module per step: :mod:`.sgml` (markup -> text), :mod:`.ace`, :mod:`.brat`,
:mod:`.conll04`, :mod:`.prodigy` (reading), :mod:`.sentences` and :mod:`.docs`
(Docs with sentences, entities and gold relations), :mod:`.splits`
(document-level folds and id lists), :mod:`.report` (counts and drops),
:mod:`.pipeline` (read -> Docs -> split -> write).
"""
from .ace import AceSettings, NoDocumentsError, read_ace, read_ace_document  # noqa: F401
from .brat import BratSettings, NoBratDocumentsError, read_brat  # noqa: F401
from .conll04 import NoItemsError, read_conll04  # noqa: F401
from .docs import DOC_ID_KEY, DocSettings, build_docs  # noqa: F401
from .pipeline import (  # noqa: F401
    OutputSettings,
    convert_ace,
    convert_brat,
    convert_conll04,
    convert_prodigy,
    write_units,
)
from .prodigy import read_prodigy  # noqa: F401
from .report import ConversionReport, format_report  # noqa: F401
from .sgml import strip_sgml  # noqa: F401
from .splits import kfold, read_id_list  # noqa: F401
