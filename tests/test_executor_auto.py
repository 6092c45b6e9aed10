"""The local executor's auto mode: workers only for extractors whose measured decoding pays for them."""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import mmdata.executors as executors
from mmdata.executors import DecodeCost, LocalExecutor, measure_decode
from mmdata.features.base import Extractor
from tests.fakes.extractors import PassThrough


@dataclass(frozen=True)
class DecodeCostConfig:
    #: Seconds each decode keeps the CPU busy.
    busy_s: float = 0.0


class DecodingPid(PassThrough):
    """Feature: [row number, pid of the decoding process]; decode keeps the CPU busy `busy_s`."""

    name: ClassVar[str] = "test-decoding-pid"
    modality: ClassVar = "audio"
    config_type: ClassVar[type] = DecodeCostConfig
    dim: ClassVar[int] = 2

    def decodes_safely_here(self, rows: list[dict[str, Any]]) -> bool:
        return all("crashes" not in row for row in rows)  # pure Python, unless a row says otherwise

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        until = time.perf_counter() + self.config.busy_s
        while time.perf_counter() < until:
            pass
        return np.array([row["n"], os.getpid()], dtype=np.float64)


def _batches(count: int, size: int = 8) -> list[list[dict[str, Any]]]:
    return [[{"sample_id": f"s{b * size + i}", "n": b * size + i} for i in range(size)] for b in range(count)]


@pytest.fixture
def two_cpus(monkeypatch):
    """Auto mode as on a machine with 2 usable CPUs, whatever this one has."""
    monkeypatch.setattr(executors, "usable_cpus", lambda: 2)


def _run(executor: LocalExecutor, extractor: Extractor, batches) -> np.ndarray:
    results = [r for _, batch in executor.run(extractor, batches, Path(".")) for r in batch]
    assert all(r.ok for r in results)
    return np.stack([r.value for r in results])


def test_cheap_decoding_stays_in_this_process(two_cpus):
    with LocalExecutor() as executor:
        executor.start([DecodingPid()])
        assert executor._pool is None  # auto mode boots nothing before it has measured
        values = _run(executor, DecodingPid(), _batches(5))
        assert executor._pool is None
    np.testing.assert_array_equal(values[:, 0], np.arange(40))
    assert set(values[:, 1]) == {os.getpid()}
    assert executor.decisions["audio.test-decoding-pid"].startswith("this process (decode ")


def test_costly_decoding_moves_to_workers_after_the_measured_batch(two_cpus):
    extractor = DecodingPid({"busy_s": 0.002})
    with LocalExecutor() as executor:
        values = _run(executor, extractor, _batches(4))
    np.testing.assert_array_equal(values[:, 0], np.arange(32))  # input order kept
    assert set(values[:8, 1]) == {os.getpid()}  # the first batch is measured here
    assert os.getpid() not in set(values[8:, 1])
    assert _measured_decode_ms(executor.decisions[extractor.table_name], "2 worker processes") >= 2.0


def test_a_single_batch_is_decoded_here_and_reported_so(two_cpus):
    extractor = DecodingPid({"busy_s": 0.002})
    with LocalExecutor() as executor:
        values = _run(executor, extractor, _batches(1))
        assert executor._pool is None
    assert set(values[:, 1]) == {os.getpid()}
    assert _measured_decode_ms(executor.decisions[extractor.table_name], "this process") >= 2.0


def _measured_decode_ms(decision: str, where: str) -> float:
    """The per-item decode time a decision reports (at least the decoder's busy time; more on a loaded machine)."""
    match = re.match(rf"{re.escape(where)} \(decode (\d+\.\d+) ms", decision)
    assert match, decision
    return float(match.group(1))


class UnknownDecoder(DecodingPid):
    """A decoder that does not say it is safe in the main process."""

    name: ClassVar[str] = "test-unknown-decoder"

    def decodes_safely_here(self, rows: list[dict[str, Any]]) -> bool:
        return False


def test_a_decoder_not_known_to_be_safe_decodes_in_workers_from_the_first_batch(two_cpus):
    with LocalExecutor() as executor:
        values = _run(executor, UnknownDecoder(), _batches(2))
    assert os.getpid() not in set(values[:, 1])  # a crash would cost one item, not the run
    assert "a crash of its decoder must cost one item" in executor.decisions["audio.test-unknown-decoder"]


def test_a_later_batch_with_files_unsafe_here_moves_the_rest_to_workers(two_cpus):
    batches = _batches(4)
    batches[2][0]["crashes"] = True  # e.g. the audio track of a video: FFmpeg
    with LocalExecutor() as executor:
        values = _run(executor, DecodingPid(), batches)
    np.testing.assert_array_equal(values[:, 0], np.arange(32))
    assert set(values[:16, 1]) == {os.getpid()} and os.getpid() not in set(values[16:, 1])
    assert "then 2 worker processes" in executor.decisions["audio.test-decoding-pid"]


def test_audio_decodes_here_only_files_libsndfile_reads():
    from mmdata.features import create_extractor

    audio = create_extractor("torchaudio-logmel")
    assert audio.decodes_safely_here([{"audio": "a/x.wav"}, {"audio": "b/y.FLAC"}])
    assert not audio.decodes_safely_here([{"audio": "a/x.wav"}, {"audio": "b/y.m4a"}])
    assert not audio.decodes_safely_here([{"audio": None, "video": "v/clip.mp4"}])
    assert create_extractor("color-hist").decodes_safely_here([{"image": "x.jpg"}])
    assert not create_extractor("video-frames").decodes_safely_here([{"video": "v/clip.mp4"}])


def test_a_single_cpu_starts_a_worker_only_to_isolate_unsafe_decoders(monkeypatch):
    monkeypatch.setattr(executors, "usable_cpus", lambda: 1)
    with LocalExecutor() as executor:
        values = _run(executor, DecodingPid({"busy_s": 0.002}), _batches(3))
        assert executor._pool is None
        assert executor.decisions["audio.test-decoding-pid"] == "this process (one CPU)"
        isolated = _run(executor, UnknownDecoder(), _batches(2))
    assert set(values[:, 1]) == {os.getpid()}
    assert os.getpid() not in set(isolated[:, 1])
    assert executor.decisions["audio.test-unknown-decoder"].startswith("1 worker process (")


def test_an_explicit_worker_count_is_honoured_without_measuring():
    with LocalExecutor(num_workers=2) as executor:
        values = _run(executor, DecodingPid(), _batches(3))
    assert os.getpid() not in set(values[:, 1])
    assert executor.decisions["audio.test-decoding-pid"] == "2 worker processes"


def test_workers_pay_only_when_decoding_outweighs_shipping_the_item_back():
    wav = DecodeCost(decode_s=0.18e-3, transfer_s=0.28e-3)  # 2 s of 16 kHz audio read from a WAV
    jpeg = DecodeCost(decode_s=5e-3, transfer_s=0.3e-3)  # a 640x480 JPEG decoded, resized and cropped
    assert not wav.pays_for_workers() and jpeg.pays_for_workers()
    assert not DecodeCost(decode_s=0.2e-3, transfer_s=0.0).pays_for_workers()  # saves less than the pool costs


def test_measure_decode_times_items_and_keeps_failures():
    rows = _batches(1)[0] + [{"sample_id": "bad"}]  # no "n": decode raises
    results, cost = measure_decode(DecodingPid({"busy_s": 0.001}), rows, Path("."))
    assert [r.ok for r in results] == [True] * 8 + [False]
    assert results[-1].error_type == "KeyError" and results[-1].stage == "decode"
    assert 0.0009 < cost.decode_s < 0.01 and cost.transfer_s > 0


class UnpicklableItems(DecodingPid):
    """Decoded items no worker could send back (they hold a lambda); costly to decode."""

    name: ClassVar[str] = "test-unpicklable-items"

    def decode(self, row: dict[str, Any], corpus_root: Path) -> Any:
        return super().decode(row, corpus_root), lambda: None

    def compute(self, items: list[Any]) -> list[np.ndarray]:
        return [value for value, _ in items]


def test_items_that_cannot_be_pickled_are_decoded_here(two_cpus):
    extractor = UnpicklableItems({"busy_s": 0.002})
    with LocalExecutor() as executor:
        values = _run(executor, extractor, _batches(3))
        assert executor._pool is None
    np.testing.assert_array_equal(values[:, 0], np.arange(24))
    assert executor.decisions[extractor.table_name].endswith("shipping a decoded item cannot be pickled: workers would not pay)")


@pytest.mark.parametrize("cpus, workers", [(1, 1), (2, 2), (3, 2), (4, 3), (9, 8), (64, 8)])
def test_auto_mode_starts_one_worker_per_cpu_but_the_main_process_s_from_2_to_8(monkeypatch, cpus, workers):
    monkeypatch.setattr(executors, "usable_cpus", lambda: cpus)
    assert (LocalExecutor().num_workers, LocalExecutor().max_in_flight) == (workers, workers + 2)
    assert LocalExecutor(num_workers=5).num_workers == 5  # an explicit count is kept


def test_costly_decoding_on_four_cpus_runs_in_three_workers(monkeypatch):
    monkeypatch.setattr(executors, "usable_cpus", lambda: 4)
    extractor = DecodingPid({"busy_s": 0.002})
    with LocalExecutor() as executor:
        values = _run(executor, extractor, _batches(4))
    assert executor.decisions[extractor.table_name].startswith("3 worker processes")
    np.testing.assert_array_equal(values[:, 0], np.arange(32))
