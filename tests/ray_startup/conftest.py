"""Ray for these tests: the instance tests/ray's session fixture started when it runs first, else one
started with the same settings for this module (starting Ray takes seconds).

tests/ray's `ray_session` is not imported here: pytest would take it for a second session fixture and
call `ray.init` twice in one process.
"""
from __future__ import annotations

import pytest

from tests.ray_module import module_ray_session


@pytest.fixture(scope="module")
def ray_session():
    yield from module_ray_session()
