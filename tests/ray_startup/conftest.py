"""Ray for these tests: the instance tests/ray's session fixture started when it runs first, else one
started with the same settings for this module (starting Ray takes seconds).

tests/ray's `ray_session` is not imported here: pytest would take it for a second session fixture and
call `ray.init` twice in one process.
"""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def ray_session():
    import ray

    if ray.is_initialized():  # tests/ray's session instance: left running for them
        yield ray
        return
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024**2, log_to_driver=False,
             logging_level="WARNING")
    yield ray
    ray.shutdown()
