"""What the commands share: option help texts and the GPU switch (errors: :mod:`.errors`).

Option names mean one thing across the CLI: a command's main output is a
positional OUTPUT; ``--output-dir DIR`` is a folder the command writes into;
``--report FILE`` a JSON file of figures; ``--gpu-id N`` the GPU (-1: CPU).
"""

from spacy_bio_rel.cli.errors import fail

BF16_HELP = (
    "Run the transformer in bfloat16 (matrix products; weights unchanged): about twice as fast on a CPU "
    "with AVX-512 BF16 or AMX, scores move slightly (docs/predict.md)."
)
GPU_HELP = "GPU id, -1 for CPU. A GPU needs CuPy: pip install spacy[cuda12x] (or the cuda extra that matches your CUDA)."
REPORT_HELP = "Also write all figures to this JSON file."


def use_gpu(gpu_id: int) -> None:
    """``spacy.require_gpu(gpu_id)`` for ``gpu_id >= 0``; no CuPy or no such device is one error line."""
    if gpu_id < 0:
        return
    import spacy

    try:
        spacy.require_gpu(gpu_id)
    except Exception as e:  # noqa: BLE001  (no cupy, no such device, ...)
        fail(f"cannot use GPU {gpu_id} (--gpu-id needs CuPy: pip install spacy[cuda12x]): {e}")
