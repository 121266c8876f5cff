"""scripts/slim_wheel.py: dropped and kept files, a RECORD that matches, stripped libraries."""

import base64
import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import spacy
from conftest import load_script

DIST = "toy-1.0.dist-info"


@pytest.fixture
def slim_wheel():
    return load_script("slim_wheel")


def make_wheel(path, files):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
        z.writestr(f"{DIST}/METADATA", "Metadata-Version: 2.1\nName: toy\nVersion: 1.0\n")
        z.writestr(f"{DIST}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{DIST}/RECORD", "stale,,\n")
    return path


def record_of(path):
    with zipfile.ZipFile(path) as z:
        rows = z.read(f"{DIST}/RECORD").decode().splitlines()
        return z, {row.split(",")[0]: row for row in rows}, {n: z.read(n) for n in z.namelist()}


def test_drop_and_keep_leave_the_named_files_and_a_matching_record(slim_wheel, tmp_path):
    wheel = make_wheel(
        tmp_path / "toy-1.0-py3-none-any.whl",
        {
            "toy/__init__.py": "",
            "toy/models/__init__.py": "",
            "toy/models/bert/modeling.py": "BERT = 1\n",
            "toy/models/gpt/__init__.py": "",
            "toy/models/gpt/modeling.py": "GPT = 1\n",
            "toy/models/gpt/configuration_gpt.py": "CONFIG = 1\n",
            "toy/tests/test_x.py": "",
        },
    )
    kept, dropped = slim_wheel.slim(
        wheel,
        drop=["toy/models/*/*", "toy/tests/*"],
        keep=["toy/models/bert/*", "*/__init__.py", "toy/models/*/configuration_*.py"],
    )
    _, record, contents = record_of(wheel)
    assert dropped == 2  # gpt/modeling.py and the test
    assert "toy/models/gpt/modeling.py" not in contents and "toy/tests/test_x.py" not in contents
    for name in (
        "toy/models/bert/modeling.py",
        "toy/models/gpt/__init__.py",
        "toy/models/gpt/configuration_gpt.py",
    ):
        assert name in contents
    assert set(record) == {n for n in contents}  # one row per file, RECORD's own included
    for name, data in contents.items():
        if name == f"{DIST}/RECORD":
            continue
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert record[name] == f"{name},sha256={digest},{len(data)}"
    assert kept == len(contents) - 1
    # pip installs it
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    assert (target / "toy" / "models" / "bert" / "modeling.py").read_text() == "BERT = 1\n"
    assert not (target / "toy" / "models" / "gpt" / "modeling.py").exists()


def test_a_drop_pattern_that_matches_nothing_is_an_error(slim_wheel, tmp_path, capsys):
    wheel = make_wheel(tmp_path / "toy-1.0-py3-none-any.whl", {"toy/__init__.py": ""})
    with pytest.raises(SystemExit, match="no file matches"):
        slim_wheel.slim(wheel, drop=["toy/nothing/*"], keep=[])
    with pytest.raises(SystemExit) as e:
        slim_wheel.main([str(wheel)])
    assert e.value.code == 2 and "nothing to do: give --drop, --strip or both" in capsys.readouterr().err


@pytest.mark.skipif(not (shutil.which("strip") and shutil.which("readelf")), reason="needs binutils")
def test_strip_removes_the_debug_sections_only(slim_wheel, tmp_path):
    library = sorted(Path(spacy.__file__).parent.glob("attrs.*.so"))[0]  # a Cython module, built with -g
    data = library.read_bytes()
    wheel = make_wheel(tmp_path / "toy-1.0-py3-none-any.whl", {"toy/__init__.py": "", "toy/attrs.so": data})
    slim_wheel.slim(wheel, drop=[], keep=[], strip=True)
    _, record, contents = record_of(wheel)
    stripped = contents["toy/attrs.so"]
    assert len(stripped) < len(data)
    (tmp_path / "before.so").write_bytes(data)
    (tmp_path / "after.so").write_bytes(stripped)

    def sections(path):
        out = subprocess.run(
            ["readelf", "-S", "-W", str(path)], capture_output=True, text=True, check=True
        ).stdout
        return {word for line in out.splitlines() for word in line.split() if word.startswith(".")}

    before, after = sections(tmp_path / "before.so"), sections(tmp_path / "after.so")
    assert ".debug_info" in before and ".debug_info" not in after
    assert after == {s for s in before if not s.startswith(".debug")}  # the code and symbols stay
    assert record["toy/attrs.so"].endswith(f",{len(stripped)}")
