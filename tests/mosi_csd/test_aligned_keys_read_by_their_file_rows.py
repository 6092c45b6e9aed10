"""`extract csd` reads keys `vid[i]` as the SDK's `mmdataset` does: i is row i of the reference's file
(the SDK numbers rows as the file stores them, never by sorted position), a video's `vid[i]` keys
belong to video `vid` (its `unify` compares the ids before '['), and rows keep the keys their file
gives them also when `-o unsorted=sort` reorders them. Folders that mix keyings no dataset can be
made of are refused in one line naming the file."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.alignment import segment_dataset
from mmdata.alignment.dataset import align_dataset
from mmdata.errors import CorpusFormatError
from mmdata.formats.csd_export import export_csd
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import (
    COVAREP_FILE, COVAREP_ROOT, LABELS_FILE, LABELS_ROOT, WORDS_FILE, WORDS_ROOT, frames, write_mosi_csd, write_sdk_csd,
)

# Words of video v as its file stores them: row 0 "b" [1, 2] before row 1 "a" [0, 1], not sorted by start.
UNSORTED_WORDS = (np.array([[b"b"], [b"a"], [b"c"]]), np.array([[1.0, 2.0], [0.0, 1.0], [2.0, 3.0]]))


def sdk_aligned_to(words):
    """What the SDK's align writes for a sequence aligned to `words`: key v[i] for row i of the words'
    file, one row of value 10 * i."""
    return {f"v[{i}]": (np.array([[10.0 * i, 1.0]], np.float32), words[1][i:i + 1]) for i in range(len(words[1]))}


def load(csd_dir, out, **options):
    extract("csd", csd_dir, out, extractors=[], corpus_options=options, num_workers=0)
    return open_dataset(out)


def rows_of(dataset, table):
    return {r["sample_id"]: r for r in dataset.table(table).to_table().to_pylist()}


def test_sdk_aligned_keys_beside_whole_videos_are_gathered_per_video(tmp_path):
    words = (np.array([[b"a"], [b"b"], [b"c"]]), np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]))
    write_sdk_csd(tmp_path / "csd" / WORDS_FILE, WORDS_ROOT, {"v": words})
    write_sdk_csd(tmp_path / "csd" / "aligned_covarep.csd", "COVAREP", sdk_aligned_to(words))
    back = load(tmp_path / "csd", tmp_path / "out", labels="none")
    assert back.samples_table(["sample_id"]).column(0).to_pylist() == ["v"]
    row = rows_of(back, "audio.aligned-covarep")["v"]
    assert row["keys"] == ["v[0]", "v[1]", "v[2]"]
    assert [f[0] for f in row["feature"]] == [0.0, 10.0, 20.0]
    assert np.asarray(row["intervals"]).tolist() == words[1].tolist()


def test_sorted_rows_keep_the_keys_their_file_gives_them(tmp_path):
    """With unsorted=sort the words are sorted; the aligned rows follow their start times, and key v[1]
    still names row 1 of the words' file ("a", at 0-1 s), as the SDK numbers it."""
    write_sdk_csd(tmp_path / "csd" / WORDS_FILE, WORDS_ROOT, {"v": UNSORTED_WORDS})
    write_sdk_csd(tmp_path / "csd" / "aligned_covarep.csd", "COVAREP", sdk_aligned_to(UNSORTED_WORDS))
    back = load(tmp_path / "csd", tmp_path / "out", labels="none", unsorted="sort")
    row = rows_of(back, "audio.aligned-covarep")["v"]
    assert row["keys"] == ["v[1]", "v[0]", "v[2]"]
    assert [f[0] for f in row["feature"]] == [10.0, 0.0, 20.0]
    assert np.asarray(row["intervals"]).tolist() == [[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]
    assert rows_of(back, "text.words")["v"]["words"] == ["a", "b", "c"]


def test_label_segments_are_numbered_by_file_row_also_when_sorting(tmp_path):
    labels = (np.array([[1.0], [2.0], [3.0]], np.float32), np.array([[4.0, 6.0], [0.0, 2.0], [2.0, 4.0]]))
    write_sdk_csd(tmp_path / "csd" / LABELS_FILE, LABELS_ROOT, {"v": labels})
    write_sdk_csd(tmp_path / "csd" / COVAREP_FILE, COVAREP_ROOT, {"v": frames(6.0, 10, 2, seed=0)})
    back = load(tmp_path / "csd", tmp_path / "out", unsorted="sort")
    samples = back.samples_table(["sample_id", "start", "label"]).to_pylist()
    assert {s["sample_id"]: (s["start"], s["label"]) for s in samples} == {
        "v[0]": (4.0, 1.0), "v[1]": (0.0, 2.0), "v[2]": (2.0, 3.0)}


def test_only_sdk_aligned_files_still_give_one_sample_per_key(tmp_path):
    """A folder the SDK aligned throughout (no whole-video key anywhere) reads as before: a sample per key."""
    words = (np.array([[b"a"], [b"b"]]), np.array([[0.0, 1.0], [1.0, 2.0]]))
    write_sdk_csd(tmp_path / "csd" / WORDS_FILE, WORDS_ROOT, {f"v[{i}]": (words[0][i:i + 1], words[1][i:i + 1])
                                                              for i in range(2)})
    write_sdk_csd(tmp_path / "csd" / COVAREP_FILE, COVAREP_ROOT, sdk_aligned_to(words))
    back = load(tmp_path / "csd", tmp_path / "out", labels="none")
    assert back.samples_table(["sample_id"]).column(0).to_pylist() == ["v[0]", "v[1]"]
    assert "keys" not in back.table("audio.covarep").to_table().column_names


def test_aligned_export_with_a_label_file_reads_like_segment(tmp_path):
    """The SDK's pipeline: whole videos aligned to words, then the labels added: reading the exported
    folder with the label file cuts the aligned rows into the segments as `mmdata segment` does."""
    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    videos = tmp_path / "videos"
    extract("csd", fake.root, videos, extractors=[], corpus_options={"labels": "none"}, num_workers=0)
    align_dataset(videos, "text.words")
    export_csd(videos, tmp_path / "exported")
    label_file = write_mosi_csd(tmp_path / "labels").files[LABELS_FILE]
    (tmp_path / "exported" / LABELS_FILE).write_bytes(label_file.read_bytes())
    back = load(tmp_path / "exported", tmp_path / "back")
    segment_dataset(videos, tmp_path / "segments", label_file)
    segments = open_dataset(tmp_path / "segments")
    for name in ("audio.covarep@text.words", "text.words@text.words"):
        cut, read = rows_of(segments, name), rows_of(back, name)
        assert sorted(read) == sorted(cut)
        for sample, row in cut.items():
            np.testing.assert_allclose(np.asarray(read[sample]["feature"]), np.asarray(row["feature"]), rtol=1e-6)
            assert read[sample]["intervals"] == row["intervals"] and read[sample]["keys"] == row["keys"]


def test_segments_exported_beside_whole_videos_are_refused_in_one_line(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    extract("csd", fake.root, tmp_path / "segments", extractors=[], num_workers=0)
    export_csd(tmp_path / "segments", tmp_path / "mixed", tables=["audio.covarep"], labels=False)
    write_sdk_csd(tmp_path / "mixed" / WORDS_FILE, WORDS_ROOT, {"abc": (np.array([[b"x"]]), np.array([[0.0, 1.0]]))})
    with pytest.raises(CorpusFormatError, match=r"CMU_MOSI_COVAREP\.csd: export-csd wrote it from segments .* "
                                                r"while CMU_MOSI_TimestampedWords\.csd holds whole videos.*labels=FILE"
                       ) as caught:
        load(tmp_path / "mixed", tmp_path / "out", labels="none")
    assert "\n" not in str(caught.value)


def test_a_file_keying_a_video_both_ways_is_refused_in_one_line(tmp_path):
    write_sdk_csd(tmp_path / "csd" / WORDS_FILE, WORDS_ROOT, {"v": UNSORTED_WORDS})
    write_sdk_csd(tmp_path / "csd" / COVAREP_FILE, COVAREP_ROOT,
                  {"v": frames(3.0, 10, 2, seed=0), "v[0]": frames(1.0, 10, 2, seed=1)})
    with pytest.raises(CorpusFormatError, match=r"CMU_MOSI_COVAREP\.csd: keys video 'v' both as a whole video "
                                                r"\('v'\) and as SDK-aligned rows \(e\.g\. 'v\[0\]'\); expected one "
                                                r"keying per video") as caught:
        load(tmp_path / "csd", tmp_path / "out", labels="none", unsorted="sort")
    assert "\n" not in str(caught.value)
