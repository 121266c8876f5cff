"""Rewrite a wheel without the files a run does not need, with a matching RECORD.

scripts/gpu_wheels.sh uses it to fit spaCy and the transformers stack into what travels to a GPU
machine (64 MiB). --strip removes the debug sections of the wheel's shared libraries: spaCy's wheel
is 34 MiB with them, most of it debug information. A file is dropped when its path in the wheel
matches a --drop pattern and no --keep pattern (fnmatch: `*` also matches `/`). For example
transformers ships about 340 model implementations (94 MB unpacked) and imports a model's code only
when it is asked for, while its auto classes read every model's configuration; so this wheel serves
every BERT-architecture encoder:

    python scripts/slim_wheel.py transformers-*.whl --drop 'transformers/models/*/*' \\
        --keep 'transformers/models/auto/*' 'transformers/models/bert/*' '*/__init__.py' \\
        'transformers/models/encoder_decoder/*' 'transformers/models/*/configuration_*.py'
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _strip_debug(data: bytes, name: str) -> bytes:
    """`strip --strip-debug` of one shared library: its debug sections only, so it loads as before."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lib.so"
        path.write_bytes(data)
        result = subprocess.run(["strip", "--strip-debug", str(path)], capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"strip failed on {name}: {result.stderr.strip()}")
        return path.read_bytes()


def _is_shared_library(name: str) -> bool:
    return name.endswith(".so") or ".so." in name.rsplit("/", 1)[-1]


def slim(wheel: Path, drop: list[str], keep: list[str], strip: bool = False) -> tuple[int, int]:
    """Rewrite `wheel` in place without the files that match `drop` and not `keep`, with the debug
    sections of its shared libraries removed if `strip`, and with a RECORD of the files left.
    Returns (files kept, files dropped)."""
    with zipfile.ZipFile(wheel) as src:
        infos = src.infolist()
        record = next((i.filename for i in infos if i.filename.endswith(".dist-info/RECORD")), None)
        if record is None:
            raise SystemExit(f"{wheel}: not a wheel (no .dist-info/RECORD)")
        kept, rows, dropped = [], [], 0
        for info in infos:
            name = info.filename
            if name == record:
                continue
            if _matches(name, drop) and not _matches(name, keep):
                dropped += 1
                continue
            data = src.read(info)
            if strip and _is_shared_library(name):
                data = _strip_debug(data, f"{wheel.name}:{name}")
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append(f"{name},sha256={digest},{len(data)}")
            kept.append((info, data))
    if drop and dropped == 0:
        raise SystemExit(f"{wheel}: no file matches {drop}")
    tmp = wheel.with_name(wheel.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in kept:
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
        dst.writestr(record, "\n".join(rows + [f"{record},,"]) + "\n")
    tmp.replace(wheel)
    return len(kept), dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path)
    parser.add_argument(
        "--drop",
        nargs="+",
        default=[],
        metavar="PATTERN",
        help="paths in the wheel to leave out, e.g. 'spacy/tests/*' '*.pyx'",
    )
    parser.add_argument(
        "--keep",
        nargs="*",
        default=[],
        metavar="PATTERN",
        help="paths kept although a --drop pattern matches them",
    )
    parser.add_argument(
        "--strip",
        action="store_true",
        help="remove the debug sections of the shared libraries (strip --strip-debug)",
    )
    args = parser.parse_args(argv)
    if not args.wheel.is_file():
        raise SystemExit(f"{args.wheel}: no such wheel")
    if not args.drop and not args.strip:
        parser.error("nothing to do: give --drop, --strip or both")
    if args.strip and shutil.which("strip") is None:
        raise SystemExit("--strip needs binutils' strip on PATH")
    before = args.wheel.stat().st_size
    n_kept, n_dropped = slim(args.wheel, args.drop, args.keep, args.strip)
    after = args.wheel.stat().st_size
    print(
        f"{args.wheel.name}: kept {n_kept} files, dropped {n_dropped}; "
        f"{before / 2**20:.1f} -> {after / 2**20:.1f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
