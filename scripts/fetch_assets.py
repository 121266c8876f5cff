"""Get the open corpora into assets/: copy from a local shared copy, else download and verify.

    python scripts/fetch_assets.py conll04 --shared ../shared/datasets --dest assets/conll04
    python scripts/fetch_assets.py sanwen  --shared ../shared/datasets --dest assets/sanwen

The local copy is ``$SHARED_DATASETS`` when that environment variable is set
(it overrides ``--shared``, so it works under ``spacy project run`` too), else
``--shared`` (``vars.shared_datasets`` in project.yml). When neither holds the
data and the download fails (no network), one line says where the data was
looked for and how to provide it (exit code 1).

Files already present in ``--dest`` with the expected checksum are skipped.
Checksums are those of the project's shared copies: CoNLL04 per file, SanWen
one manifest checksum over all files (sha256 of "path sha256" lines, sorted).
A download whose checksum differs (e.g. an upstream format change) is an
error that prints the checksum found; ``--trust-download`` keeps it anyway.
No network is touched when the shared copy exists.
"""

import argparse
import hashlib
import io
import os
import shutil
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

CONLL04_URL = "http://lavis.cs.hs-rm.de/storage/spert/public/datasets/conll04/"
CONLL04_FILES = {  # local name: (upstream name, sha256 of the shared copy)
    "train.json": ("conll04_train.json", "5f9e9d97c954a21da8929618cf9f1e2b408ff5f1a9936425e5785cbd3c54a380"),
    "dev.json": ("conll04_dev.json", "f35e81e68da81914286f37f9d66230e6be79f5ff82466438135a2c1873b4f660"),
    "types.json": ("conll04_types.json", "9244d21d2640430f03eda97f59ce3e0a28a766964b1c04683c80656b5e505ad8"),
}
SANWEN_URL = "https://github.com/lancopku/Chinese-Literature-NER-RE-Dataset/archive/refs/heads/master.zip"
SANWEN_SPLITS = {"train": ("train",), "dev": ("dev", "validation", "valid")}
SANWEN_MANIFEST_SHA256 = "3f7c402cad09405d1b9668c79a7e470c779bfd55f606ea8e96ae4d0c0fa5e603"  # manifest of the shared copy (train/ + dev/)
SHARED_ENV = "SHARED_DATASETS"


def shared_folder(option: Path) -> Path:
    """``$SHARED_DATASETS`` when set, else the ``--shared`` option."""
    env = os.environ.get(SHARED_ENV, "").strip()
    return Path(env) if env else option


def download(url: str, timeout: int, looked: Path, dest: Path) -> bytes:
    """The bytes at ``url``; no network -> one line saying where the data was looked for, exit 1."""
    print(f"downloading {url}", file=sys.stderr)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read()
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", None) or e
        sys.exit(
            f"Error: no local copy at {looked} and the download of {url} failed ({reason}). "
            f"Provide the data: set {SHARED_ENV}=/path/to/datasets (or --vars.shared_datasets PATH) to a "
            f"folder holding {looked.name}/, or put the files into {dest} yourself."
        )


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_sha256(folder: Path) -> str:
    """One checksum over every file under ``folder`` (relative path + content)."""
    lines = sorted(
        f"{p.relative_to(folder).as_posix()} {sha256_file(p)}" for p in folder.rglob("*") if p.is_file()
    )
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def fetch_conll04(shared: Path, dest: Path, trust: bool) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name, (upstream, expected) in CONLL04_FILES.items():
        target = dest / name
        if target.exists() and sha256_file(target) == expected:
            print(f"{target}: present, checksum ok")
            continue
        local = shared / "conll04" / name
        if local.exists():
            shutil.copyfile(local, target)
            how = f"copied from {local}"
        else:
            url = CONLL04_URL + upstream
            target.write_bytes(download(url, 60, local.parent, dest))
            how = f"downloaded from {url}"
        found = sha256_file(target)
        if found != expected:
            msg = f"{target} ({how}): sha256 {found} differs from the expected {expected}"
            if not trust:
                target.unlink()
                sys.exit(f"Error: {msg}. Use --trust-download to keep it.")
            print(f"Warning: {msg} (kept: --trust-download)", file=sys.stderr)
        print(f"{target}: {how}, sha256 {found}")


def _extract_sanwen(archive: bytes, dest: Path) -> None:
    """Brat files of the train and dev splits from the repository archive (nested zips too)."""

    def walk(zf: zipfile.ZipFile) -> None:
        for info in zf.infolist():
            name = info.filename
            if name.endswith(".zip"):
                walk(zipfile.ZipFile(io.BytesIO(zf.read(info))))
                continue
            if not name.endswith((".txt", ".ann")):
                continue
            parts = [p.lower() for p in Path(name).parts[:-1]]
            for split, aliases in SANWEN_SPLITS.items():
                if any(p in aliases for p in parts):
                    out = dest / split / Path(name).name
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(zf.read(info))

    walk(zipfile.ZipFile(io.BytesIO(archive)))


def fetch_sanwen(shared: Path, dest: Path, trust: bool) -> None:
    expected = SANWEN_MANIFEST_SHA256
    if dest.exists() and any(dest.rglob("*.ann")) and manifest_sha256(dest) == expected:
        print(f"{dest}: present, checksum ok")
        return
    local = shared / "sanwen"
    if local.exists():
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(local, dest)
        how = f"copied from {local}"
    else:
        data = download(SANWEN_URL, 300, local, dest)
        _extract_sanwen(data, dest)
        how = f"downloaded from {SANWEN_URL}"
    found = manifest_sha256(dest)
    if found != expected:
        msg = f"{dest} ({how}): manifest sha256 {found} differs from the expected {expected}"
        if not trust:
            sys.exit(f"Error: {msg}. Use --trust-download to keep it.")
        print(f"Warning: {msg} (kept: --trust-download)", file=sys.stderr)
    print(f"{dest}: {how}, manifest sha256 {found}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", choices=["conll04", "sanwen"])
    ap.add_argument(
        "--shared",
        type=Path,
        default=Path("../shared/datasets"),
        help=f"local copy of the shared datasets (used when present); ${SHARED_ENV} overrides it",
    )
    ap.add_argument("--dest", type=Path, required=True, help="target folder, e.g. assets/conll04")
    ap.add_argument("--trust-download", action="store_true", help="keep a download whose checksum differs")
    args = ap.parse_args(argv)
    shared = shared_folder(args.shared)
    (fetch_conll04 if args.corpus == "conll04" else fetch_sanwen)(shared, args.dest, args.trust_download)


if __name__ == "__main__":
    main()
