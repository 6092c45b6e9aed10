"""`ExportNormalizer`: an export's normalization (train z-score, L2, none, per-group z-score) applied to the raw
features of samples gives exactly the export's rows; keys by table or modality, one vector or rows; a table the
export zero-filled may be left out; a wrong key, dim, row count, NaN, or a group the statistics lack is refused
in one line."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion import ExportNormalizer, FusedDataset, fuse, read_fused_metadata
from mmdata.fusion.formats import GROUP_STATS_FILE
from tests.checks.builder import with_value
from tests.fusion.test_fuse_normalize_by import IMAGE, TEXT, S, _dataset

RAW = {"image.a": np.stack(IMAGE.values), "text.b": np.stack(TEXT.values)}
SPEAKER = [s.extra["speaker"] for s in S]


def _export_rows(out):
    """The export's rows in S's order."""
    rows = {item["sample_id"]: np.asarray(item["feature"]) for split in read_fused_metadata(out)["rows"]
            for item in FusedDataset(out, split=split)}
    return np.stack([rows[s.sample_id] for s in S])


@pytest.mark.parametrize("normalize", ["zscore", "l2", "none", {"image": "zscore", "text": "l2"}])
def test_raw_features_normalized_as_the_export_are_its_rows(tmp_path, normalize):
    fuse(_dataset(tmp_path), tmp_path / "out", format="arrow", normalize=normalize)
    normalizer = ExportNormalizer.from_export(tmp_path / "out")
    assert normalizer.dim == 7 and normalizer.tables == ["image.a", "text.b"]
    np.testing.assert_allclose(normalizer(RAW), _export_rows(tmp_path / "out"), rtol=1e-6, atol=1e-6)
    by_modality = normalizer({"text": RAW["text.b"][3], "image": RAW["image.a"][3]})
    assert by_modality.shape == (7,) and by_modality.dtype == np.float32
    np.testing.assert_allclose(by_modality, _export_rows(tmp_path / "out")[3], rtol=1e-6, atol=1e-6)


def test_per_speaker_statistics_normalize_each_row_by_its_speaker(tmp_path):
    fuse(_dataset(tmp_path), tmp_path / "out", format="arrow", normalize_by="speaker")
    normalizer = ExportNormalizer.from_export(tmp_path / "out")
    assert normalizer.group_key == "speaker" and normalizer.group_names == ["ana", "bo", "cy"]
    np.testing.assert_allclose(normalizer(RAW, groups=SPEAKER), _export_rows(tmp_path / "out"), rtol=1e-6, atol=1e-6)
    one = normalizer({"image": RAW["image.a"][4], "text": RAW["text.b"][4]}, groups=SPEAKER[4])
    np.testing.assert_allclose(one, _export_rows(tmp_path / "out")[4], rtol=1e-6, atol=1e-6)
    with pytest.raises(ConfigError, match=r"was z-scored per speaker: give each row's speaker \(groups=...\)"):
        normalizer(RAW)
    with pytest.raises(ConfigError, match=r"speaker 'ann': the statistics of .* hold no such group \(3 groups; did "
                                          r"you mean 'ana'\?\)"):
        normalizer(RAW, groups="ann")
    with pytest.raises(ConfigError, match=r"groups: 2 given for 15 rows"):
        normalizer(RAW, groups=["ana", "bo"])
    (tmp_path / "out" / GROUP_STATS_FILE).unlink()
    with pytest.raises(DatasetError, match=rf"z-scored per speaker, and {GROUP_STATS_FILE}, which holds those "
                                           "statistics, is not there"):
        ExportNormalizer.from_export(tmp_path / "out")


def test_a_table_the_export_zero_filled_may_be_left_out(tmp_path):
    fuse(_dataset(tmp_path, image=with_value(IMAGE, 2, None)), tmp_path / "out", format="arrow", missing="zero")
    normalizer = ExportNormalizer.from_export(tmp_path / "out")
    row = normalizer({"text": RAW["text.b"][2]})
    np.testing.assert_allclose(row, _export_rows(tmp_path / "out")[2], rtol=1e-6, atol=1e-6)
    assert not row[:4].any()
    with pytest.raises(ConfigError, match=r"features: none given; .* fuses \['image.a', 'text.b'\]"):
        normalizer({})


@pytest.mark.parametrize("features, error", [
    ({"imgae": RAW["image.a"], "text": RAW["text.b"]}, r"'imgae' is no table or modality of .*did you mean 'image'"),
    ({"image": RAW["image.a"]}, r"no values for table\(s\) \['text.b'\]; .* was fused with --missing error or drop"),
    ({"image": RAW["image.a"], "image.a": RAW["image.a"], "text": RAW["text.b"]}, r"table 'image.a' is given twice"),
    ({"image": RAW["image.a"][:, :3], "text": RAW["text.b"]}, r"table 'image.a': expected vectors of dim 4, got shape "
                                                               r"\(15, 3\)"),
    ({"image": RAW["image.a"][:5], "text": RAW["text.b"]}, r"the features hold different numbers of rows"),
    ({"image": np.where(np.arange(4) == 1, np.nan, RAW["image.a"]), "text": RAW["text.b"]},
     r"table 'image.a': row 0 holds NaN or Inf"),
])
def test_features_that_do_not_fit_the_export_are_refused_in_one_line(tmp_path, features, error):
    fuse(_dataset(tmp_path), tmp_path / "out", format="arrow")
    with pytest.raises(ConfigError, match=error):
        ExportNormalizer.from_export(tmp_path / "out")(features)


def test_a_group_without_statistics_for_a_table_is_refused(tmp_path):
    """Every image of speaker cy failed: its image statistics do not exist, and raw values would pass as normalized."""
    image = IMAGE
    for i, speaker in enumerate(SPEAKER):
        if speaker == "cy":
            image = with_value(image, i, None)
    fuse(_dataset(tmp_path, image=image), tmp_path / "out", format="arrow", missing="zero", normalize_by="speaker",
         normalize={"image": "zscore", "text": "l2"})
    normalizer = ExportNormalizer.from_export(tmp_path / "out")
    with pytest.raises(ConfigError, match=r"speaker 'cy' has no statistics for table 'image.a': none of its samples "
                                          r"had that feature"):
        normalizer({"image": RAW["image.a"][2], "text": RAW["text.b"][2]}, groups="cy")
    text_only = normalizer({"text": RAW["text.b"][2]})  # no grouped table given: no group needed
    np.testing.assert_allclose(text_only, _export_rows(tmp_path / "out")[2], rtol=1e-6, atol=1e-6)


def test_sequence_tables_the_export_pooled_are_given_pooled(tmp_path):
    from tests.checks.builder import build_dataset
    from tests.fusion.test_fuse_normalize_by import FACE, FRAMES, MS

    dataset = build_dataset(tmp_path / "mosi", MS, [FRAMES, FACE], corpus_kind="mosi-raw", shard_size=5)
    fuse(dataset, tmp_path / "out", tables=("audio", "image"), format="arrow", pool="max")
    normalizer = ExportNormalizer.from_export(tmp_path / "out")
    assert normalizer.pooled == {"audio.f": "max"}
    pooled = np.stack([frames.max(axis=0) for frames in FRAMES.values])
    got = normalizer({"audio": pooled, "image": np.stack(FACE.values)})
    rows = {item["sample_id"]: np.asarray(item["feature"]) for split in read_fused_metadata(tmp_path / "out")["rows"]
            for item in FusedDataset(tmp_path / "out", split=split)}
    np.testing.assert_allclose(got, np.stack([rows[s.sample_id] for s in MS]), rtol=1e-6, atol=1e-6)


def test_groups_and_values_of_the_wrong_kind_are_refused_in_one_line(tmp_path):
    fuse(_dataset(tmp_path), tmp_path / "out", format="arrow")
    plain = ExportNormalizer.from_export(tmp_path / "out")
    with pytest.raises(ConfigError, match=r"groups given, and .* was not normalized per group: leave groups out"):
        plain(RAW, groups="ana")
    with pytest.raises(ConfigError, match=r"table 'image.a': expected a vector or \(n, dim\) rows of numbers, got list"):
        plain({"image": [[1, 2, 3, 4], [1, 2]], "text": RAW["text.b"][:2]})
    with pytest.raises(ConfigError, match=r"table 'image.a': expected a vector or \(n, dim\) rows, got shape \(1, 15, 4\)"):
        plain({"image": RAW["image.a"][None], "text": RAW["text.b"]})
    fuse(_dataset(tmp_path / "g"), tmp_path / "grouped-out", format="arrow", normalize_by="speaker")
    with pytest.raises(ConfigError, match=r"groups=3: expected one speaker \(a string\) or one for each row"):
        ExportNormalizer.from_export(tmp_path / "grouped-out")(RAW, groups=3)
