"""Cross-validation of named variants, and the imbalance curve.

Layout of an output folder (every step is skipped when its ``scores.json``
exists and its ``manifest.json`` records the same inputs, so an interrupted
run resumes where it stopped; results of other inputs stop the experiment
unless ``--overwrite``, see :mod:`.provenance`)::

    OUT/folds/fold{i}.spacy, manifest.json     document-level folds of the pool
    OUT/runs/<variant>[/ratio-R]/fold{i}/       data/, model/, scores.json, manifest.json
    OUT/results.json, OUT/results.md            every figure, exact configs
    OUT/imbalance.png                           (imbalance runs)
"""

import json
import math
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import spacy

from spacy_bio_rel.experiments.folds import make_folds, split_dev, write_docs
from spacy_bio_rel.experiments.provenance import read_inputs, reuse_or_clear, run_inputs, write_manifest
from spacy_bio_rel.experiments.variants import PAPER, TITLES, VARIANTS
from spacy_bio_rel.scoring.evaluate import evaluate_gold_entities
from spacy_bio_rel.training.readers import docs_from_docbin


class Progress:
    """A tqdm bar of the runs (stderr), and a line naming each run as it starts with an estimate of the
    time left from the runs trained so far (runs done before are not counted in it)."""

    def __init__(self, total: int, stream=sys.stderr):
        from tqdm import tqdm

        self.total, self.done, self.run_times, self.stream = total, 0, [], stream
        self.bar = tqdm(total=total, desc="runs", unit="run", file=stream, dynamic_ncols=True)

    def write(self, line: str) -> None:
        self.bar.write(line, file=self.stream)

    def start(self, label: str) -> None:
        left = self.total - self.done
        eta = f", about {_fmt(statistics.mean(self.run_times) * left)} left" if self.run_times else ""
        self.write(f"[{self.done + 1}/{self.total}] {label}{eta}")
        self._t = time.time()

    def finish(self, trained: bool, seconds: Optional[float] = None) -> None:
        self.done += 1
        if trained:
            self.run_times.append(time.time() - self._t if seconds is None else seconds)
        self.bar.update(1)
        if self.done == self.total:
            self.bar.close()


def _fmt(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


# ``paths.vectors`` set to ``fold_vectors_marker(width)``: each run learns unit vectors of that width
# (spacy_bio_rel.training.vectors, its other defaults) from its own training part, so no test fold's text
# reaches them (``cv --fold-vectors WIDTH``).
FOLD_VECTORS = "<fold-training-text:{}>"


def fold_vectors_marker(width: int) -> str:
    return FOLD_VECTORS.format(int(width))


def fold_vectors_width(value: Any) -> int:
    """The width asked for by a ``paths.vectors`` of :func:`fold_vectors_marker`, else 0."""
    prefix, suffix = FOLD_VECTORS.split("{}")
    if isinstance(value, str) and value.startswith(prefix) and value.endswith(suffix):
        return int(value[len(prefix) : -len(suffix)])
    return 0


def train_and_evaluate(
    config: Path,
    train_docs,
    test_path: Path,
    run_dir: Path,
    overrides: Dict[str, Any],
    seed: int,
    dev_fraction: float,
    negative_ratio: Optional[float],
    gpu_id: int,
) -> Dict:
    """One fold: train (checkpoint chosen on a dev part of the training folds), evaluate on the test fold."""
    from spacy.cli.train import train as spacy_train

    train_part, dev_part = split_dev(train_docs, dev_fraction, seed)
    write_docs(train_part, run_dir / "data" / "train.spacy")
    write_docs(dev_part, run_dir / "data" / "dev.spacy")
    over = dict(overrides)
    width = fold_vectors_width(over.get("paths.vectors"))
    if width:  # learned from this fold's training part only
        from spacy_bio_rel.training.vectors import learn_vectors, unit_sequences

        vectors_dir = run_dir / "vectors"
        learn_vectors(
            list(unit_sequences(train_part)),
            vectors_dir,
            train_part[0].lang_,
            width=width,
            seed=seed,
            source=str(run_dir / "data" / "train.spacy"),
        )
        over["paths.vectors"] = str(vectors_dir)
    over.update(
        {
            "paths.train": str(run_dir / "data" / "train.spacy"),
            "paths.dev": str(run_dir / "data" / "dev.spacy"),
            "system.seed": seed,
            "corpora.train.negative_ratio": negative_ratio,
        }
    )
    if negative_ratio is not None:
        over["corpora.dev.negative_ratio"] = negative_ratio
    t0 = time.time()
    spacy_train(config, run_dir / "model", use_gpu=gpu_id, overrides=over)
    train_s = time.time() - t0
    scores = evaluate_gold_entities(
        run_dir / "model" / "model-best", test_path, negative_ratio=negative_ratio, seed=seed
    )
    scores["train_seconds"] = train_s
    scores["overrides"] = {k: v for k, v in over.items()}
    (run_dir / "scores.json").write_text(json.dumps(scores, indent=2, ensure_ascii=False), encoding="utf-8")
    return scores


def _read_docs(paths: Sequence[Path], vocab):
    return [d for p in paths for d in docs_from_docbin(p, vocab)]


@dataclass
class RunSpec:
    """Everything one (variant, ratio, fold) training needs: plain data, so a Ray task can take it."""

    config: Path
    fold_files: List[Path]
    fold: int
    variant: str
    ratio: Optional[float]
    run_dir: Path
    overrides: Dict[str, Any]
    inputs: Dict[str, Any]  # what the run's manifest records (provenance.run_inputs)
    pool: List[str]
    lang: str
    seed: int
    dev_fraction: float
    gpu_id: int = -1

    def label(self, folds: int) -> str:
        return f"variant {self.variant}, ratio {'full' if self.ratio is None else self.ratio}, fold {self.fold + 1}/{folds}"

    def absolute(self) -> "RunSpec":
        """The same run with absolute paths (for workers whose working directory is not ours)."""
        return replace(
            self,
            config=Path(self.config).resolve(),
            run_dir=Path(self.run_dir).resolve(),
            fold_files=[Path(f).resolve() for f in self.fold_files],
        )


def execute_run(spec: RunSpec) -> Dict:
    """One run, whichever engine calls it: manifest first, then train and evaluate; returns the scores
    (also in ``run_dir/scores.json``). A half-written run folder (an interrupted or retried attempt) is
    cleared first, so every attempt starts from the same state."""
    if spec.run_dir.exists():
        shutil.rmtree(spec.run_dir)
    write_manifest(spec.run_dir, spec.inputs, config=str(spec.config), pool=spec.pool)
    vocab = spacy.blank(spec.lang).vocab
    train_docs = _read_docs([f for j, f in enumerate(spec.fold_files) if j != spec.fold], vocab)
    return train_and_evaluate(
        spec.config,
        train_docs,
        spec.fold_files[spec.fold],
        spec.run_dir,
        spec.overrides,
        spec.seed,
        spec.dev_fraction,
        spec.ratio,
        spec.gpu_id,
    )


def run_cv(
    config: Path,
    pool: Sequence[Path],
    variants: List[str],
    output: Path,
    *,
    lang: str,
    folds: int = 5,
    seed: int = 0,
    max_folds: Optional[int] = None,
    overrides: Optional[Dict[str, Any]] = None,
    ratios: Sequence[Optional[float]] = (None,),
    dev_fraction: float = 0.1,
    gpu_id: int = -1,
    corpus: str = "",
    paper: str = "",
    overwrite: bool = False,
    engine: str = "local",
    address: Optional[str] = None,
    cpus_per_run: float = 1,
    gpus_per_run: float = 0,
) -> Dict:
    """Train and evaluate every (variant, ratio, fold); write and return the summary.

    Folds and runs whose manifest records the same inputs are reused; any
    other existing ones stop the experiment before anything is trained, unless
    ``overwrite`` (then they are rebuilt). See :mod:`.provenance`.

    ``engine="local"`` trains the runs one after another in this process;
    ``"ray"`` makes each run a Ray task asking for ``cpus_per_run`` CPUs and
    ``gpus_per_run`` GPUs (:mod:`spacy_bio_rel.distributed.ray_experiments`), on a
    local Ray instance or the cluster at ``address``. Both call
    :func:`execute_run` and write the same folders, ``results.json`` and ``results.md``.
    """
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    if engine == "ray":
        from spacy_bio_rel.distributed import require_ray

        require_ray()  # before anything is written
        if gpu_id >= 0:
            raise ValueError("with --engine ray, ask for GPUs with --gpus-per-run (Ray assigns the device)")
    output.mkdir(parents=True, exist_ok=True)
    fold_files = make_folds(pool, lang, folds, seed, output / "folds", overwrite)
    folds_inputs = read_inputs(output / "folds")
    use = list(range(folds if max_folds is None else min(folds, max_folds)))
    specs: List[RunSpec] = []
    scores: Dict[int, Dict] = {}  # step index -> scores, finished runs first
    for v in variants:
        over = dict(overrides or {})
        over.update(VARIANTS[v])
        for r in ratios:
            for i in use:
                run_dir = output / "runs" / v / ("" if r is None else f"ratio-{r:g}") / f"fold{i}"
                inputs = run_inputs(folds_inputs, i, v, r, seed, dev_fraction, config, over)
                if reuse_or_clear(run_dir, inputs, "a run", overwrite, [run_dir / "scores.json"]):
                    scores[len(specs)] = json.loads((run_dir / "scores.json").read_text(encoding="utf-8"))
                specs.append(
                    RunSpec(
                        config,
                        list(fold_files),
                        i,
                        v,
                        r,
                        run_dir,
                        over,
                        inputs,
                        [str(p) for p in pool],
                        lang,
                        seed,
                        dev_fraction,
                        gpu_id,
                    )
                )
    progress = Progress(len(specs))

    def report(f: Dict) -> None:
        progress.write(
            f"    P {100 * f['rel_micro_p']:.1f}  R {100 * f['rel_micro_r']:.1f}  F1 {100 * f['rel_micro_f']:.1f}"
        )

    if engine == "local":
        for k, spec in enumerate(specs):
            progress.start(spec.label(folds))
            done = k in scores
            if not done:
                scores[k] = execute_run(spec)
            progress.finish(trained=not done)
            report(scores[k])
    else:
        from spacy_bio_rel.distributed.ray_experiments import run_on_ray

        for k in sorted(scores):
            progress.start(specs[k].label(folds) + " (done before)")
            progress.finish(trained=False)
            report(scores[k])
        todo = {k: spec.absolute() for k, spec in enumerate(specs) if k not in scores}

        def finished(k: int, run_scores: Dict, seconds: float) -> None:
            progress.finish(trained=True, seconds=seconds)
            progress.write(f"[{progress.done}/{progress.total}] finished {specs[k].label(folds)}")
            report(run_scores)

        scores.update(
            run_on_ray(
                todo,
                execute_run,
                address=address,
                cpus_per_run=cpus_per_run,
                gpus_per_run=gpus_per_run,
                on_done=finished,
            )
        )
    results: Dict[str, Any] = {}
    for k, spec in enumerate(specs):
        results.setdefault(spec.variant, {}).setdefault(
            "full" if spec.ratio is None else f"{spec.ratio:g}", []
        ).append(scores[k])
    summary = summarise(
        results,
        config=config,
        pool=pool,
        folds=folds,
        used_folds=use,
        seed=seed,
        overrides=overrides or {},
        corpus=corpus,
        paper=paper,
    )
    (output / "results.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    (output / "results.md").write_text(to_markdown(summary), encoding="utf-8")
    if len(ratios) > 1:
        plot_imbalance(summary, output / "imbalance.png")
    return summary


def _mean_std(values: List[float]) -> Dict[str, float]:
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def summarise(
    results: Dict, *, config: Path, pool, folds, used_folds, seed, overrides, corpus, paper
) -> Dict:
    out: Dict[str, Any] = {
        "corpus": corpus,
        "pool": [str(p) for p in pool],
        "config": str(config),
        "config_text": Path(config).read_text(encoding="utf-8"),
        "overrides": overrides,
        "folds": folds,
        "folds_run": [i + 1 for i in used_folds],
        "seed": seed,
        "paper": paper,
        "variants": {},
    }
    for v, by_ratio in results.items():
        out["variants"][v] = {"title": TITLES[v], "overrides": VARIANTS[v], "ratios": {}}
        for r, runs in by_ratio.items():
            labels = sorted({lab for s in runs for lab in s["rel_per_type"]})
            out["variants"][v]["ratios"][r] = {
                "p": _mean_std([s["rel_micro_p"] for s in runs]),
                "r": _mean_std([s["rel_micro_r"] for s in runs]),
                "f": _mean_std([s["rel_micro_f"] for s in runs]),
                "per_label": {
                    lab: {
                        k: _mean_std([s["rel_per_type"].get(lab, {}).get(k, 0.0) for s in runs])
                        for k in ("p", "r", "f")
                    }
                    for lab in labels
                },
                "instances": [s["counts"] for s in runs],
                "folds": [
                    {
                        "p": s["rel_micro_p"],
                        "r": s["rel_micro_r"],
                        "f": s["rel_micro_f"],
                        "train_seconds": s.get("train_seconds"),
                    }
                    for s in runs
                ],
            }
    return out


def _pm(ms: Dict[str, float]) -> str:
    return f"{100 * ms['mean']:.1f} ± {100 * ms['std']:.1f}"


def to_markdown(summary: Dict) -> str:
    paper = PAPER.get(summary.get("paper", ""), {})
    folds = summary["folds_run"]
    lines = [
        f"# {summary['corpus'] or 'Results'}",
        "",
        f"Config `{summary['config']}`, seed {summary['seed']}, {summary['folds']}-fold document-level "
        f"cross-validation (folds run: {', '.join(map(str, folds))}); mean ± std over folds, %.",
        "",
    ]
    if summary.get("pool"):
        lines += ["Pool: " + ", ".join(f"`{p}`" for p in summary["pool"]) + ".", ""]
    if summary.get("overrides"):
        lines += [
            "Overrides of the config: "
            + ", ".join(f"`{k}={v}`" for k, v in summary["overrides"].items())
            + ".",
            "",
        ]
    ratios = sorted({r for v in summary["variants"].values() for r in v["ratios"]}, key=_ratio_key)
    if len(ratios) > 1:  # the curve of Figure 3 as a table: F1 per ratio and variant
        variants = summary["variants"]
        lines += [
            "| negative:positive | " + " | ".join(f"{d['title']} F1" for d in variants.values()) + " |",
            "|---|" + "---|" * len(variants),
        ]
        for r in ratios:
            cells = [_pm(d["ratios"][r]["f"]) if r in d["ratios"] else "" for d in variants.values()]
            lines.append(f"| {r} | " + " | ".join(cells) + " |")
        lines.append("")
    for r in ratios:
        if len(ratios) > 1:
            lines += [f"## negative:positive = {r}", ""]
        head = "| Model | P | R | F1 |" + (f" paper {summary['paper']} P / R / F1 |" if paper else "")
        lines += [head, "|---|---|---|---|" + ("---|" if paper else "")]
        for v, data in summary["variants"].items():
            if r not in data["ratios"]:
                continue
            d = data["ratios"][r]
            row = f"| {data['title']} | {_pm(d['p'])} | {_pm(d['r'])} | {_pm(d['f'])} |"
            if paper:
                ref = paper.get(v)
                row += f" {' / '.join(f'{x:.1f}' for x in ref)} |" if ref else " |"
            lines.append(row)
        lines.append("")
    lines += ["## Per label (F1, mean ± std)", ""]
    for v, data in summary["variants"].items():
        for r, d in data["ratios"].items():
            labels = ", ".join(f"{lab} {_pm(x['f'])}" for lab, x in d["per_label"].items())
            lines.append(f"- {data['title']} ({r}): {labels}")
    return "\n".join(lines) + "\n"


def _ratio_key(r: str) -> float:
    return math.inf if r == "full" else float(r)


def plot_imbalance(summary: Dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=110)
    for v, data in summary["variants"].items():
        rs = sorted(data["ratios"], key=_ratio_key)
        finite = [r for r in rs if r != "full"]
        ax.errorbar(
            [float(r) for r in finite],
            [100 * data["ratios"][r]["f"]["mean"] for r in finite],
            yerr=[100 * data["ratios"][r]["f"]["std"] for r in finite],
            marker="o",
            capsize=3,
            label=data["title"],
        )
        if "full" in data["ratios"]:
            ax.axhline(
                100 * data["ratios"]["full"]["f"]["mean"],
                ls=":",
                lw=1,
                color=ax.lines[-1].get_color(),
                label=f"{data['title']} (all negatives)",
            )
    ax.set_xlabel("negative : positive instances")
    ax.set_ylabel("F1 (%)")
    ax.set_title(summary.get("corpus") or "Imbalance")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
