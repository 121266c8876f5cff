"""The steps of scripts/gpu_check.sh after the install: train, compare, evaluate, predict on one device.

    python scripts/gpu_check.py --gpu-id 0 [--train TRAIN --dev DEV] [--zh-train ZH --zh-dev ZH_DEV] --out DIR

TRAIN and DEV are CoNLL04 (SpERT .json or .spacy), ZH and ZH_DEV SanWen (a brat folder or .spacy);
the defaults are .gpu_data/*.spacy (from scripts/gpu_wheels.sh --data) when present, else the test
fixtures. --max-steps caps every training run (the CPU dry run).

Every step runs even when an earlier one failed (except those that need its
output); each one's figures or error go into DIR/gpu_check.json. The exit
status is 1 when any step failed. See gpu_check.sh for what it checks.
"""

import argparse
import functools
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
ZH_CONFIG = REPO / "configs" / "zh_charwise.cfg"
TRF_CONFIG = REPO / "configs" / "en_trf.cfg"
DATA = REPO / ".gpu_data"
FIXTURES = REPO / "tests" / "fixtures"
# spaCy's or this package's CLI in a child process that writes torch's peak GPU memory at exit (with
# gpu_allocator = "pytorch", thinc's cupy arrays are allocated by torch too)
PEAK_RUNNER = """
import atexit, os, runpy, sys
def report():
    import torch
    if torch.cuda.is_available():
        with open(os.environ["GPU_CHECK_PEAK"], "w") as f:
            f.write(str(torch.cuda.max_memory_allocated()))
atexit.register(report)
module = sys.argv.pop(1)
sys.argv[0] = module
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""
TOLERANCE = 1e-4  # fast and reference paths: |a - b| <= TOLERANCE * (1 + |b|)


def log(*parts):
    print("[gpu_check]", *parts, flush=True)


def run(cmd, shown=None, **kw):
    """A subprocess, its output passed through; seconds it took. `shown` is logged in its place."""
    log("$", " ".join(str(c) for c in (shown or cmd)))
    t0 = time.perf_counter()
    subprocess.run([str(c) for c in cmd], check=True, **kw)
    return time.perf_counter() - t0


def run_cli(module, args, work):
    """`python -m module args` in a child process: (seconds, peak GPU memory in MiB or None)."""
    peak_file = work / "peak.txt"
    peak_file.unlink(missing_ok=True)
    env = {**os.environ, "GPU_CHECK_PEAK": str(peak_file)}
    shown = [sys.executable, "-m", module, *args]
    seconds = run([sys.executable, "-c", PEAK_RUNNER, module, *args], shown=shown, env=env)
    peak = round(int(peak_file.read_text()) / 2**20, 1) if peak_file.exists() else None
    return seconds, peak


def to_docbin(path: Path, name: str, work: Path, converter: str = "conll04") -> Path:
    """A .spacy file as it is; a SpERT-style CoNLL04 .json (or a brat folder, converter "brat")
    converted with the project's converter."""
    if path.suffix == ".spacy":
        return path
    run([sys.executable, "-m", "spacy_bio_rel", "convert", converter, path, work / "data", "--name", name])
    return work / "data" / f"{name}.spacy"


def default_data(name: str, fallback: Path) -> Path:
    path = DATA / f"{name}.spacy"
    return path if path.exists() else fallback


@functools.lru_cache(maxsize=None)
def count_sentences(path: str) -> int:
    """Sentences in a DocBin (read once per path: the train and dev files serve several steps)."""
    import spacy
    from spacy.tokens import DocBin

    docs = DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab)
    return sum(len(list(doc.sents)) if doc.has_annotation("SENT_START") else 1 for doc in docs)


def random_bert(path: Path, train_path, width: int = 256, layers: int = 4) -> str:
    """A randomly initialised BERT (`width` wide, `layers` layers, 4 heads) whose word-piece vocabulary
    is the words of the train Docs and their characters: full transformer weights do not travel."""
    from collections import Counter

    import spacy
    import transformers
    from spacy.tokens import DocBin

    docs = DocBin().from_disk(train_path).get_docs(spacy.blank("xx").vocab)
    words = Counter(t.lower_ for doc in docs for t in doc if not t.is_space)
    chars = sorted({c for w in words for c in w})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + [f"##{c}" for c in chars]
    vocab += sorted(w for w, n in words.items() if len(w) > 1 and n >= 2)
    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    transformers.BertTokenizerFast(vocab_file=str(path / "vocab.txt")).save_pretrained(str(path))
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=width,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=4 * width,
        max_position_embeddings=512,
    )
    transformers.set_seed(0)
    transformers.BertModel(config).save_pretrained(str(path))
    return str(path)


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


def train_run(config, data, model, epochs, work, gpu, max_steps=None, overrides=(), fit_schedule=False):
    """`spacy train config` for `epochs` epochs (at most `max_steps` steps): seconds per epoch,
    sentences/s, peak GPU memory and the dev score of model-best. `fit_schedule`: the learning-rate
    schedule (`warmup_linear`) ends with the run, a tenth of it warm-up."""
    import spacy
    from spacy.cli._util import parse_config_overrides

    import spacy_bio_rel  # noqa: F401
    from spacy_bio_rel.training.schedules import steps_per_epoch

    overrides = [str(o) for o in overrides]
    cfg = spacy.util.load_config(
        config, overrides={**parse_config_overrides(list(overrides)), "paths.train": data["train"]}
    ).interpolate()
    epoch = steps_per_epoch(spacy.blank(cfg["nlp"]["lang"]), cfg)
    steps = epochs * epoch if not max_steps else min(epochs * epoch, max_steps)
    args = [config, "--output", model, "--paths.train", data["train"], "--paths.dev", data["dev"]]
    args += ["--training.max_steps", steps, "--training.max_epochs", epochs]
    args += ["--training.eval_frequency", max(1, steps // 2)]
    if fit_schedule:
        args += ["--training.optimizer.learn_rate.total_steps", steps]
        args += ["--training.optimizer.learn_rate.warmup_steps", max(1, steps // 10)]
    seconds, peak = run_cli("spacy", ["train", *args, *overrides, *gpu], work)
    # eval_frequency is at most half the run, so model-best is always written
    meta = json.loads((model / "model-best" / "meta.json").read_text())
    sentences = count_sentences(str(data["train"]))
    return {
        "config": Path(config).name,
        "steps": steps,
        "steps_per_epoch": epoch,
        "seconds": round(seconds, 2),
        "seconds_per_epoch": round(seconds * epoch / steps, 2),
        "train_sentences_per_s": round(sentences * steps / epoch / seconds, 1),
        "peak_gpu_memory_mb": peak,
        "dev": {k: v for k, v in meta["performance"].items() if k.startswith("rel_micro")},
    }


def predict_run(model, dev, work, gpu):
    """`predict MODEL DEV` (startup included): sentences/s and peak GPU memory."""
    out = work / f"{model.parent.name}.jsonl"
    seconds, peak = run_cli("spacy_bio_rel", ["predict", model, dev, out, *gpu], work)
    n = sum(1 for _ in out.open(encoding="utf-8"))
    sentences = count_sentences(str(dev))
    return {
        "docs": n,
        "sentences": sentences,
        "seconds": round(seconds, 2),
        "sentences_per_s_with_startup": round(sentences / seconds, 1),
        "peak_gpu_memory_mb": peak,
    }


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be at least 1")
    return value


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpu-id", type=int, default=0, help="-1: the same steps on the CPU")
    ap.add_argument(
        "--train", type=Path, default=default_data("conll04_train", FIXTURES / "conll04" / "small.json")
    )
    ap.add_argument(
        "--dev", type=Path, default=None, help="default: .gpu_data/conll04_dev.spacy, else the train file"
    )
    ap.add_argument("--zh-train", type=Path, default=default_data("sanwen_train", FIXTURES / "brat"))
    ap.add_argument(
        "--zh-dev", type=Path, default=None, help="default: .gpu_data/sanwen_dev.spacy, else the zh train"
    )
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "gpu_check_out"))
    ap.add_argument("--en-epochs", type=positive, default=2, help="en_wordwise.cfg epochs")
    ap.add_argument("--zh-epochs", type=positive, default=1, help="zh_charwise.cfg epochs")
    ap.add_argument("--trf-epochs", type=positive, default=1, help="en_trf.cfg epochs (a random BERT)")
    ap.add_argument("--max-steps", type=int, default=0, help="cap on every training run's steps (0: none)")
    ap.add_argument("--network-steps", type=int, default=30, help="Python API training steps")
    args = ap.parse_args()
    if args.dev is None:
        args.dev = default_data("conll04_dev", args.train)
    if args.zh_dev is None:
        args.zh_dev = default_data("sanwen_dev", args.zh_train)
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
            "dev": str(to_docbin(args.dev, "dev", work)),
            "zh_train": str(to_docbin(args.zh_train, "zh_train", work, "brat")),
            "zh_dev": str(to_docbin(args.zh_dev, "zh_dev", work, "brat")),
        },
    )
    if data:
        en = {"train": data["train"], "dev": data["dev"]}
        wordwise = work / "wordwise"
        trained = step(
            "train_en_wordwise",
            lambda: train_run(CONFIG, en, wordwise, args.en_epochs, work, gpu, args.max_steps),
        )
        step("network", lambda: network_check(args.gpu_id, data["train"], args.network_steps))
        if trained:
            step("evaluate", lambda: evaluate_check(args.gpu_id, wordwise / "model-best", data["dev"]))
            step("predict_en_wordwise", lambda: predict_run(wordwise / "model-best", data["dev"], work, gpu))
        zh = {"train": data["zh_train"], "dev": data["zh_dev"]}
        step(
            "train_zh_charwise",
            lambda: train_run(ZH_CONFIG, zh, work / "charwise", args.zh_epochs, work, gpu, args.max_steps),
        )
        bert = step("random_bert", lambda: {"path": random_bert(work / "bert", data["train"])})
        if bert:
            trf = work / "trf"

            def train_trf():
                return train_run(
                    TRF_CONFIG,
                    en,
                    trf,
                    args.trf_epochs,
                    work,
                    gpu,
                    args.max_steps,
                    ["--paths.transformer", bert["path"]],
                    fit_schedule=True,
                )

            if step("train_en_trf", train_trf):
                step("predict_en_trf", lambda: predict_run(trf / "model-best", data["dev"], work, gpu))
    shutil.rmtree(work, ignore_errors=True)
    (args.out / "gpu_check.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    log("summary:", args.out / "gpu_check.json", "failed:", summary["failed"] or "none")
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
