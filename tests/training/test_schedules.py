"""The learning-rate schedule against the run's length: the start-of-training check and the shipped configs."""

import os
import random
import subprocess
import sys
import warnings

import pytest
import spacy
from conftest import REPO, planted_docs
from spacy.util import load_config, load_model_from_config, registry
from util import SMALL, _write, gold_examples

from spacy_bio_rel.training.schedules import ScheduleWarning, schedule_problem, steps_per_epoch, zero_from

CONFIGS = sorted((REPO / "configs").glob("*.cfg"))
CHECK = {"@callbacks": "spacy-bio-rel.check_schedule.v1"}


def _config(tmp_path, total_steps, max_steps, max_epochs, shuffle=False):
    """en_small.cfg on 40 planted Docs in batches of about 12 pairs (2 Docs), warmup_linear, the check wired."""
    path = tmp_path / "train.spacy"
    if not path.exists():
        _write(planted_docs(spacy.blank("en"), 40), path)
    overrides = {
        "paths.train": str(path),
        "paths.dev": str(path),
        "training.max_steps": max_steps,
        "training.max_epochs": max_epochs,
        "training.batcher.size": 12,
        "corpora.train.shuffle": shuffle,
    }
    config = load_config(REPO / "configs" / "en_small.cfg", overrides=overrides)
    config["training"]["optimizer"]["learn_rate"] = {
        "@schedules": "warmup_linear.v1",
        "warmup_steps": 2,
        "total_steps": total_steps,
        "initial_rate": 0.001,
    }
    config["initialize"]["before_init"] = CHECK
    return config


def _initialize(config):
    """``nlp.initialize`` as `spacy train` calls it, with the check as before_init; the ScheduleWarnings raised."""
    nlp = load_model_from_config(config, auto_fill=True)
    examples = gold_examples(planted_docs(nlp, 8))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nlp.initialize(lambda: examples)
    return nlp, [str(w.message) for w in caught if issubclass(w.category, ScheduleWarning)]


def _epoch(tmp_path):
    config = _config(tmp_path, 10, 0, 1)
    return steps_per_epoch(spacy.blank("en"), config.interpolate())


def test_the_epoch_is_counted_with_the_configs_batcher(tmp_path):
    # 40 Docs of 6 directed pairs each, batches of about 12 pairs: more than one step, fewer than 40
    assert 10 <= _epoch(tmp_path) <= 20


def test_a_schedule_shorter_than_max_steps_warns(tmp_path):
    epoch = _epoch(tmp_path)
    _, caught = _initialize(_config(tmp_path, total_steps=epoch + 5, max_steps=3 * epoch, max_epochs=0))
    assert len(caught) == 1
    assert f"reaches 0 at step {epoch + 5}, in epoch 2 (an epoch is {epoch} steps), but" in caught[0]
    assert (
        f"max_steps = {3 * epoch}" in caught[0] and f"last {2 * epoch - 5} steps learn nothing" in caught[0]
    )


def test_a_schedule_shorter_than_the_first_epoch_warns(tmp_path):
    epoch = _epoch(tmp_path)
    for max_steps, max_epochs in [(0, 3), (0, 0), (5 * epoch, 0)]:
        _, caught = _initialize(_config(tmp_path, total_steps=5, max_steps=max_steps, max_epochs=max_epochs))
        assert len(caught) == 1, (max_steps, max_epochs)
        assert (
            f"reaches 0 at step 5, before the first epoch of corpora.train ends (step {epoch})" in caught[0]
        )
    _, caught = _initialize(_config(tmp_path, total_steps=5, max_steps=0, max_epochs=3))
    assert f"max_epochs = 3 of {epoch} steps" in caught[0]


def test_a_schedule_that_fits_the_run_does_not_warn(tmp_path):
    epoch = _epoch(tmp_path)
    for total_steps, max_steps, max_epochs in [
        (30, 30, 0),  # ends with max_steps
        (3 * epoch, 0, 3),  # ends with the epochs
        (3 * epoch, 1000, 3),  # the epochs end the run before max_steps
        (2 * epoch, 0, 0),  # no limit (patience): learns through the first epoch
    ]:
        _, caught = _initialize(_config(tmp_path, total_steps, max_steps, max_epochs))
        assert caught == [], (total_steps, max_steps, max_epochs)


def test_a_rate_that_never_reaches_0_fits_any_run(tmp_path):
    for rate in [0.001, {"@schedules": "cyclic_triangular.v1", "min_lr": 1e-4, "max_lr": 1e-3, "period": 3}]:
        config = _config(tmp_path, 5, 100, 0)
        config["training"]["optimizer"]["learn_rate"] = rate
        _, caught = _initialize(config)
        assert caught == [], rate


def test_counting_the_epoch_leaves_the_random_state_as_it_was(tmp_path):
    config = _config(tmp_path, 5, 0, 3, shuffle=True)  # a shuffling reader draws from `random`
    random.seed(7)
    expected = random.random()
    random.seed(7)
    _, caught = _initialize(config)
    assert len(caught) == 1 and random.random() == expected


def test_spacy_train_warns_once_before_training(tmp_path):
    config = _config(tmp_path, total_steps=4, max_steps=12, max_epochs=0)
    config["training"]["eval_frequency"] = 100
    config.to_disk(tmp_path / "short.cfg")
    cmd = [
        sys.executable,
        "-m",
        "spacy",
        "train",
        str(tmp_path / "short.cfg"),
        "--output",
        str(tmp_path / "out"),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # one stream, in the order it was written
    res = subprocess.run(cmd + SMALL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    output = res.stdout
    assert res.returncode == 0, output[-3000:]
    assert output.count("The learning rate reaches 0 at step 4,") == 1
    assert output.index("The learning rate reaches 0") < output.index("Training pipeline")


def _schedule_config(path):
    rate = load_config(path)["training"]["optimizer"].get("learn_rate")
    return isinstance(rate, dict) and "total_steps" in rate


SCHEDULED = [p for p in CONFIGS if _schedule_config(p)]


def test_the_configs_with_a_schedule_are_the_transformer_ones():
    assert [p.name for p in SCHEDULED] == ["en_e2e_trf.cfg", "en_trf.cfg", "zh_e2e_trf.cfg", "zh_trf.cfg"]


@pytest.mark.parametrize("path", SCHEDULED, ids=lambda p: p.name)
def test_every_shipped_schedule_ends_when_its_run_ends(path):
    config = load_config(path).interpolate()
    training = config["training"]
    # the run's length is a number of steps, whatever the corpus, and the schedule has that length
    assert training["max_epochs"] == 0 and training["max_steps"] > 0
    assert training["optimizer"]["learn_rate"]["total_steps"] == training["max_steps"]
    schedule = lambda: registry.resolve({"s": training["optimizer"]["learn_rate"]})["s"]  # noqa: E731
    assert zero_from(schedule(), training["max_steps"]) is None  # still learning on the step before the last
    assert zero_from(schedule(), training["max_steps"] + 1) == training["max_steps"]  # 0 on the last one

    def no_corpus():
        raise AssertionError("the check needed the corpus")

    assert schedule_problem(config, spacy.blank("en"), count_epoch=no_corpus) is None
    assert config["initialize"]["before_init"] == CHECK


@pytest.mark.parametrize("path", SCHEDULED, ids=lambda p: p.name)
def test_the_schedules_length_sets_the_runs(path):
    config = load_config(path, overrides={"training.optimizer.learn_rate.total_steps": 120}).interpolate()
    assert config["training"]["max_steps"] == 120


@pytest.mark.parametrize("path", SCHEDULED, ids=lambda p: p.name)
def test_the_optimizer_resolves_without_interpolation(path):
    # Language.create_optimizer (nlp.initialize() without sgd, nlp.update on a loaded pipeline) resolves
    # [training.optimizer] as written: a ${...} reference there would reach warmup_linear as a string
    optimizer = registry.resolve({"o": load_config(path)["training"]["optimizer"]})["o"]
    assert optimizer.learn_rate == 0.0  # warmup_linear's first step


def test_a_run_that_ends_before_its_schedule_warns(tmp_path):
    # --training.max_steps alone on a shipped config: the rate never decays
    config = load_config(REPO / "configs" / "en_trf.cfg", overrides={"training.max_steps": 100}).interpolate()
    problem = schedule_problem(config, spacy.blank("en"))
    assert problem.startswith(
        "The run ends at step 100 (max_steps = 100) with the learning rate still at 89%"
    )
    assert (
        "it reaches 0 only at step 500" in problem
        and "--training.optimizer.learn_rate.total_steps N" in problem
    )
    epoch = _epoch(tmp_path)
    for max_steps, max_epochs in [(0, 2), (1000, 2)]:
        _, caught = _initialize(_config(tmp_path, 3 * epoch, max_steps, max_epochs))
        assert len(caught) == 1
        assert caught[0].startswith(f"The run ends at step {2 * epoch} (max_epochs = 2 of {epoch} steps)")
    _, caught = _initialize(_config(tmp_path, total_steps=100, max_steps=40, max_epochs=0))
    assert len(caught) == 1 and "it reaches 0 only at step 100" in caught[0]


@pytest.mark.parametrize("path", [p for p in CONFIGS if p not in SCHEDULED], ids=lambda p: p.name)
def test_the_other_shipped_configs_have_a_constant_rate(path):
    rate = load_config(path).interpolate()["training"]["optimizer"]["learn_rate"]
    assert isinstance(rate, float)
