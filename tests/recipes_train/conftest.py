"""Small models train fastest on one thread when the CPU is shared; restore the setting afterwards."""
from __future__ import annotations

import pytest

from mmdata.models.trainer import limit_threads


@pytest.fixture(autouse=True)
def one_thread():
    with limit_threads(1):
        yield
