"""``spacy-bio-rel evaluate | cv | imbalance``: registered on the Typer app
they are given (:func:`register`), so this module does not import the
command-line entry point."""

from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import spacy
import typer
from spacy.cli._util import parse_config_overrides

from spacy_bio_rel.cli.errors import check_writable, cli_errors
from spacy_bio_rel.cli.options import BF16_HELP, GPU_HELP, REPORT_HELP, use_gpu
from spacy_bio_rel.experiments.cv import fold_vectors_marker, run_cv
from spacy_bio_rel.experiments.folds import PoolError
from spacy_bio_rel.experiments.provenance import StaleOutputError
from spacy_bio_rel.experiments.variants import resolve
from spacy_bio_rel.ml.precision import use_bfloat16
from spacy_bio_rel.scoring.evaluate import evaluate_gold_entities, format_scores, write_scores
from spacy_bio_rel.util import load_pipeline

LANG_HELP = "Language of the pool's Docs: 'en' or 'zh'."
ENGINE_HELP = (
    "'local': the runs one after another in this process; 'ray': each run a Ray task (needs "
    'pip install "spacy-bio-rel\\[ray]"), on a local Ray instance or the cluster at --address.'
)
ADDRESS_HELP = (
    "--engine ray: join this Ray cluster (HOST:PORT, ray://HOST:10001 or auto); default: a local instance."
)
CPUS_HELP = "--engine ray: CPUs each run asks for (torch uses that many threads)."
GPUS_HELP = "--engine ray: GPUs each run asks for (e.g. 1, or 0.5 for two runs per GPU)."
OVERWRITE_HELP = (
    "Rebuild folds and runs in --output-dir that were made from other inputs (pool, folds, seed, config, "
    "overrides, version); without it such an output folder is an error."
)


def _run(
    experiment,
    engine: str = "local",
    address: Optional[str] = None,
    cpus_per_run: float = 1,
    gpus_per_run: float = 0,
    gpu_id: int = -1,
) -> None:
    """Run an experiment; stale outputs, missing pool files, a missing Ray and output that cannot be
    written are one red line and exit code 1."""
    from spacy_bio_rel.distributed import RayMissingError, check_engine

    with cli_errors(RayMissingError, ValueError):
        check_engine(engine)
        if engine == "local" and (address is not None or cpus_per_run != 1 or gpus_per_run):
            raise ValueError("--address, --cpus-per-run and --gpus-per-run go with --engine ray")
        if engine == "ray" and (cpus_per_run <= 0 or gpus_per_run < 0):
            raise ValueError("--cpus-per-run must be positive and --gpus-per-run at least 0")
        if engine == "ray" and gpu_id >= 0:
            raise ValueError(
                "with --engine ray, ask for GPUs with --gpus-per-run (Ray assigns the device), not --gpu-id"
            )
    with cli_errors(StaleOutputError, PoolError, OSError):
        experiment()


def _check_experiment(variants: str, lang: str, folds: int, output: Path) -> List[str]:
    """The variants named by ``--variants``, after checking ``--lang``, ``--folds`` and ``--output``
    (one error line each, before any fold is made)."""
    with cli_errors(ValueError):
        chosen = resolve(variants.split(","))
        try:
            spacy.util.get_lang_class(lang)
        except ImportError:
            raise ValueError(f"--lang {lang!r} is not a spaCy language (for example 'en' or 'zh')") from None
        if folds < 2:
            raise ValueError(f"--folds must be at least 2, got {folds}")
        check_writable(output, "folder")
    return chosen


OVERRIDES_HELP = (
    "Config override KEY=VALUE, e.g. training.max_epochs=10 (repeatable); spaCy's own spelling works too: "
    "--training.max_epochs 10 after the other options."
)
# spaCy-style config overrides (--training.max_epochs 3) arrive as the command's extra arguments
OVERRIDE_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}


def _split_pool(pool: List[Path], extra: Sequence[str]) -> Tuple[List[Path], List[str]]:
    """The pool files, and the spaCy-style overrides click handed in among them (an unknown option and
    its value become positional arguments, which the variadic POOL takes): ``--key value`` or ``--key=value``."""
    files: List[Path] = []
    args = list(extra)
    items = [str(p) for p in pool]
    i = 0
    while i < len(items):
        item = items[i]
        if item.startswith("--"):
            args.append(item)
            if "=" not in item and i + 1 < len(items) and not items[i + 1].startswith("--"):
                args.append(items[i + 1])
                i += 1
        else:
            files.append(Path(item))
        i += 1
    if not files:
        raise typer.BadParameter("name at least one DocBin of the pool", param_hint="POOL")
    return files, args


def _overrides(items: List[str], extra: Sequence[str] = ()):
    """``--set KEY=VALUE`` items and spaCy-style ``--section.key value`` arguments, as spaCy parses them."""
    args = list(extra)
    for item in items:
        if "=" not in item:
            raise typer.BadParameter(
                f"--set takes KEY=VALUE (a config path such as training.max_epochs=5), got {item!r}"
            )
        key, value = item.split("=", 1)
        args += [f"--{key}", value]
    return parse_config_overrides(args)


def evaluate_cmd(
    model: str = typer.Argument(
        ...,
        help="Trained pipeline: a folder (e.g. training/conll04/model-best) or an installed pipeline package's name.",
    ),
    data: Path = typer.Argument(..., help="DocBin (.spacy) file or folder with gold entities and relations."),
    report: Optional[Path] = typer.Option(None, "--report", help=REPORT_HELP),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help=GPU_HELP),
    bf16: bool = typer.Option(False, "--bf16", help=BF16_HELP),
    negative_ratio: Optional[float] = typer.Option(
        None, help="Sample negatives to this negative:positive ratio."
    ),
    seed: int = typer.Option(0, help="Seed of the negative sampling."),
    entities: str = typer.Option(
        "gold",
        "--entities",
        help="'gold': the protocol's gold-entity setting; "
        "'predicted': run the whole pipeline (ner included) on the Docs' tokens and sentences without their entities (strict end-to-end scores).",
    ),
    sweep: bool = typer.Option(
        False, "--sweep", help="Print P/R/F1 over cut-offs on Relation.score, and the best."
    ),
    cutoffs: Optional[str] = typer.Option(
        None, "--cutoffs", help="Sweep cut-offs: '0,0.5,0.9' or start:stop:step."
    ),
):
    """Score a pipeline on DocBins in the gold-entity setting (protocol.md): micro P/R/F1, per label,
    instance counts and ratio; or end to end (--entities predicted); or a threshold sweep (--sweep)."""
    use_gpu(gpu_id)
    # data or model missing, empty or unreadable, an output that cannot be written: one line naming the file
    with cli_errors(ValueError, OSError):
        if report:
            check_writable(report, "file")
        if bf16:
            with cli_errors(Exception, prefix=f"cannot load the pipeline {model!r}: "):
                nlp = load_pipeline(model)
            use_bfloat16(nlp)
            model = nlp
        if sweep or entities != "gold":
            from spacy_bio_rel.cli.evaluate import evaluate_e2e_or_sweep

            return evaluate_e2e_or_sweep(model, data, entities, sweep, cutoffs, report, negative_ratio, seed)
        scores = evaluate_gold_entities(model, data, negative_ratio=negative_ratio, seed=seed)
    typer.echo(format_scores(scores))
    if report:
        with cli_errors(OSError):
            write_scores(scores, report)
        typer.echo(f"wrote {report}")


def cv_cmd(
    ctx: typer.Context,
    config: Path = typer.Argument(
        ..., help="Base training config (configs/en_wordwise.cfg, configs/zh_charwise.cfg)."
    ),
    pool: List[Path] = typer.Argument(..., help="DocBins whose documents form the cross-validation pool."),
    output: Path = typer.Option(..., "--output-dir", help="Results folder (resumable)."),
    variants: str = typer.Option(
        "ablation",
        help="Comma-separated variants or groups: baseline, tag, mtl, mtl_tag, "
        "tag_ce, tag_ce_ranking, mtl_tag_ce; 'ablation' (Tables 1-2), 'loss' (Table 4).",
    ),
    lang: str = typer.Option("en", help=LANG_HELP),
    folds: int = typer.Option(5, help="Number of document-level folds."),
    max_folds: Optional[int] = typer.Option(None, help="Run only the first N folds (report says which)."),
    seed: int = typer.Option(0, help="Seed of the folds, the dev hold-out and training."),
    dev_fraction: float = typer.Option(
        0.1, help="Share of each training part held out to pick the checkpoint."
    ),
    corpus: str = typer.Option("", help="Corpus name for the report."),
    paper: str = typer.Option("", help="Print the paper's figures beside ours: 'ace05-en' or 'ace05-zh'."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help=GPU_HELP),
    set_: List[str] = typer.Option([], "--set", help=OVERRIDES_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    engine: str = typer.Option("local", "--engine", help=ENGINE_HELP),
    address: Optional[str] = typer.Option(None, "--address", help=ADDRESS_HELP),
    cpus_per_run: float = typer.Option(1.0, "--cpus-per-run", help=CPUS_HELP),
    gpus_per_run: float = typer.Option(0.0, "--gpus-per-run", help=GPUS_HELP),
    fold_vectors: int = typer.Option(
        0,
        "--fold-vectors",
        metavar="WIDTH",
        help="Learn unit vectors of this width "
        "(as the `vectors` command does; 100 there) from each run's training part and "
        "use them as paths.vectors (configs/zh_vectors.cfg), so no test fold's text "
        "reaches them. 0: off.",
    ),
):
    """K-fold cross-validation of the paper's variants: mean and std of P/R/F1 and per label."""
    ray_options = dict(engine=engine, address=address, cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run)
    pool, extra = _split_pool(pool, ctx.args)
    overrides = _overrides(set_, extra)
    if fold_vectors < 0:
        raise typer.BadParameter(f"--fold-vectors takes a width (0: off), got {fold_vectors}")
    if fold_vectors:
        overrides["paths.vectors"] = fold_vectors_marker(fold_vectors)
    chosen = _check_experiment(variants, lang, folds, output)
    _run(
        lambda: run_cv(
            config,
            pool,
            chosen,
            output,
            lang=lang,
            folds=folds,
            seed=seed,
            max_folds=max_folds,
            overrides=overrides,
            dev_fraction=dev_fraction,
            gpu_id=gpu_id,
            corpus=corpus,
            paper=paper,
            overwrite=overwrite,
            **ray_options,
        ),
        engine,
        address,
        cpus_per_run,
        gpus_per_run,
        gpu_id,
    )
    typer.echo((output / "results.md").read_text(encoding="utf-8"))


def imbalance_cmd(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="Base training config."),
    pool: List[Path] = typer.Argument(..., help="DocBins whose documents form the cross-validation pool."),
    output: Path = typer.Option(..., "--output-dir", help="Results folder (resumable)."),
    ratios: str = typer.Option(
        "0.5,1,5,10,15,full", help="Negative:positive ratios; 'full' keeps all negatives."
    ),
    variants: str = typer.Option(
        "baseline,mtl_tag", help="Variants to compare (the paper: baseline,mtl_tag)."
    ),
    lang: str = typer.Option("zh", help=LANG_HELP),
    folds: int = typer.Option(5, help="Number of document-level folds."),
    max_folds: Optional[int] = typer.Option(None, help="Run only the first N folds."),
    seed: int = typer.Option(0, help="Seed of folds, negative sampling and training."),
    corpus: str = typer.Option("", help="Corpus name for the report and plot."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help=GPU_HELP),
    set_: List[str] = typer.Option([], "--set", help=OVERRIDES_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    engine: str = typer.Option("local", "--engine", help=ENGINE_HELP),
    address: Optional[str] = typer.Option(None, "--address", help=ADDRESS_HELP),
    cpus_per_run: float = typer.Option(1.0, "--cpus-per-run", help=CPUS_HELP),
    gpus_per_run: float = typer.Option(0.0, "--gpus-per-run", help=GPUS_HELP),
):
    """F1 against the negative:positive ratio (the paper's Figure 3): negatives are sampled with a fixed
    seed in training, dev and test parts alike; writes results.md, results.json and imbalance.png."""
    with cli_errors(ValueError):
        try:
            parsed = [None if r.strip() == "full" else float(r) for r in ratios.split(",")]
        except ValueError:
            raise ValueError(f"--ratios takes numbers and 'full' separated by commas, got {ratios!r}")
    pool, extra = _split_pool(pool, ctx.args)
    ray_options = dict(engine=engine, address=address, cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run)
    chosen = _check_experiment(variants, lang, folds, output)
    _run(
        lambda: run_cv(
            config,
            pool,
            chosen,
            output,
            lang=lang,
            folds=folds,
            seed=seed,
            max_folds=max_folds,
            overrides=_overrides(set_, extra),
            ratios=parsed,
            gpu_id=gpu_id,
            corpus=corpus,
            overwrite=overwrite,
            **ray_options,
        ),
        engine,
        address,
        cpus_per_run,
        gpus_per_run,
        gpu_id,
    )
    typer.echo((output / "results.md").read_text(encoding="utf-8"))


def register(app: typer.Typer) -> None:
    """Add ``evaluate``, ``cv`` and ``imbalance`` to ``app``."""
    app.command("evaluate")(evaluate_cmd)
    app.command("cv", context_settings=OVERRIDE_CONTEXT)(cv_cmd)
    app.command("imbalance", context_settings=OVERRIDE_CONTEXT)(imbalance_cmd)
