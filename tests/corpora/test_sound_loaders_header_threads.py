"""The sound-file loaders (`clotho`, `audiocaps`, `esc50`, `wavcaps`) find every sample's file first, then read the
sound files' headers through `media_captions.read_media_headers`: in the calling thread by default, on
`MMDATA_HEADER_THREADS` threads where that variable is set (a copy on a network share), the samples (their `extra`
in its key order), problems and metadata the same, in the same order, whatever it says."""
from __future__ import annotations

import threading
import time

import pytest

from mmdata.corpora import load_corpus, media_captions
from mmdata.corpora.media_captions import HEADER_THREADS_VARIABLE
from tests.fakes.captioned_media import write_fake_audiocaps, write_fake_clotho
from tests.fakes.esc50 import write_fake_esc50_release
from tests.fakes.wavcaps import write_fake_wavcaps_release


#: Three sounds per split (Clotho and AudioCaps read each split's headers together: one sound is read in the calling
#: thread, a handful on threads).
CLOTHO_FILES = {folder: tuple(f"{folder} sound {k}.wav" for k in range(3))
                for folder in ("development", "validation", "evaluation")}
AUDIOCAPS_CLIPS = tuple((f"clip{split}{k:07d}", str(10 * k), split, 1 + k % 2)
                        for split in ("train", "val", "test") for k in range(3))


def with_second_gone_and_last_unreadable(fake):
    """The fake with its second sample's sound deleted (a problem) and its last one's replaced by bytes no header
    can be read from (a sample without `audio_duration`), so that both keep their place in the order."""
    expected = list(fake.expected.values())
    (fake.root / expected[1].audio).unlink()
    (fake.root / expected[-1].audio).write_bytes(b"RIFF\x00\x00\x00\x00not a sound")
    return fake


FAKES = {"clotho": lambda root: write_fake_clotho(root, files=CLOTHO_FILES),
         "audiocaps": lambda root: write_fake_audiocaps(root, clips=AUDIOCAPS_CLIPS),
         "esc50": write_fake_esc50_release, "wavcaps": write_fake_wavcaps_release}


def load_recording_threads(fake, monkeypatch, threads: str | None):
    """The samples (with their `extra`'s items in order), problems and metadata of a load with
    `MMDATA_HEADER_THREADS` unset (None) or `threads`, and the names of the threads that read a sound's header (each
    read held a few milliseconds, as on a network share, so that the pool's threads all start)."""
    if threads is None:
        monkeypatch.delenv(HEADER_THREADS_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(HEADER_THREADS_VARIABLE, threads)
    readers: list[str] = []
    read = media_captions.audio_duration_extra

    def recording_read(path):
        readers.append(threading.current_thread().name)
        time.sleep(0.005)
        return read(path)

    with monkeypatch.context() as patched:
        patched.setattr(media_captions, "audio_duration_extra", recording_read)
        result = load_corpus(fake.kind, fake.root, options=fake.options)
    loaded = ([(s, list(s.extra.items())) for s in result.samples], result.problems, result.metadata)
    return loaded, readers


@pytest.mark.parametrize("kind", FAKES)
def test_the_headers_are_read_on_threads_only_where_the_variable_says_and_the_load_is_the_same(tmp_path, monkeypatch,
                                                                                               kind):
    fake = with_second_gone_and_last_unreadable(FAKES[kind](tmp_path / "c"))
    monkeypatch.setattr(media_captions, "POOLED_FROM", 2)  # the fakes' few sounds read on threads,
    monkeypatch.setattr(media_captions, "FILES_PER_TASK", 1)  # each by a task of its own

    unset, unset_readers = load_recording_threads(fake, monkeypatch, None)
    one, one_readers = load_recording_threads(fake, monkeypatch, "1")
    four, four_readers = load_recording_threads(fake, monkeypatch, "4")

    assert unset == one == four
    samples, problems, _ = unset
    assert len(unset_readers) == len(samples) == len(fake.expected) - 1
    assert set(unset_readers) == set(one_readers) == {threading.current_thread().name}
    assert len(four_readers) == len(samples)
    assert all(name.startswith("mmdata-headers") for name in four_readers) and len(set(four_readers)) > 1
    assert [dict(extra).get("audio_duration") for _, extra in samples] == [0.5] * (len(samples) - 1) + [None]
    assert any("not found" in p.reason for p in problems)
