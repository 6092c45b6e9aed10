"""Which executor runs the extractors: a name (`extract(executor=...)`, `--executor`) to the executor.

'local' is `mmdata.executors.LocalExecutor` (decode processes on this machine); 'ray' is
`mmdata.ray_executor.RayExecutor` (Ray Data, a cluster), imported only when asked for. An unknown
name is refused before anything is written.
"""
from __future__ import annotations

from typing import Any, Literal

from mmdata.errors import ConfigError
from mmdata.executors import LocalExecutor
from mmdata.options import did_you_mean, literal_choices

ExecutorName = Literal["local", "ray"]


def make_executor(executor: ExecutorName, *, num_workers: int | None = None, ray_address: str | None = None) -> Any:
    """The executor named: 'local' (process pool) or 'ray' (Ray Data); `num_workers` None: each
    executor's default (local: decide per extractor from its measured decoding; Ray: one task per CPU
    of the cluster)."""
    check_executor(executor)
    if executor == "local":
        return LocalExecutor(num_workers=num_workers)
    if executor == "ray":
        from mmdata.ray_executor import RayExecutor

        return RayExecutor(address=ray_address, num_workers=num_workers)
    raise AssertionError(f"executor {executor!r} passed check_executor")  # unreachable


def check_executor(executor: Any) -> None:
    """Refuse an executor name `make_executor` does not know (before anything is written, in `extract`).

    Raises:
        ConfigError: naming the value and the executors there are.
    """
    if isinstance(executor, bool) or not isinstance(executor, str) or executor not in literal_choices(ExecutorName):
        raise ConfigError(f"unknown executor {executor!r}; expected 'local' (process pool) or 'ray' (Ray Data)"
                          f"{did_you_mean(executor, literal_choices(ExecutorName))}")
