"""Check, as training starts, that the learning-rate schedule lasts as long as the run.

A decaying schedule such as ``warmup_linear.v1`` has its own length in steps
(``total_steps``); the run ends at ``[training] max_steps`` or after
``max_epochs`` epochs, whichever comes first. When the rate reaches 0 before
the run ends, every later step updates nothing; when a bounded run ends with
the rate well above 0, it never decays. The shipped transformer configs tie the
two together (``max_steps = ${training.optimizer.learn_rate.total_steps}``,
``max_epochs = 0``: the reference goes that way because spaCy's
``Language.create_optimizer`` resolves the optimizer section uninterpolated),
and wire ``spacy-bio-rel.check_schedule.v1`` as ``[initialize.before_init]`` so
that a run whose schedule misses its end says so once, before it trains:

    [initialize.before_init]
    @callbacks = "spacy-bio-rel.check_schedule.v1"

The steps of an epoch are counted with the config's own batcher over the train
corpus (one extra read of it, about 6 s for SanWen's 46,236 sentences), only
when the answer depends on them.
"""

import random
import warnings
from itertools import islice
from typing import Any, Callable, Dict, List, Optional

from spacy.language import Language
from spacy.util import registry, resolve_dot_names


class ScheduleWarning(UserWarning):
    """The learning rate reaches 0 before the training run ends, or after it."""


def schedule_rates(schedule: Any, n: int) -> List[float]:
    """The first ``n`` rates of ``schedule``: a number, a thinc schedule (iterable or callable over steps)."""
    if isinstance(schedule, (int, float)):
        return [float(schedule)] * n
    if callable(schedule):
        return [float(schedule(step=i)) for i in range(n)]
    return [float(r) for r in islice(iter(schedule), n)]


def zero_from(schedule: Any, end: int) -> Optional[int]:
    """The step from which the rate stays 0 up to step ``end`` (excluded); None if it is not 0 at ``end - 1``.

    A thinc 8 schedule is a generator: this consumes it.
    """
    return _zero_from(schedule_rates(schedule, end), end)


def _zero_from(rates: List[float], end: int) -> Optional[int]:
    if end <= 0 or (len(rates) >= end and rates[end - 1] != 0.0):
        return None
    nonzero = [i for i, r in enumerate(rates[:end]) if r != 0.0]
    return nonzero[-1] + 1 if nonzero else 0


def steps_per_epoch(nlp: Language, config: Dict[str, Any]) -> int:
    """Batches the config's batcher makes of one pass over the train corpus (the global RNG is left as it was)."""
    training = config["training"]
    batcher = registry.resolve({"batcher": training["batcher"]})["batcher"]
    (corpus,) = resolve_dot_names(config, [training["train_corpus"]])
    state = random.getstate()
    try:
        return sum(1 for _ in batcher(list(corpus(nlp))))
    finally:
        random.setstate(state)


LATE_SCAN = 10  # a schedule still above 0 at the run's end is followed this many run lengths further
LATE_SCAN_MAX = 1_000_000  # and at most this many steps


def schedule_problem(
    config: Dict[str, Any], nlp: Language, count_epoch: Optional[Callable[[], int]] = None
) -> Optional[str]:
    """One line saying how the learning-rate schedule misses the run's end, or None when it fits.

    ``config`` is the interpolated config. The run ends at ``max_steps`` or
    after ``max_epochs`` epochs, whichever comes first (0: no limit); a run
    with neither limit (one that ``patience`` stops) must at least not stop
    learning in its first epoch. Two misses are reported: the rate reaches 0
    before the run ends (the last steps learn nothing), and a decaying rate is
    still above 0 when a bounded run ends (it reaches 0 only later). A
    constant rate, or a schedule that never reaches 0, fits any run.
    """
    training = config.get("training") or {}
    rate_config = (training.get("optimizer") or {}).get("learn_rate")
    if rate_config is None or isinstance(rate_config, (int, float)):
        return None
    max_steps = int(training.get("max_steps") or 0)
    max_epochs = int(training.get("max_epochs") or 0)
    corpus_name = training.get("train_corpus", "the train corpus")
    if count_epoch is None:
        count_epoch = lambda: steps_per_epoch(nlp, config)  # noqa: E731
    epoch: Optional[int] = None
    note = ""
    if max_epochs > 0 or (max_steps == 0 and max_epochs == 0):
        try:
            epoch = count_epoch()
        except Exception as e:  # the check must not stop a run: it says what it could not count
            if max_steps == 0:
                return (
                    f"The learning-rate schedule was not checked against the run: the steps of an epoch of "
                    f"{corpus_name} could not be counted ({e})."
                )
            note = f" (unless max_epochs = {max_epochs} ends it first: an epoch of {corpus_name} could not be counted: {e})"
    ends = []
    if max_steps > 0:
        ends.append((max_steps, f"max_steps = {max_steps}"))
    if epoch is not None and max_epochs > 0:
        ends.append((max_epochs * epoch, f"max_epochs = {max_epochs} of {epoch} steps"))
    bounded = bool(ends)
    if not bounded:
        if epoch is None:  # a streamed corpus (max_epochs = -1) and no step limit: no end to compare with
            return None
        ends.append((epoch, f"no max_steps or max_epochs; the first epoch is {epoch} steps"))
    end, why = min(ends)
    schedule = registry.resolve({"learn_rate": rate_config})["learn_rate"]
    rates = schedule_rates(schedule, end + min((LATE_SCAN - 1) * end, LATE_SCAN_MAX) + 1)
    zero = _zero_from(rates, end)
    if zero is not None:
        if epoch is None and max_epochs == 0:  # not needed to find the end; it says where the 0 falls
            try:
                epoch = count_epoch()
            except Exception:
                pass
        if epoch is not None and zero < epoch:
            where = f", before the first epoch of {corpus_name} ends (step {epoch})"
        elif epoch is not None:
            where = f", in epoch {zero // epoch + 1} (an epoch is {epoch} steps)"
        else:
            where = ""
        return (
            f"The learning rate reaches 0 at step {zero}{where}, but the run goes on to step {end} "
            f"({why}){note}: its last {end - zero} steps learn nothing. Give the schedule the run's length "
            f"(the shipped configs take max_steps from [training.optimizer.learn_rate] total_steps)."
        )
    later = next((i for i in range(end, len(rates)) if rates[i] == 0.0), None)
    if bounded and later is not None and later > end:
        share = rates[end - 1] / max(rates[:end])
        return (
            f"The run ends at step {end} ({why}){note} with the learning rate still at {share:.0%} of its "
            f"peak: it reaches 0 only at step {later}. Give the schedule the run's length (the shipped configs "
            f"take max_steps from it: pass --training.optimizer.learn_rate.total_steps N, not --training.max_steps)."
        )
    return None


@registry.callbacks("spacy-bio-rel.check_schedule.v1")
def create_check_schedule() -> Callable[[Language], Language]:
    """An ``[initialize.before_init]`` (or ``after_init``) callback: warns once when the schedule misses the run's end."""

    def check_schedule(nlp: Language) -> Language:
        problem = schedule_problem(nlp.config.interpolate(), nlp)
        if problem is not None:
            warnings.warn(problem, ScheduleWarning, stacklevel=2)
        return nlp

    return check_schedule
