"""Speed of two commits of this project in one run: a training pass and a
prediction pass of the CNN (``configs/en_wordwise.cfg`` of each commit,
ordered pairs, seed 0) on the same corpus, alternating old and new
``--repeats`` times; medians and the ratio new/old.

    python scripts/bench_commits.py --old 9e17ce6 --corpus corpus/conll04/train.spacy --repeats 5

The old commit is checked out with ``git worktree`` into a temporary folder
and imported through PYTHONPATH, in a fresh process per measurement. The
corpus must be readable by both: version 0.1 stores relations by token
offsets and cannot read 0.2's character offsets, while 0.2 reads both, so
convert it with the OLD commit's converter. Run it on
an otherwise idle machine: it measures wall-clock time.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def measure(root: Path, corpus: str, lang: str, threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root))
    cmd = [
        sys.executable,
        str(REPO / "scripts" / "bench_one.py"),
        "--corpus",
        corpus,
        "--lang",
        lang,
        "--threads",
        str(threads),
    ]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert Path(result["package"]) == root, (result["package"], root)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, help="commit to compare with the working tree")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--lang", default="en")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old_root = Path(tmp) / "old"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(old_root), args.old], check=True
        )
        try:
            runs = {"old": [], "new": []}
            for i in range(args.repeats):
                for name, root in (("old", old_root), ("new", REPO)):
                    runs[name].append(measure(root, args.corpus, args.lang, args.threads))
                    print(
                        f"repeat {i + 1}/{args.repeats} {name}: train {runs[name][-1]['train_s']:.2f} s, "
                        f"predict {runs[name][-1]['predict_s']:.2f} s",
                        file=sys.stderr,
                    )
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(old_root)], check=False
            )
    summary = {}
    for key in ("train_docs_per_s", "predict_docs_per_s"):
        old = statistics.median(r[key] for r in runs["old"])
        new = statistics.median(r[key] for r in runs["new"])
        summary[key] = {"old": old, "new": new, "new/old": new / old}
        print(f"{key:<20} old {old:9.1f}  new {new:9.1f}  new/old {new / old:5.2f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps({"args": vars(args), "summary": summary, "runs": runs}, indent=2)
        )


if __name__ == "__main__":
    main()
