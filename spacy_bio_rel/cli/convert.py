"""``spacy-bio-rel convert ace | brat | conll04 | prodigy``: corpora -> DocBin files with a report."""

from pathlib import Path
from typing import Dict, List, Optional

import typer

from spacy_bio_rel.cli.errors import check_writable, cli_errors
from spacy_bio_rel.converters.ace import AceSettings, NoDocumentsError
from spacy_bio_rel.converters.brat import BratSettings, NoBratDocumentsError
from spacy_bio_rel.converters.conll04 import NoItemsError
from spacy_bio_rel.converters.docs import DocSettings
from spacy_bio_rel.converters.pipeline import (
    OutputSettings,
    convert_ace,
    convert_brat,
    convert_conll04,
    convert_prodigy,
    progress_printer,
)
from spacy_bio_rel.converters.report import ConversionReport

convert_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Convert corpora to DocBin (.spacy) files with entities, sentences and gold relations.",
)

# -- options shared by the converters --------------------------------------------
NAME_HELP = "Name of the output file (<output_dir>/<name>.spacy) and of the report (<name>.report.json) when not splitting."
FOLDS_HELP = "Split documents into K folds (fold0.spacy ... fold{K-1}.spacy); 0 = no folds."
SEED_HELP = "Random seed of the document-level fold assignment."
IDS_HELP = (
    "Document id list of the {} part: one id per line (file names or paths allowed, '#' comments). "
    "With any id list, <part>.spacy files are written and documents in no list are counted as left out."
)
UNIT_HELP = "One Doc per 'sentence' or per 'document' (sentence boundaries are set either way)."
DISTANCE_HELP = (
    "Keep relations whose arguments are at most K sentences apart (stored as ordinary relations; "
    "needs --unit document); 0 = in-sentence relations only. The report counts the cross-sentence "
    "relations kept and left out by distance."
)
VERBOSE_HELP = "Print every left-out or changed item to stderr (the report keeps the first 5 per reason)."
PROGRESS_HELP = "Move the progress bar (stderr) every N documents (0: no progress bar)."
ENCODING_HELP = (
    "Encoding of the input files (a Python codec name: utf-8, gbk, utf-16, ...). Decoding is strict: "
    "invalid bytes stop the conversion, naming file, byte and line; a byte order mark is removed."
)
EXCLUDE_HELP = "Relation labels left out (counted as <label>_excluded); repeat the option for several."
MAX_MISMATCH_HELP = (
    "A document where more than this share of the mentions' stored texts differ from the text at "
    "their offsets (and at least two do) is left out, counted as document_text_mismatch."
)


def _output(
    output_dir: Path,
    name: str,
    folds: int,
    seed: int,
    train_ids: Optional[Path],
    dev_ids: Optional[Path],
    test_ids: Optional[Path],
) -> OutputSettings:
    lists: Dict[str, Path] = {
        k: v for k, v in (("train", train_ids), ("dev", dev_ids), ("test", test_ids)) if v
    }
    try:
        settings = OutputSettings(output_dir=output_dir, name=name, folds=folds, seed=seed, id_lists=lists)
    except ValueError as e:
        raise typer.BadParameter(str(e))
    check_writable(output_dir, "folder")  # before anything is read
    return settings


def _finish(run) -> None:
    """Run a conversion, print its report, turn input and output errors into one line and exit code 1."""
    with cli_errors(NoDocumentsError, NoBratDocumentsError, NoItemsError, ValueError, OSError):
        report: ConversionReport = run()
    typer.echo(report.format_table())
    typer.echo(f"Report written to {report.settings.get('report_path')}")


def _progress(label: str, every: int):
    return progress_printer(label, every) if every > 0 else None


@convert_app.command("ace")
def convert_ace_cmd(
    root: Path = typer.Argument(
        ..., help="ACE 2005 copy: <root>, <root>/data or the language folder (e.g. .../data/English)."
    ),
    output_dir: Path = typer.Argument(..., help="Folder for the .spacy files and the report."),
    lang: str = typer.Option(
        "en", "--lang", help="Language: 'en' (English, word-wise) or 'zh' (Chinese, character-wise)."
    ),
    subfolder: Optional[str] = typer.Option(
        None, "--subfolder", help="Annotation sub-folder of each genre; default timex2norm (en), adj (zh)."
    ),
    span: str = typer.Option(
        "head", "--span", help="Entity span: 'head' (default, as most relation work) or 'extent'."
    ),
    metonymy: bool = typer.Option(
        False, "--metonymy/--no-metonymy", help="Keep METONYMY relations (default: left out, counted)."
    ),
    values: bool = typer.Option(
        False, "--values/--no-values", help="Value mentions (money, numbers, ...) become entities too."
    ),
    timex: bool = typer.Option(
        False, "--timex/--no-timex", help="TIMEX2 mentions become entities (label TIMEX2)."
    ),
    sentences: str = typer.Option(
        "rules",
        "--sentences",
        help="Sentence splitting: 'rules' (en: . ! ? blank lines and markup; zh: 。！？!? and line breaks), 'lines' (every line break), 'none'.",
    ),
    boundary_fix: str = typer.Option(
        "split",
        "--boundary-fix",
        help="Mention boundary inside a token: 'split' the token or 'expand' the span (counted either way).",
    ),
    mismatch: str = typer.Option(
        "keep",
        "--mismatch",
        help="Stored mention text differs from the text at its offsets: 'keep' (offsets win, counted) or 'drop' (counted).",
    ),
    max_mismatch: float = typer.Option(0.1, "--max-mismatch", help=MAX_MISMATCH_HELP),
    exclude: List[str] = typer.Option([], "--exclude", help=EXCLUDE_HELP + " METONYMY: see --metonymy."),
    encoding: str = typer.Option(
        "utf-8", "--encoding", help=ENCODING_HELP + " (.sgm files; .apf.xml declare theirs)"
    ),
    unit: str = typer.Option("sentence", "--unit", help=UNIT_HELP),
    max_sentence_distance: int = typer.Option(0, "--max-sentence-distance", help=DISTANCE_HELP),
    name: str = typer.Option("all", "--name", help=NAME_HELP),
    folds: int = typer.Option(0, "--folds", help=FOLDS_HELP),
    seed: int = typer.Option(0, "--seed", help=SEED_HELP),
    train_ids: Optional[Path] = typer.Option(None, "--train-ids", help=IDS_HELP.format("train")),
    dev_ids: Optional[Path] = typer.Option(None, "--dev-ids", help=IDS_HELP.format("dev")),
    test_ids: Optional[Path] = typer.Option(None, "--test-ids", help=IDS_HELP.format("test")),
    progress_every: int = typer.Option(50, "--progress-every", help=PROGRESS_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
):
    """Convert ACE 2005 (.sgm + .apf.xml) to DocBin files."""

    def run():
        ace = AceSettings(
            language=lang,
            subfolder=subfolder,
            span=span,
            metonymy=metonymy,
            values=values,
            timex=timex,
            mismatch=mismatch,
            exclude=tuple(exclude),
            encoding=encoding,
            max_mismatch=max_mismatch,
        )
        doc = DocSettings(
            lang=lang,
            sentences=sentences,
            boundary_fix=boundary_fix,
            unit=unit,
            max_sentence_distance=max_sentence_distance,
        )
        out = _output(output_dir, name, folds, seed, train_ids, dev_ids, test_ids)
        return convert_ace(
            root, out, ace, doc, ConversionReport(verbose=verbose), _progress("ace documents", progress_every)
        )

    _finish(run)


@convert_app.command("brat")
def convert_brat_cmd(
    input_dir: Path = typer.Argument(
        ..., help="Folder of brat documents (N.txt + N.ann), e.g. SanWen's train/."
    ),
    output_dir: Path = typer.Argument(..., help="Folder for the .spacy files and the report."),
    lang: str = typer.Option(
        "zh",
        "--lang",
        help="spaCy language of the tokenizer: 'zh' (one token per character, default) or e.g. 'en'.",
    ),
    exclude: List[str] = typer.Option(
        ["Coreference"], "--exclude", help=EXCLUDE_HELP + " Default: Coreference."
    ),
    sentences: str = typer.Option(
        "rules",
        "--sentences",
        help="Sentence splitting: 'rules' (zh: after 。！？!? and at line breaks, per protocol.md), 'lines', 'none'.",
    ),
    boundary_fix: str = typer.Option(
        "split",
        "--boundary-fix",
        help="Mention boundary inside a token: 'split' or 'expand' (only matters for word tokenizers).",
    ),
    mismatch: str = typer.Option(
        "keep",
        "--mismatch",
        help="Stored entity text differs from the text at its offsets: 'keep' (counted) or 'drop' (counted).",
    ),
    max_mismatch: float = typer.Option(0.1, "--max-mismatch", help=MAX_MISMATCH_HELP),
    encoding: str = typer.Option("utf-8", "--encoding", help=ENCODING_HELP),
    recursive: bool = typer.Option(False, "--recursive/--no-recursive", help="Also read sub-folders."),
    unit: str = typer.Option("sentence", "--unit", help=UNIT_HELP),
    max_sentence_distance: int = typer.Option(0, "--max-sentence-distance", help=DISTANCE_HELP),
    name: Optional[str] = typer.Option(None, "--name", help=NAME_HELP + " Default: the input folder's name."),
    folds: int = typer.Option(0, "--folds", help=FOLDS_HELP),
    seed: int = typer.Option(0, "--seed", help=SEED_HELP),
    train_ids: Optional[Path] = typer.Option(None, "--train-ids", help=IDS_HELP.format("train")),
    dev_ids: Optional[Path] = typer.Option(None, "--dev-ids", help=IDS_HELP.format("dev")),
    test_ids: Optional[Path] = typer.Option(None, "--test-ids", help=IDS_HELP.format("test")),
    progress_every: int = typer.Option(100, "--progress-every", help=PROGRESS_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
):
    """Convert brat standoff annotations (e.g. SanWen) to DocBin files."""

    def run():
        brat = BratSettings(
            exclude_relations=tuple(exclude),
            mismatch=mismatch,
            recursive=recursive,
            encoding=encoding,
            max_mismatch=max_mismatch,
        )
        doc = DocSettings(
            lang=lang,
            sentences=sentences,
            boundary_fix=boundary_fix,
            unit=unit,
            max_sentence_distance=max_sentence_distance,
        )
        out = _output(output_dir, name or input_dir.name, folds, seed, train_ids, dev_ids, test_ids)
        return convert_brat(
            input_dir,
            out,
            brat,
            doc,
            ConversionReport(verbose=verbose),
            _progress("brat documents", progress_every),
        )

    _finish(run)


@convert_app.command("conll04")
def convert_conll04_cmd(
    input_file: Path = typer.Argument(
        ..., help="SpERT-style CoNLL04 JSON (a list of sentences with tokens, tags or entities, relations)."
    ),
    output_dir: Path = typer.Argument(..., help="Folder for the .spacy file and the report."),
    name: Optional[str] = typer.Option(
        None, "--name", help=NAME_HELP + " Default: the input file's stem (train.json -> train)."
    ),
    folds: int = typer.Option(0, "--folds", help=FOLDS_HELP + " Each sentence is a document here."),
    seed: int = typer.Option(0, "--seed", help=SEED_HELP),
    exclude: List[str] = typer.Option([], "--exclude", help=EXCLUDE_HELP),
    encoding: str = typer.Option("utf-8", "--encoding", help=ENCODING_HELP),
    progress_every: int = typer.Option(500, "--progress-every", help=PROGRESS_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
):
    """Convert CoNLL04 (SpERT JSON) to a DocBin file, one Doc per sentence."""

    def run():
        out = _output(output_dir, name or input_file.stem, folds, seed, None, None, None)
        return convert_conll04(
            input_file,
            out,
            ConversionReport(verbose=verbose),
            _progress("conll04 sentences", progress_every),
            encoding,
            tuple(exclude),
        )

    _finish(run)


@convert_app.command("prodigy")
def convert_prodigy_cmd(
    input_file: Path = typer.Argument(
        ..., help="Prodigy relation annotations (JSONL from rel.manual / db-out)."
    ),
    output_dir: Path = typer.Argument(..., help="Folder for the .spacy file and the report."),
    lang: str = typer.Option("en", "--lang", help="spaCy language whose vocab the Docs use."),
    accept: List[str] = typer.Option(
        ["accept"], "--accept", help="Answers kept (others are counted as left out); repeat for several."
    ),
    name: Optional[str] = typer.Option(None, "--name", help=NAME_HELP + " Default: the input file's stem."),
    folds: int = typer.Option(0, "--folds", help=FOLDS_HELP + " Each example is a document here."),
    seed: int = typer.Option(0, "--seed", help=SEED_HELP),
    exclude: List[str] = typer.Option([], "--exclude", help=EXCLUDE_HELP + " E.g. a 'No-rel' label."),
    encoding: str = typer.Option("utf-8", "--encoding", help=ENCODING_HELP),
    progress_every: int = typer.Option(500, "--progress-every", help=PROGRESS_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
):
    """Convert Prodigy relation annotations to a DocBin file, one Doc per example."""

    def run():
        out = _output(output_dir, name or input_file.stem, folds, seed, None, None, None)
        return convert_prodigy(
            input_file,
            out,
            lang,
            tuple(accept),
            ConversionReport(verbose=verbose),
            _progress("prodigy examples", progress_every),
            encoding,
            tuple(exclude),
        )

    _finish(run)


def register(app: typer.Typer) -> None:
    app.add_typer(convert_app, name="convert")
