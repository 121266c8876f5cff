"""One local Ray instance (2 CPUs, no dashboard) for the tests of this folder, started once.

Every test here needs the ``ray`` extra; without it the whole folder is skipped with the reason.
"""

import os

import pytest

ray = pytest.importorskip("ray", reason='the ray extra is not installed: pip install "spacy-bio-rel[ray]"')
pytest.importorskip("ray.data", reason='Ray Data is not installed: pip install "spacy-bio-rel[ray]"')


@pytest.fixture(scope="session")
def ray_local():
    started = not ray.is_initialized()
    if started:
        # the test machine is shared: Ray's memory monitor must not kill our workers for others' memory
        os.environ.setdefault("RAY_memory_monitor_refresh_ms", "0")
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            object_store_memory=256 * 1024 * 1024,
            logging_level="WARNING",
        )
    yield ray
    if started:
        ray.shutdown()
