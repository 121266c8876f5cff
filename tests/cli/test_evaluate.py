"""``evaluate`` on missing, empty or unreadable data: one line naming the file, exit code 1."""

import pytest
import spacy
from conftest import planted_docs
from spacy.tokens import DocBin
from spacy.training import Example
from typer.testing import CliRunner

from spacy_bio_rel.cli.app import app


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    nlp = spacy.blank("en")
    nlp.add_pipe("relation_extractor", config={"model": {"min_freq": 1}})
    examples = []
    for ref in planted_docs(nlp, 8):
        pred = ref.copy()
        pred.user_data.clear()
        examples.append(Example(pred, ref))
    nlp.initialize(lambda: examples)
    path = tmp_path_factory.mktemp("model") / "pipe"
    nlp.to_disk(path)
    return path


@pytest.mark.parametrize("kind", ["missing", "zero_bytes", "no_docs", "garbage"])
def test_evaluate_bad_data_is_one_line(model, tmp_path, kind):
    data = tmp_path / "dev.spacy"
    if kind == "zero_bytes":
        data.write_bytes(b"")
    elif kind == "no_docs":
        DocBin().to_disk(data)
    elif kind == "garbage":
        data.write_bytes(b"not a docbin")
    res = CliRunner().invoke(app, ["evaluate", str(model), str(data)])
    assert res.exit_code == 1
    assert isinstance(res.exception, SystemExit)  # no other exception, no traceback
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and "dev.spacy" in lines[0]


def _docbin(docs, path):
    db = DocBin(store_user_data=True)
    for d in docs:
        db.add(d)
    db.to_disk(path)
    return path


def test_damaged_model_is_one_line_naming_the_file(model, tmp_path):
    import shutil

    broken = tmp_path / "pipe"
    shutil.copytree(model, broken)
    (broken / "relation_extractor" / "model").write_bytes(b"")
    data = _docbin(planted_docs(spacy.blank("en"), 4), tmp_path / "dev.spacy")
    res = CliRunner().invoke(app, ["evaluate", str(broken), str(data)])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)
    assert "relation_extractor/model" in res.output


def test_other_language_and_no_gold_relations_warn(model, tmp_path):
    zh = spacy.blank("zh")
    docs = []
    for text in ["张三在北京工作。", "李四住在上海。"]:
        doc = zh.make_doc(text)
        doc.ents = [doc.char_span(0, 2, "PER"), doc.char_span(text.index("。") - 2, text.index("。"), "LOC")]
        docs.append(doc)
    res = CliRunner().invoke(app, ["evaluate", str(model), str(_docbin(docs, tmp_path / "zh.spacy"))])
    assert res.exit_code == 0
    assert "warning: the data has no gold relations" in res.output
    assert "unknown to the model's vocabulary" in res.output
    en = planted_docs(spacy.blank("en"), 4)
    res = CliRunner().invoke(app, ["evaluate", str(model), str(_docbin(en, tmp_path / "en.spacy"))])
    assert res.exit_code == 0 and "warning" not in res.output


def test_predicted_entities_report_has_entity_relation_and_error_figures(tmp_path_factory, tmp_path):
    """The ruler pipeline finds every planted name; the dev set adds a gold relation it loses for each
    argument error: "Zed" unknown to the ruler (missed), "Anna Smith" found as "Anna" (mis-bounded),
    "Lima" annotated as an ORG the ruler calls LOC (mis-typed)."""
    import json

    from conftest import make_doc
    from util import ruler_pipeline_path

    from spacy_bio_rel.scoring.e2e_scorer import ERROR_CATEGORIES

    model = ruler_pipeline_path(str(tmp_path_factory.getbasetemp()))
    nlp = spacy.blank("en")
    docs = planted_docs(nlp, 8) + [
        make_doc(
            nlp, ["Zed", "works", "for", "Acme", "."], [(0, 1, "PER"), (3, 4, "ORG")], [(0, 1, "Work_For")]
        ),
        make_doc(
            nlp,
            ["Anna", "Smith", "works", "for", "Acme", "."],
            [(0, 2, "PER"), (4, 5, "ORG")],
            [(0, 1, "Work_For")],
        ),
        make_doc(
            nlp, ["Bert", "works", "for", "Lima", "."], [(0, 1, "PER"), (3, 4, "ORG")], [(0, 1, "Work_For")]
        ),
    ]
    dev = _docbin(docs, tmp_path / "dev.spacy")
    report = tmp_path / "e2e.json"
    res = CliRunner().invoke(
        app, ["evaluate", str(model), str(dev), "--entities", "predicted", "--report", str(report)]
    )
    assert res.exit_code == 0, res.output
    scores = json.loads(report.read_text(encoding="utf-8"))
    # entities: 8 * 3 planted + 2 + 2 + 2 gold; the ruler misses Zed, finds Anna for Anna Smith, Lima as LOC
    assert (scores["ents_n_gold"], scores["ents_n_correct"]) == (30, 27)
    assert set(scores["ents_per_type"]) == {"PER", "ORG", "LOC"}
    assert scores["ents_per_type"]["ORG"]["r"] == pytest.approx(10 / 11)
    assert set(scores["rel_e2e_per_type"]) >= {"Work_For", "Live_In"} and "rel_e2e_macro_f" in scores
    errors = scores["rel_e2e_errors"]
    assert errors["argument_missed"] == errors["argument_misbounded"] == errors["argument_mistyped"] == 1
    assert errors["lost"] == sum(errors[c] for c in ERROR_CATEGORIES)
    assert errors["lost"] == scores["rel_e2e_n_gold"] - scores["rel_e2e_n_correct"]
    printed = res.output
    for line in ("entities        P", "  ORG ", "relations micro P", "relations macro P", "  Work_For "):
        assert line in printed
    assert f"gold relations lost: {errors['lost']} of 11" in printed
    assert "  argument mis-bounded" in printed and "arguments right, relation missed" in printed
