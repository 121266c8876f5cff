"""PNG figures of :func:`.diagnose.diagnose`'s per-epoch records (matplotlib, Agg backend)."""
from pathlib import Path
from typing import Any, Dict, List

import numpy


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_f1(history: List[Dict[str, Any]], path: Path) -> None:
    plt = _plt()
    epochs = [h["epoch"] for h in history]
    labels = list(history[-1]["per_label"])
    fig, ax = plt.subplots(figsize=(8, 5))
    for lab in labels:
        ax.plot(epochs, [100 * h["per_label"][lab]["f"] for h in history], marker=".", label=lab)
    ax.plot(epochs, [100 * h["micro"]["f"] for h in history], "k-", lw=2.5, label="micro")
    ax.plot(epochs, [100 * h["oracle_global_theta"]["f"] for h in history], "k--", lw=1.5,
            label="micro, best global θ on dev (oracle)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("dev F1 (%)")
    ax.set_title("Dev F1 per label (gold entities)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(record: Dict[str, Any], path: Path, key: str = "confusion") -> None:
    plt = _plt()
    names = record[key]["labels"]
    m = numpy.asarray(record[key]["matrix"], dtype=float)
    norm = m / numpy.maximum(m.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(8, 7))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(names)):
        for j in range(len(names)):
            if m[i, j]:
                ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", fontsize=6,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([f"{n} ({int(m[i].sum())})" for i, n in enumerate(names)], fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold (candidates)")
    what = f"θ = {record['theta']:g}" if key == "confusion" else "argmax label, θ ignored"
    ax.set_title(f"Candidate confusion, epoch {record['epoch']}, {what} (row-normalised colour)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scores(record: Dict[str, Any], path: Path) -> None:
    """Box plots (5/25/50/75/95 %) of the best class score per group, θ as a line."""
    plt = _plt()
    groups = [(f"+ {lab}", v) for lab, v in record["scores_positive"].items()]
    groups += [(f"- {k}", v) for k, v in record["scores_negative"].items()]
    groups = [(n, v) for n, v in groups if v.get("n")]
    fig, ax = plt.subplots(figsize=(9, 6))
    for i, (name, v) in enumerate(groups):
        q = v["quantiles"]
        q05, q25, q50, q75, q95 = (q[k] for k in ("0.05", "0.25", "0.5", "0.75", "0.95"))
        color = "tab:green" if name.startswith("+") else "tab:red"
        ax.plot([q05, q95], [i, i], color=color, lw=1)
        ax.add_patch(plt.Rectangle((q25, i - 0.3), q75 - q25, 0.6, color=color, alpha=0.4))
        ax.plot([q50, q50], [i - 0.3, i + 0.3], color="k", lw=1.5)
        ax.text(q95 + 0.1, i, f"n={v['n']}, ≥θ {100 * v['share_ge_theta']:.0f}%", va="center", fontsize=7)
    ax.axvline(record["theta"], color="k", ls="--", lw=1)
    ax.axvline(record["oracle_global_theta"]["theta"], color="tab:blue", ls=":", lw=1)
    ax.set_yticks(range(len(groups)))
    ax.set_yticklabels([n for n, _ in groups], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("best class score max_c s_c (dashed: θ; dotted: best global θ on dev)")
    ax.set_title(f"Best class score, dev candidates, epoch {record['epoch']} (+ positives by gold, - negatives)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_loss(history: List[Dict[str, Any]], path: Path) -> None:
    """Per gold label: mean identification, L+ and L- per instance, per epoch; and each label's share of the loss."""
    plt = _plt()
    labels = list(history[-1]["loss_terms"]["per_label"])
    epochs = [h["epoch"] for h in history]
    terms = [t for t in ("identification", "ranking_pos", "ranking_neg", "cross_entropy")
             if any(h["loss_terms"]["total"][t] for h in history)]
    fig, axes = plt.subplots(1, len(terms) + 1, figsize=(4 * (len(terms) + 1), 4.5))
    for ax, t in zip(axes, terms):
        for lab in labels:
            ax.plot(epochs, [h["loss_terms"]["per_label"].get(lab, {}).get("mean", {}).get(t, numpy.nan)
                             for h in history], marker=".", label=lab)
        ax.set_title(f"{t}: mean per instance")
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
    last = history[-1]["loss_terms"]
    ax = axes[-1]
    bottoms = numpy.zeros(len(terms))
    for lab in labels:
        vals = numpy.asarray([last["per_label"][lab]["sum"][t] for t in terms])
        tot = numpy.asarray([max(last["total"][t], 1e-12) for t in terms])
        ax.bar(range(len(terms)), vals / tot, bottom=bottoms, label=lab)
        bottoms += vals / tot
    ax.set_xticks(range(len(terms)))
    ax.set_xticklabels(terms, rotation=30, fontsize=8)
    ax.set_title(f"share of each term by gold label, epoch {history[-1]['epoch']}")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_gradients(record: Dict[str, Any], path: Path) -> None:
    """Where the training signal goes: per gold label, the summed L1 gradient of each
    loss term on the network outputs (left) and its mean per instance (right)."""
    plt = _plt()
    per = record["loss_terms"]["per_label"]
    if not all("grad_l1_sum" in v for v in per.values()):
        return
    labels = list(per)
    terms = [t for t in ("identification", "ranking_pos", "ranking_neg", "cross_entropy")
             if any(per[lab]["grad_l1_sum"][t] for lab in labels)]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    x = numpy.arange(len(labels))
    w = 0.8 / max(len(terms), 1)
    for i, t in enumerate(terms):
        sums = numpy.asarray([per[lab]["grad_l1_sum"][t] for lab in labels])
        means = sums / numpy.maximum([per[lab]["n"] for lab in labels], 1)
        axes[0].bar(x + i * w, sums, w, label=t)
        axes[1].bar(x + i * w, means, w, label=t)
    for ax, title in zip(axes, ("summed over the epoch", "mean per instance")):
        ax.set_xticks(x + 0.4 - w / 2)
        ax.set_xticklabels([f"{lab} ({per[lab]['n']})" for lab in labels], rotation=45, ha="right", fontsize=8)
        ax.set_yscale("log")
        ax.set_title(f"|gradient| on the outputs by gold label, {title}, epoch {record['epoch']}", fontsize=9)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_all(history: List[Dict[str, Any]], output: Path, prefix: str = "") -> List[Path]:
    output = Path(output)
    best = max(history, key=lambda h: h["micro"]["f"])
    paths = {"f1": output / f"{prefix}f1_per_epoch.png", "confusion": output / f"{prefix}confusion_best.png",
             "confusion_last": output / f"{prefix}confusion_last.png", "scores": output / f"{prefix}scores_best.png",
             "loss": output / f"{prefix}loss_terms.png"}
    plot_f1(history, paths["f1"])
    plot_confusion(best, paths["confusion"])
    plot_confusion(history[-1], paths["confusion_last"])
    if "confusion_argmax" in best:
        paths["confusion_argmax"] = output / f"{prefix}confusion_argmax_best.png"
        plot_confusion(best, paths["confusion_argmax"], key="confusion_argmax")
    plot_scores(best, paths["scores"])
    plot_loss(history, paths["loss"])
    paths["gradients"] = output / f"{prefix}gradients_last.png"
    plot_gradients(history[-1], paths["gradients"])
    return [p for p in paths.values() if p.exists()]


if __name__ == "__main__":  # python -m spacy_bio_rel.diagnose_plots OUTPUT: redraw from OUTPUT/diagnosis.json
    import json
    import sys

    folder = Path(sys.argv[1])
    for p in plot_all(json.loads((folder / "diagnosis.json").read_text(encoding="utf-8"))["epochs"], folder):
        print(p)
