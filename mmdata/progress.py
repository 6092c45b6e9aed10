"""Progress reporting from library code without printing: the CLI passes a sink that draws bars."""
from __future__ import annotations

from typing import Protocol


class ProgressSink(Protocol):
    def start(self, description: str, total: int) -> None: ...
    def advance(self, count: int) -> None: ...
    def finish(self) -> None: ...


class NullProgress:
    def start(self, description: str, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def finish(self) -> None:
        pass
