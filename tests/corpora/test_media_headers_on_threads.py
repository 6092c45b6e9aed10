"""`media_captions.read_headers` reads many media files' headers on threads, as `kinetics`, `vggsound` and `audioset`
read their clips': the readings in the order of the files, the error the sequential reads would raise, a FIFO, a
missing file or a folder read as one after another reads it, a handful of files (or `MMDATA_HEADER_THREADS=1`, or
sound files alone unless that variable is set: their headers read slower on threads) read in the calling thread. A
load on several threads gives the samples, problems and metadata, in their order, that a load on one gives."""
from __future__ import annotations

import os
import threading
import time

import pytest

from mmdata.corpora import load_corpus, media_captions
from mmdata.corpora.media_captions import (
    HEADER_THREADS,
    HEADER_THREADS_VARIABLE,
    POOLED_FROM,
    header_threads,
    media_files_extra,
    read_headers,
    read_media_headers,
    video_file_extra,
)
from mmdata.errors import ConfigError
from tests.fakes.audioset import write_fake_audioset_audiosetdl, write_fake_audioset_panns
from tests.fakes.kinetics import write_fake_kinetics
from tests.fakes.vggsound import write_clip, write_fake_vggsound_flac, write_fake_vggsound_mp4


def slow_read(item: int) -> dict[str, int]:
    """The item and the thread reading it, the early items slowest (so that later reads end first)."""
    time.sleep(0.002 * (item % 5 == 0))
    return {"item": item, "thread": threading.get_ident()}


def test_the_readings_come_in_the_order_of_the_items_from_several_threads():
    items = list(range(3 * POOLED_FROM))
    readings = read_headers(items, slow_read, threads=4)
    assert [r["item"] for r in readings] == items
    threads = {r["thread"] for r in readings}
    assert threading.get_ident() not in threads and 1 < len(threads) <= 4


@pytest.mark.parametrize("count, threads", [(POOLED_FROM - 1, 4), (3 * POOLED_FROM, 1)])
def test_a_handful_of_files_or_one_thread_are_read_in_the_calling_thread(count, threads):
    readings = read_headers(list(range(count)), slow_read, threads=threads)
    assert [r["item"] for r in readings] == list(range(count))
    assert {r["thread"] for r in readings} == {threading.get_ident()}


def test_the_first_read_to_raise_in_the_items_order_raises_as_the_sequential_reads_do():
    def read(item: int) -> dict[str, int]:
        if item == 40:  # raises first in time, but after item 10 in order
            raise ValueError(f"item {item}")
        if item == 10:
            time.sleep(0.05)
            raise OSError(f"item {item}")
        return {"item": item}

    items = list(range(3 * POOLED_FROM))
    for threads in (1, 4):
        with pytest.raises(OSError, match="^item 10$"):
            read_headers(items, read, threads=threads)


def test_a_fifo_a_missing_file_and_a_folder_read_as_one_after_another_reads_them(tmp_path):
    clip, sound = write_clip(tmp_path / "clip.mp4", 1), write_clip(tmp_path / "sound.flac", 2)
    fifo = tmp_path / "fifo.mp4"
    os.mkfifo(fifo)  # an open would wait forever for a writer
    (tmp_path / "folder.mp4").mkdir()
    pairs = [(clip, None), (clip, sound), (None, sound), (fifo, None), (tmp_path / "gone.mp4", None),
             (tmp_path / "folder.mp4", None), (None, tmp_path / "gone.wav")] * (POOLED_FROM // 3)
    one_by_one = [media_files_extra(pair) for pair in pairs]
    assert read_headers(pairs, media_files_extra, threads=4) == one_by_one == read_media_headers(pairs)
    assert one_by_one[:7] == [video_file_extra(clip), {**media_files_extra((None, sound)),
                                                       **video_file_extra(clip, with_audio=False)},
                              media_files_extra((None, sound)), {}, {}, {}, {}]
    assert set(one_by_one[0]) == {"audio_duration", "video_duration"}


@pytest.mark.parametrize("given, expected", [(None, HEADER_THREADS), ("3", 3), (" 1 ", 1)])
def test_the_environment_variable_sets_the_threads(monkeypatch, given, expected):
    if given is None:
        monkeypatch.delenv(HEADER_THREADS_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(HEADER_THREADS_VARIABLE, given)
    assert header_threads() == expected


@pytest.mark.parametrize("given, expected", [(None, 1), ("6", 6)])
def test_sound_files_alone_are_read_in_the_calling_thread_unless_the_variable_says_otherwise(monkeypatch, given,
                                                                                             expected):
    if given is None:
        monkeypatch.delenv(HEADER_THREADS_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(HEADER_THREADS_VARIABLE, given)
    assert header_threads(1) == expected and header_threads() == int(given or HEADER_THREADS)


@pytest.mark.parametrize("given", ["0", "-2", "many", "2.5", "\u00b2", "257"])
def test_a_thread_count_that_is_no_whole_number_above_0_is_refused_naming_the_variable(monkeypatch, given):
    monkeypatch.setenv(HEADER_THREADS_VARIABLE, given)
    with pytest.raises(ConfigError, match=f"{HEADER_THREADS_VARIABLE}={given!r}: expected a whole number >= 1"):
        read_headers(list(range(POOLED_FROM)), slow_read)
    with pytest.raises(ConfigError, match=r"default 1 here, at most 256\)$"):  # the default of the caller at hand
        header_threads(1)


def without_first_file(fake, medium: str):
    """The fake with its first sample's `medium` file deleted (a clip gone: a problem, or the other file read)."""
    first = next(iter(fake.expected.values()))
    (fake.root / getattr(first, medium)).unlink()
    return fake


FAKES = {"kinetics": lambda root: without_first_file(write_fake_kinetics(root), "video"),
         "vggsound-mp4": lambda root: without_first_file(write_fake_vggsound_mp4(root), "video"),
         "vggsound-flac": lambda root: without_first_file(write_fake_vggsound_flac(root), "audio"),
         "audioset-panns": lambda root: without_first_file(write_fake_audioset_panns(root), "audio"),
         "audioset-flac-mp4": lambda root: without_first_file(write_fake_audioset_audiosetdl(root), "audio")}


def loaded(fake, monkeypatch, threads: int):
    monkeypatch.setenv(HEADER_THREADS_VARIABLE, str(threads))
    result = load_corpus(fake.kind, fake.root, options=fake.options)
    return ([(s, list(s.extra.items())) for s in result.samples], result.problems, result.metadata)


@pytest.mark.parametrize("name", FAKES)
def test_a_load_on_several_threads_gives_what_a_load_on_one_gives(tmp_path, monkeypatch, name):
    fake = FAKES[name](tmp_path / "c")
    monkeypatch.setattr(media_captions, "POOLED_FROM", 2)  # the fakes' few clips read on threads,
    monkeypatch.setattr(media_captions, "FILES_PER_TASK", 1)  # each by a task of its own
    one = loaded(fake, monkeypatch, 1)
    several = loaded(fake, monkeypatch, 3)
    assert several == one
    samples, problems, _ = one
    assert samples and all({"audio_duration", "video_duration"} & dict(extra).keys() for _, extra in samples)
    if name != "audioset-flac-mp4":  # there the MP4 stands in for the FLAC deleted
        assert any("not found" in p.reason for p in problems)
