"""Markdown tables from diagnose runs (OUTPUT/diagnosis.json of scripts/diagnose_training.py).

python scripts/diagnosis_tables.py training/sanwen_diag_base [--compare NAME=DIR ...]
"""
import argparse
import json
from pathlib import Path


def load(folder):
    return json.loads((Path(folder) / "diagnosis.json").read_text(encoding="utf-8"))["epochs"]


def pct(x):
    return f"{100 * x:.1f}"


def per_epoch(h):
    labels = list(h[0]["per_label"])
    lines = ["| epoch | P | R | F1 | labels with a hit | " + " | ".join(labels) + " | best global θ (oracle) → F1 |",
             "|---" * (len(labels) + 6) + "|"]
    for r in h:
        m, o = r["micro"], r["oracle_global_theta"]
        lines.append(f"| {r['epoch']} | {pct(m['p'])} | {pct(m['r'])} | **{pct(m['f'])}** | {r['labels_with_a_hit']} | "
                     + " | ".join(f"{pct(r['per_label'][lab]['f'])} ({r['per_label'][lab]['tp']})" for lab in labels)
                     + f" | {o['theta']:.2f} → {pct(o['f'])} |")
    gold = " | ".join(str(h[0]["per_label"][lab]["n_gold"]) for lab in labels)
    lines.append(f"| gold | | | | | {gold} | |")
    return "\n".join(lines)


def direction(r):
    keys = ["hit__reverse_Other", "hit__reverse_same_label", "miss__reverse_Other", "miss__reverse_same_label",
            "miss__reverse_other_label", "reverse_not_a_candidate", "reverse_argmax_same_label"]
    lines = ["| gold label | " + " | ".join(k.replace("__", ", ") for k in keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for lab, d in r["direction"].items():
        lines.append(f"| {lab} | " + " | ".join(str(d.get(k, 0)) for k in keys) + " |")
    return "\n".join(lines)


def scores(r):
    lines = ["| group | n | 5% | 25% | 50% | 75% | 95% | share ≥ θ | argmax right |", "|---" * 9 + "|"]
    for lab, v in r["scores_positive"].items():
        if v.get("n"):
            q = v["quantiles"]
            lines.append(f"| + {lab} | {v['n']} | " + " | ".join(f"{q[k]:.2f}" for k in ("0.05", "0.25", "0.5", "0.75", "0.95"))
                         + f" | {pct(v['share_ge_theta'])} | {pct(r['positive_argmax_right'][lab])} |")
    for name, v in r["scores_negative"].items():
        if v.get("n"):
            q = v["quantiles"]
            lines.append(f"| − {name} | {v['n']} | " + " | ".join(f"{q[k]:.2f}" for k in ("0.05", "0.25", "0.5", "0.75", "0.95"))
                         + f" | {pct(v['share_ge_theta'])} | |")
    return "\n".join(lines)


def loss(r):
    per = r["loss_terms"]["per_label"]
    tot = r["loss_terms"]["total"]
    g_tot = {t: sum(v.get("grad_l1_sum", {}).get(t, 0) for v in per.values()) for t in tot}
    lines = ["| gold label | n | ident. mean | L+ mean | L− mean | share of L− | share of |∇| ident. | share of |∇| L+ | share of |∇| L− |",
             "|---" * 9 + "|"]
    for lab, v in per.items():
        g = v.get("grad_l1_sum", {})
        lines.append(f"| {lab} | {v['n']} | {v['mean']['identification']:.3f} | {v['mean']['ranking_pos']:.3f} | "
                     f"{v['mean']['ranking_neg']:.3f} | {pct(v['sum']['ranking_neg'] / max(tot['ranking_neg'], 1e-12))} | "
                     + " | ".join(pct(g.get(t, 0) / max(g_tot[t], 1e-12)) for t in ("identification", "ranking_pos", "ranking_neg"))
                     + " |")
    return "\n".join(lines)


def compare(runs):
    labels = list(next(iter(runs.values()))[0]["per_label"])
    lines = ["| run | best epoch | P | R | F1 | labels with ≥ 1 hit | labels with ≥ 20 hits | " + " | ".join(labels) + " |",
             "|---" * (len(labels) + 7) + "|"]
    for name, h in runs.items():
        r = max(h, key=lambda x: x["micro"]["f"])
        m = r["micro"]
        n20 = sum(1 for v in r["per_label"].values() if v["tp"] >= 20)
        lines.append(f"| {name} | {r['epoch']} | {pct(m['p'])} | {pct(m['r'])} | **{pct(m['f'])}** | "
                     f"{r['labels_with_a_hit']} | {n20} | "
                     + " | ".join(f"{pct(r['per_label'][lab]['f'])} ({r['per_label'][lab]['tp']})" for lab in labels) + " |")
    return "\n".join(lines)


def plot_compare(runs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy

    labels = list(next(iter(runs.values()))[0]["per_label"]) + ["micro"]
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.5))
    w = 0.8 / len(runs)
    for i, (name, h) in enumerate(runs.items()):
        r = max(h, key=lambda x: x["micro"]["f"])
        vals = [100 * r["per_label"][lab]["f"] for lab in labels[:-1]] + [100 * r["micro"]["f"]]
        axes[0].bar(numpy.arange(len(labels)) + i * w, vals, w, label=f"{name} (epoch {r['epoch']})")
        axes[1].plot([x["epoch"] for x in h], [100 * x["micro"]["f"] for x in h], marker="o", label=f"{name}, θ = 1")
        axes[1].plot([x["epoch"] for x in h], [100 * x["oracle_global_theta"]["f"] for x in h], ls="--",
                     color=axes[1].lines[-1].get_color(), label=f"{name}, global θ chosen on dev (oracle)")
    axes[0].set_xticks(numpy.arange(len(labels)) + 0.4 - w / 2)
    axes[0].set_xticklabels(labels, rotation=40, ha="right", fontsize=8)
    axes[0].set_ylabel("dev F1 (%) at θ = 1, best epoch")
    axes[0].legend(fontsize=8)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("dev micro F1 (%)")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--epoch", type=int, default=0, help="epoch of the detail tables (default: best dev F1)")
    ap.add_argument("--compare", action="append", default=[], help="NAME=DIR")
    ap.add_argument("--plot", type=Path, default=None, help="with --compare: PNG of per-label F1 per run")
    args = ap.parse_args()
    h = load(args.folder)
    r = next(x for x in h if x["epoch"] == args.epoch) if args.epoch else max(h, key=lambda x: x["micro"]["f"])
    print("## per epoch (dev, θ = %g; per label F1 (correct))\n" % r["theta"])
    print(per_epoch(h))
    print(f"\n## direction, epoch {r['epoch']}\n")
    print(direction(r))
    print(f"\n## best class score, epoch {r['epoch']}\n")
    print(scores(r))
    print(f"\n## training loss terms, epoch {r['epoch']}\n")
    print(loss(r))
    if args.compare:
        runs = {"base": h}
        runs.update({c.split("=", 1)[0]: load(c.split("=", 1)[1]) for c in args.compare})
        print("\n## runs compared (each at its best dev epoch)\n")
        print(compare(runs))
        if args.plot:
            plot_compare(runs, args.plot)


if __name__ == "__main__":
    main()
