"""Ray for a test module outside tests/ray: the session's instance (tests/ray/conftest.py's
`ray_session`) when it is running, else one started the same way for the module and shut down after it,
so that the session's own fixture can start Ray later (`ray.init` refuses to run twice). Starting Ray
takes seconds.

A folder's conftest makes it a module fixture (`yield from module_ray_session()`): importing tests/ray's
fixture itself would make pytest take it for a second session fixture."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def module_ray_session() -> Iterator[Any]:
    import ray

    if ray.is_initialized():  # the session's instance: left running for the tests that follow
        yield ray
        return
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024**2, log_to_driver=False,
             logging_level="WARNING")
    yield ray
    ray.shutdown()
