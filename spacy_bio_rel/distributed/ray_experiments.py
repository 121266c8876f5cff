"""``cv`` / ``imbalance --engine ray``: every (variant, ratio, fold) training is one Ray task.

The driver (:func:`spacy_bio_rel.experiments.cv.run_cv`) makes the folds,
checks every run's manifest (:mod:`spacy_bio_rel.experiments.provenance`:
finished runs of the same inputs are reused, others stop the experiment or
are rebuilt with ``--overwrite``) and hands the runs still to do to
:func:`run_on_ray`. Each task calls the function the driver
passes, :func:`~spacy_bio_rel.experiments.cv.execute_run`, as the local engine does, so
a run folder (``data/``, ``model/``, ``scores.json``, ``manifest.json``) is
the same whichever engine wrote it; the driver then writes ``results.json``
and ``results.md`` from the scores in the local order.

Resources: a task asks for ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs;
Ray runs as many at once as the cluster has room for, and torch in a task
uses ``max(1, int(cpus_per_run))`` threads. A GPU task trains on the device
Ray assigned it (``CUDA_VISIBLE_DEVICES``, device 0 inside the task).

Faults: a task whose worker process dies (killed, out of memory, node lost)
is run again by Ray, up to :data:`MAX_RETRIES` times; ``execute_run`` clears
the half-written run folder first. An exception in the training itself is
not retried: the other tasks are cancelled and the error is raised (finished
runs are kept and reused by the next command).
"""

import time
from typing import Any, Callable, Dict, Optional

from spacy_bio_rel.distributed import ray_session

MAX_RETRIES = 3


def _train(execute: Callable[[Any], Dict], spec, threads: int, gpu: bool):
    """The body of a Ray task: one run, ``execute(spec)`` (the driver passes
    :func:`spacy_bio_rel.experiments.cv.execute_run`; Ray ships it by reference)."""
    from dataclasses import replace

    import torch

    torch.set_num_threads(threads)
    t0 = time.time()
    scores = execute(replace(spec, gpu_id=0 if gpu else -1))
    return scores, time.time() - t0


def run_on_ray(
    specs: Dict[int, object],
    execute: Callable[[Any], Dict],
    *,
    address: Optional[str] = None,
    cpus_per_run: float = 1,
    gpus_per_run: float = 0,
    on_done: Optional[Callable[[int, Dict, float], None]] = None,
) -> Dict[int, Dict]:
    """Run ``execute(spec)`` for every ``RunSpec`` of ``specs`` as a Ray task; return ``{key: scores}``.

    ``on_done(key, scores, seconds)`` is called as each run finishes (in the order they finish).
    """
    if cpus_per_run <= 0 or gpus_per_run < 0:
        raise ValueError("--cpus-per-run must be positive and --gpus-per-run at least 0")
    if not specs:
        return {}
    with ray_session(address) as ray:
        task = ray.remote(num_cpus=cpus_per_run, num_gpus=gpus_per_run, max_retries=MAX_RETRIES)(_train)
        threads = max(1, int(cpus_per_run))
        keys = {task.remote(execute, spec, threads, gpus_per_run > 0): k for k, spec in specs.items()}
        pending, out = list(keys), {}
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    scores, seconds = ray.get(ref)
                    out[keys[ref]] = scores
                    if on_done is not None:
                        on_done(keys[ref], scores, seconds)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        return out
