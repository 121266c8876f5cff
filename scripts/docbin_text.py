"""The texts of the first N Docs of a DocBin, one per line (input for `predict`).

python scripts/docbin_text.py corpus/conll04/dev.spacy corpus/conll04/dev_sample.txt --limit 10
"""

import argparse
from pathlib import Path

import spacy
from spacy.tokens import DocBin


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("docbin")
    ap.add_argument("output")
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--lang", default="en")
    args = ap.parse_args()
    docs = DocBin().from_disk(args.docbin).get_docs(spacy.blank(args.lang).vocab)
    lines = []
    for doc in docs:
        if len(lines) >= args.limit:
            break
        lines.append(" ".join(doc.text.split()))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} texts to {args.output}")


if __name__ == "__main__":
    main()
