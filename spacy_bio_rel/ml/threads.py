"""torch's intra-op threads during prediction.

torch runs its operations on as many threads as the machine has cores, and
its OpenMP threads spin while they wait for each other. When another process
keeps a core busy, a two-thread operation waits for a thread that is not
running: on a 2-core machine with one busy neighbour our prediction fell
from 576 to 28-52 sentences/s. One thread cannot wait for
another, so the relation component predicts on ``torch_threads = 1`` by
default and restores torch's setting afterwards; ``0`` leaves torch's
setting alone (for a dedicated machine, where more threads can help).
"""

import contextlib
from typing import Iterator

import torch


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block on ``n`` torch threads (``n <= 0``: torch's current setting)."""
    before = torch.get_num_threads()
    if n <= 0 or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
