"""The steps of scripts/gpu_check.sh after the install: train, compare, evaluate, predict on one device.

    python scripts/gpu_check.py --gpu-id 0 --train TRAIN(.json|.spacy) --dev DEV(.json|.spacy) --out DIR

Every step runs even when an earlier one failed (except those that need its
output); each one's figures or error go into DIR/gpu_check.json. The exit
status is 1 when any step failed. See gpu_check.sh for what it checks.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "en_wordwise.cfg"
TOLERANCE = 1e-4  # fast and reference paths: |a - b| <= TOLERANCE * (1 + |b|)


def log(*parts):
    print("[gpu_check]", *parts, flush=True)


def run(cmd, **kw):
    """A subprocess, its output passed through; seconds it took."""
    log("$", " ".join(str(c) for c in cmd))
    t0 = time.perf_counter()
    subprocess.run([str(c) for c in cmd], check=True, **kw)
    return time.perf_counter() - t0


def to_docbin(path: Path, name: str, work: Path) -> Path:
    """A .spacy file as it is; a SpERT-style CoNLL04 .json converted with the project's converter."""
    if path.suffix == ".spacy":
        return path
    run([sys.executable, "-m", "spacy_bio_rel", "convert", "conll04", path, work / "data", "--name", name])
    return work / "data" / f"{name}.spacy"


def device_info(gpu_id):
    import spacy
    import thinc
    import torch

    info = {
        "python": platform.python_version(),
        "spacy": spacy.__version__,
        "thinc": thinc.__version__,
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
    }
    try:
        import cupy

        info["cupy"] = cupy.__version__
    except ImportError:
        info["cupy"] = None
    if gpu_id >= 0:
        info["gpu"] = torch.cuda.get_device_name(gpu_id)
    return info


def max_diff(a, b):
    """The largest |a - b| / (1 + |b|) over two arrays or tensors (moved to the CPU)."""
    import numpy

    def host(x):
        if hasattr(x, "detach"):  # torch
            return x.detach().cpu().numpy()
        return x.get() if hasattr(x, "get") else x  # cupy

    a, b = (numpy.asarray(host(x), dtype="float64") for x in (a, b))
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return float((abs(a - b) / (1.0 + abs(b))).max()) if a.size else 0.0


def network_check(gpu_id, train_path, steps):
    """Train the network through the Python API on the device, then compare the fast and reference paths."""
    import spacy
    import torch

    import spacy_bio_rel  # noqa: F401
    from spacy_bio_rel.ml.architectures import torch_module
    from spacy_bio_rel.training.batchers import configure_batch_by_pairs
    from spacy_bio_rel.training.optimizers import configure_rmsprop
    from spacy_bio_rel.training.readers import create_gold_ents_corpus

    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    config = spacy.util.load_config(CONFIG)
    config["components"]["relation_extractor"]["model"]["min_freq"] = 1  # a tiny slice keeps its words
    spacy.util.fix_random_seed(0)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    examples = list(create_gold_ents_corpus(Path(train_path), directed=True)(nlp))
    nlp.initialize(lambda: examples)
    pipe = nlp.get_pipe("relation_extractor")
    module = torch_module(pipe.model)
    device = str(next(module.parameters()).device)
    batches = list(configure_batch_by_pairs(size=256)(examples))
    optimizer = configure_rmsprop(learn_rate=0.001)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    losses, pairs, t0 = [], 0, time.perf_counter()
    for step in range(steps):
        batch = batches[step % len(batches)]
        losses.append(pipe.update(batch, sgd=optimizer)[pipe.name])
        pairs += pipe.training_input(batch).n_pairs
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    out = {
        "device": device,
        "ops": type(pipe.model.ops).__name__,
        "steps": steps,
        "docs": len(examples),
        "seconds": round(seconds, 3),
        "train_pairs_per_s": round(pairs / seconds, 1),
        "loss_first_last": [round(losses[0], 4), round(losses[-1], 4)],
    }
    # fast vs reference on the trained network, full float32 (TF32 rounds convolutions to 10 bits)
    batch = batches[0]
    docs = [eg.predicted for eg in examples]
    tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    for setting in ("float32", "tf32_default"):
        if setting == "float32":
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        else:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
        drop = module.dropout.p
        module.dropout.p = 0.0  # the same network on both paths
        result = {}
        for fast in (True, False):
            module.shared_convolution = fast
            module.zero_grad()
            X = pipe.training_input(batch)
            scores, backprop = pipe.model.begin_update(X)
            loss, d_scores = pipe.get_loss(batch, (X, scores))
            backprop(d_scores)
            grads = {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}
            _, predicted = pipe.predict(docs)
            result[fast] = (scores.classes, loss, grads, predicted)
        module.zero_grad()
        module.dropout.p = drop
        module.shared_convolution = True
        (c1, l1, g1, p1), (c2, l2, g2, p2) = result[True], result[False]
        diffs = {
            "train_scores": max_diff(c1, c2),
            "loss": abs(l1 - l2) / (1.0 + abs(l2)),
            "gradients": max(max_diff(g1[n], g2[n]) for n in g2) if g2 else 0.0,
            "predict_scores": max(max_diff(a, b) for a, b in zip(p1, p2)),
        }
        out[f"fast_vs_reference_{setting}"] = {k: float(f"{v:.3g}") for k, v in diffs.items()}
        if setting == "float32":
            bad = {k: v for k, v in diffs.items() if v > TOLERANCE}
            out["fast_equals_reference"] = not bad
            if bad:
                raise AssertionError(f"fast and reference paths differ beyond {TOLERANCE}: {bad}")
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
    if torch.cuda.is_available():
        out["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def evaluate_check(gpu_id, model, dev):
    import spacy

    from spacy_bio_rel.scoring.evaluate import evaluate_gold_entities

    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    t0 = time.perf_counter()
    scores = evaluate_gold_entities(model, dev)
    keep = ("rel_micro_p", "rel_micro_r", "rel_micro_f", "rel_n_gold", "rel_n_pred", "docs")
    return {**{k: scores[k] for k in keep}, "seconds": round(time.perf_counter() - t0, 3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpu-id", type=int, default=0, help="-1: the same steps on the CPU")
    ap.add_argument("--train", type=Path, default=REPO / "tests" / "fixtures" / "conll04" / "small.json")
    ap.add_argument("--dev", type=Path, default=None, help="default: the train file")
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "gpu_check_out"))
    ap.add_argument("--train-steps", type=int, default=100, help="spacy train --training.max_steps")
    ap.add_argument("--network-steps", type=int, default=30, help="Python API training steps")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {"gpu_id": args.gpu_id, "steps": {}, "failed": []}
    work = Path(tempfile.mkdtemp(prefix="gpu_check_"))
    gpu = ["--gpu-id", str(args.gpu_id)]

    def step(name, fn):
        log(f"--- {name}")
        t0 = time.perf_counter()
        try:
            result = fn()
            summary["steps"][name] = {
                "ok": True,
                "wall_s": round(time.perf_counter() - t0, 2),
                **(result or {}),
            }
            log(name, "ok:", json.dumps(summary["steps"][name]))
            return result
        except Exception as e:  # every step reports; the summary lists the failures
            traceback.print_exc()
            summary["steps"][name] = {"ok": False, "error": f"{type(e).__name__}: {e}"}
            summary["failed"].append(name)
            return None

    summary["environment"] = step("environment", lambda: device_info(args.gpu_id))
    data = step(
        "convert",
        lambda: {
            "train": str(to_docbin(args.train, "train", work)),
            "dev": str(to_docbin(args.dev or args.train, "dev", work)),
        },
    )
    if data:
        model = work / "wordwise"

        def spacy_train():
            import spacy

            import spacy_bio_rel  # noqa: F401
            from spacy_bio_rel.training.schedules import steps_per_epoch

            config = spacy.util.load_config(CONFIG, overrides={"paths.train": data["train"]}).interpolate()
            epoch = steps_per_epoch(spacy.blank("en"), config)
            seconds = run(
                [sys.executable, "-m", "spacy", "train", CONFIG, "--output", model]
                + ["--paths.train", data["train"], "--paths.dev", data["dev"]]
                + ["--training.max_steps", args.train_steps, "--training.max_epochs", 0]
                + ["--training.eval_frequency", max(1, args.train_steps // 2)]
                + gpu
            )
            meta = json.loads((model / "model-best" / "meta.json").read_text())
            return {
                "config": CONFIG.name,
                "max_steps": args.train_steps,
                "steps_per_epoch": epoch,
                "seconds": round(seconds, 2),
                "seconds_per_epoch": round(seconds * epoch / (args.train_steps + 1), 2),
                "rel_micro_f": meta["performance"].get("rel_micro_f"),
            }

        trained = step("spacy_train", spacy_train)
        step("network", lambda: network_check(args.gpu_id, data["train"], args.network_steps))
        if trained:
            step("evaluate", lambda: evaluate_check(args.gpu_id, model / "model-best", data["dev"]))

            def predict():
                out = work / "predicted.jsonl"
                seconds = run(
                    [sys.executable, "-m", "spacy_bio_rel", "predict", model / "model-best", data["dev"], out]
                    + gpu
                )
                n = sum(1 for _ in out.open(encoding="utf-8"))
                return {
                    "docs": n,
                    "seconds": round(seconds, 2),
                    "docs_per_s_with_startup": round(n / seconds, 1),
                }

            step("predict", predict)
    shutil.rmtree(work, ignore_errors=True)
    (args.out / "gpu_check.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    log("summary:", args.out / "gpu_check.json", "failed:", summary["failed"] or "none")
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
