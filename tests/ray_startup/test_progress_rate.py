"""The bar's items/s: items computed in this run per second since the bar started; kept shards apart."""
from __future__ import annotations

from mmdata.cli.progress import ComputedTimeRemainingColumn, ItemsPerSecondColumn, RichProgress
from mmdata.pipeline import extract
from tests.reliability.fake_coco import write_fake_coco


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _columns(progress: RichProgress) -> tuple[str, str]:
    task = progress._progress.tasks[0]
    return ItemsPerSecondColumn().render(task).plain, ComputedTimeRemainingColumn().render(task).plain


def test_the_rate_counts_the_wait_for_the_first_result_and_not_the_rows_kept():
    clock = Clock()
    progress = RichProgress(quiet=True, clock=clock)
    progress.start("image.color-hist", 100)
    progress.already_done(60)  # shards an earlier run wrote: at once
    assert _columns(progress) == ("-- items/s (60 already done)", "-:--:--")
    clock.now += 8.0  # Ray starting, a model loading: nothing computed yet
    progress.advance(10)
    clock.now += 2.0
    progress.advance(10)
    rate, left = _columns(progress)
    assert rate == "2.0 items/s (60 already done)"  # 20 items in 10 s, not 10 items per 2 s, not 80 in 10 s
    assert left == "0:00:10"  # 20 rows left at 2 items/s
    progress.finish()


def test_a_finished_bar_keeps_the_rate_it_finished_at():
    clock = Clock()
    progress = RichProgress(quiet=True, clock=clock)
    progress.start("t", 4)
    clock.now += 2.0
    progress.advance(4)
    clock.now += 100.0
    assert _columns(progress)[0] == "2.0 items/s"
    progress.finish()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def start(self, description: str, total: int) -> None:
        self.calls.append(("start", total))

    def advance(self, count: int) -> None:
        self.calls.append(("advance", count))

    def already_done(self, count: int) -> None:
        self.calls.append(("already_done", count))

    def finish(self) -> None:
        pass


def test_a_resumed_run_reports_kept_shards_as_already_done(tmp_path):
    corpus = write_fake_coco(tmp_path / "corpus", 6)
    args = dict(extractors=["color-hist"], num_workers=0, shard_size=3, batch_size=3)
    extract("coco", corpus.root, tmp_path / "out", **args)
    again = Recorder()
    extract("coco", corpus.root, tmp_path / "out", progress=again, **args)
    assert again.calls == [("start", 6), ("already_done", 3), ("already_done", 3)]
