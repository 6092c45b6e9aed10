"""One local Ray instance for the whole test session (starting Ray takes seconds)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_session():
    import ray

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=200 * 1024**2,
        log_to_driver=False,
        logging_level="WARNING",
    )
    yield ray
    ray.shutdown()
