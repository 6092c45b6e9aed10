"""The progress bars the commands draw: `mmdata.progress.RichProgress`, which library code can pass too.

Kept so that `from mmdata.cli.progress import RichProgress` goes on working.
"""
from __future__ import annotations

from mmdata.progress import KEPT, ComputedTimeRemainingColumn, ItemsPerSecondColumn, RichProgress, computed_rate

__all__ = ["KEPT", "ComputedTimeRemainingColumn", "ItemsPerSecondColumn", "RichProgress", "computed_rate"]
