"""Running on Ray (the optional ``ray`` extra): batch prediction (:mod:`.predict`) and the
experiments' trainings (:mod:`.experiments`).

Ray is imported only here and in the modules of this package, and only when a
command asks for ``--engine ray``; without the extra every command works as
before and ``--engine ray`` says how to install it.
"""

import contextlib
import logging
from typing import Iterator, Optional

INSTALL_HINT = 'pip install "spacy-bio-rel[ray]"'
ENGINES = ("local", "ray")


class RayMissingError(RuntimeError):
    """``--engine ray`` without Ray installed."""


def require_ray():
    """The ``ray`` module (with Ray Data), or :class:`RayMissingError` saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise RayMissingError(f"--engine ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "ray":
        require_ray()


@contextlib.contextmanager
def ray_session(address: Optional[str] = None) -> Iterator[object]:
    """Connect to Ray for the duration of a command.

    Already connected (a notebook, the test suite): use that connection and
    leave it open. ``address`` (``HOST:PORT``, ``ray://HOST:10001`` or
    ``auto``): join that cluster. Neither: start a local instance with every
    core of this machine, shut down at the end.
    """
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    if address:
        ray.init(address=address, logging_level=logging.WARNING)
    else:
        ray.init(include_dashboard=False, logging_level=logging.WARNING)
    try:
        yield ray
    finally:
        ray.shutdown()
