"""How `audiocaps` and `wavcaps` tell an audio folder: a folder counts only where it holds a regular file (links
followed) named `<stem><suffix>` with an audio suffix, in any case; a subfolder named `x.wav`, a file named just
`.flac` or a broken link does not make one, and a folder that cannot be listed is left to the caller to judge."""
from __future__ import annotations

import shutil

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.media_captions import holds_file_with_suffix
from mmdata.errors import CorpusNotFoundError
from tests.fakes.captioned_media import write_fake_audiocaps
from tests.fakes.wavcaps import audio_folder, write_fake_wavcaps

SUFFIXES = (".flac", ".wav")


@pytest.mark.parametrize("name", ["clip.wav", "CLIP.FLAC", "a.b.Wav", "..wav"])
def test_a_regular_file_with_a_stem_and_an_audio_suffix_in_any_case_counts(tmp_path, name):
    (tmp_path / "notes.txt").write_text("not a sound")
    (tmp_path / name).write_bytes(b"")
    assert holds_file_with_suffix(tmp_path, SUFFIXES)


def test_a_link_to_a_sound_file_counts_as_the_file_it_leads_to(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.wav").write_bytes(b"")
    (tmp_path / "sounds").mkdir()
    (tmp_path / "sounds" / "x.wav").symlink_to(tmp_path / "elsewhere" / "x.wav")
    assert holds_file_with_suffix(tmp_path / "sounds", SUFFIXES)


def test_a_subfolder_a_stemless_name_a_broken_link_or_another_suffix_does_not_count(tmp_path):
    (tmp_path / "x.wav").mkdir()
    (tmp_path / ".flac").write_bytes(b"")
    (tmp_path / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    (tmp_path / "loop.flac").symlink_to(tmp_path / "loop.flac")
    (tmp_path / "part.zip").write_bytes(b"")
    (tmp_path / "clip.mp3").write_bytes(b"")
    assert not holds_file_with_suffix(tmp_path, SUFFIXES)


def test_a_folder_that_cannot_be_listed_is_an_oserror_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError) as raised:
        holds_file_with_suffix(tmp_path / "absent", SUFFIXES)
    assert raised.value.filename == str(tmp_path / "absent")
    (tmp_path / "file.wav").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        holds_file_with_suffix(tmp_path / "file.wav", SUFFIXES)


def test_audiocaps_takes_no_root_holding_only_a_folder_named_like_a_clip_for_its_audio_folder(tmp_path):
    fake = write_fake_audiocaps(tmp_path / "c")
    shutil.rmtree(fake.root / "test")
    (fake.root / "r1nicOVtvkQ_130.wav").mkdir()
    with pytest.raises(CorpusNotFoundError, match="no AudioCaps audio folder for split 'test'.*and audio files in "
                                                  "the root"):
        load_corpus("audiocaps", fake.root)


def test_wavcaps_skips_a_source_whose_folder_holds_only_a_folder_named_like_a_sound(tmp_path):
    fake = write_fake_wavcaps(tmp_path)
    folder = fake.root / audio_folder("release", "BBC_Sound_Effects")
    shutil.rmtree(folder)
    (folder / "07075034.flac").mkdir(parents=True)
    result = load_corpus("wavcaps", fake.root)
    assert result.metadata["skipped_sources"] == {"BBC_Sound_Effects": 1}
    assert {s.sample_id for s in result.samples} == set(fake.expected) - {"BBC_Sound_Effects/07075034"}
