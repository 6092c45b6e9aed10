"""A resume of `align` refused because an input table changed names that input and how it changed (its
config's differing options, its rows), not only two `inputs` fingerprints; an output made before its shards
recorded the inputs (`INPUT_TABLES`) is refused as before. What makes a resume refused is unchanged.
`mmdata check`'s provenance mismatch likewise names only the differing keys of a shard's config, spec and
versions, as `store.tables.options_differ` spells them."""
from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata.alignment.dataset import INPUT_TABLES, align_dataset, inputs_differ
from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.pipeline import extract
from mmdata.store import layout, open_dataset
from mmdata.store.metadata import decode_metadata, read_table_metadata, with_metadata
from tests.checks.builder import build_dataset, image_text_samples, pooled_table
from tests.fakes.csd import write_mosi_csd

runner = CliRunner()
HASHED = "text.word-embeddings-hashed"
FINGERPRINTS = r"was made with inputs=[0-9a-f]{16}, not inputs=[0-9a-f]{16} \(other options equal\)"


def _aligned_then_reextracted(tmp_path, reference="text.words", tables=None):
    """A CSD dataset with hashed word embeddings (dim=8) aligned to `reference`, then the embeddings
    extracted again with dim=16: the outputs' inputs fingerprints no longer match."""
    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    out = tmp_path / "out"
    extract("csd", fake.root, out, extractors=["word-embeddings:method=hashed,dim=8"], shard_size=2, num_workers=0)
    align_dataset(out, reference, tables=tables)
    extract("csd", fake.root, out, extractors=["word-embeddings:method=hashed,dim=16"], shard_size=2, num_workers=0,
            force=True)
    return out


def _drop_recorded_inputs(out, table):
    """Rewrite `table`'s shards without `INPUT_TABLES` in their metadata, as a version that recorded the
    `inputs` fingerprint alone wrote them."""
    for shard in layout.shard_files(layout.feature_dir(out, table)):
        if layout.shard_format(shard) == "parquet":
            data = pq.read_table(shard)
        else:
            with pa.memory_map(str(shard)) as source:
                data = pa.ipc.open_file(source).read_all()
        meta = decode_metadata(data.schema)
        del meta[INPUT_TABLES]
        data = data.replace_schema_metadata(with_metadata(data.schema, meta).metadata)
        if layout.shard_format(shard) == "parquet":
            pq.write_table(data, shard)
        else:
            with pa.OSFile(str(shard), "wb") as sink, pa.ipc.new_file(sink, data.schema) as writer:
                writer.write_table(data)


def test_a_refused_resume_names_the_input_table_whose_config_changed_and_the_reference_unchanged(tmp_path):
    out = _aligned_then_reextracted(tmp_path)
    with pytest.raises(DatasetError) as refused:
        align_dataset(out, "text.words")
    message = str(refused.value)
    assert f"table '{HASHED}@text.words' in {out} " in message
    assert (f": inputs differ: '{HASHED}' changed since (config dim=8, not dim=16 (other options equal)), "
            "reference 'text.words' unchanged; pass --force") in message
    assert "\n" not in message
    assert all(open_dataset(out).entry(name).complete for name in open_dataset(out).table_names if "@" in name)


def test_a_changed_reference_is_named_as_the_reference(tmp_path):
    out = _aligned_then_reextracted(tmp_path, reference=HASHED, tables=["audio.covarep"])
    with pytest.raises(DatasetError, match=rf"'{HASHED}@{HASHED}' .* {FINGERPRINTS}: inputs differ: "
                                           rf"reference '{HASHED}' changed since \(config dim=8, not dim=16 "
                                           r"\(other options equal\)\); pass --force"):
        align_dataset(out, HASHED, tables=["audio.covarep"])


def test_the_cli_prints_the_named_inputs(tmp_path):
    out = _aligned_then_reextracted(tmp_path)
    result = runner.invoke(app, ["align", str(out), "--reference", "text.words"])
    assert result.exit_code != 0
    assert f"inputs differ: '{HASHED}' changed since (config dim=8, not dim=16" in " ".join(result.output.split())


def test_force_still_replaces_outputs_whose_inputs_changed(tmp_path):
    out = _aligned_then_reextracted(tmp_path)
    align_dataset(out, "text.words", force=True)
    assert align_dataset(out, "text.words").up_to_date
    recorded = read_table_metadata(layout.feature_dir(out, f"{HASHED}@text.words"))[INPUT_TABLES]
    assert recorded[HASHED] == [open_dataset(out).entry(HASHED).config, open_dataset(out).entry(HASHED).rows]
    assert set(recorded) == {HASHED, "text.words"}


def test_an_output_that_recorded_only_the_fingerprint_is_refused_with_the_fingerprints(tmp_path):
    out = _aligned_then_reextracted(tmp_path)
    _drop_recorded_inputs(out, f"{HASHED}@text.words")
    with pytest.raises(DatasetError, match=rf"'{HASHED}@text.words' .* {FINGERPRINTS}; pass --force"):
        align_dataset(out, "text.words")


def test_an_output_that_recorded_only_the_fingerprint_resumes_with_the_same_inputs(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    out = tmp_path / "out"
    extract("csd", fake.root, out, shard_size=2, num_workers=0)
    align_dataset(out, "text.words")
    for name in open_dataset(out).table_names:
        if "@" in name:
            _drop_recorded_inputs(out, name)
    layout.shard_files(layout.feature_dir(out, "audio.covarep@text.words"))[-1].unlink()  # an interrupted run
    report = align_dataset(out, "text.words")
    assert (report.shards_aligned, report.shards_done) == (1, 1)
    assert check_dataset(out).ok


def test_inputs_differ_names_rows_that_changed_and_inputs_absent_on_one_side():
    config = {"dim": 8, "method": "hashed"}
    assert inputs_differ({"a": [config, 6], "ref": [{}, 9]}, {"a": [config, 5], "ref": [{}, 9]}, "ref") == (
        "inputs differ: 'a' changed since (rows 6, not 5), reference 'ref' unchanged")
    assert inputs_differ({"ref": [config, 6]}, {"ref": [{**config, "dim": 16}, 7]}, "ref") == (
        "inputs differ: reference 'ref' changed since (config dim=8, not dim=16 (other options equal); rows 6, not 7)")
    assert inputs_differ({"ref": [{}, 1]}, {"b": [{}, 1], "ref": [{}, 1]}, "ref") == (
        "inputs differ: 'b' absent then, reference 'ref' unchanged")


S = image_text_samples()


def _provenance_mismatch(tmp_path, **changes):
    image = replace(pooled_table("image.a", S, 4), **changes)
    [issue] = [i for i in check_dataset(build_dataset(tmp_path / "ds", S, [image])).issues
               if i.code == "provenance-mismatch"]
    assert "\n" not in issue.message
    return issue.message


def test_check_names_only_the_config_keys_and_versions_a_shard_differs_in(tmp_path):
    message = _provenance_mismatch(tmp_path, config={"bins": 4, "size": 1, "space": "rgb"},
                                   shard_metadata={1: {"config": {"bins": 8, "size": 1, "space": "rgb"},
                                                       "versions": {"mmdata": "0.2.0", "numpy": "2.0"}}})
    assert message.startswith(
        f"shard part-00001.{layout.DEFAULT_FEATURE_FORMAT} was written with config bins=8, not bins=4 (other options equal); with versions "
        "mmdata=0.2.0, numpy=2.0, not mmdata=0.1.0, numpy absent; the manifest names the second of each; re-extract")
    assert "rgb" not in message


def test_check_leaves_out_options_a_shard_lists_as_not_applying(tmp_path):
    message = _provenance_mismatch(tmp_path, shard_metadata={1: {"config": {"size": 3, "dim": 64},
                                                                 "inapplicable_options": ["dim"]}})
    assert "was written with config size=3, not size=1; the manifest names the second of each" in message
    assert "dim" not in message


def test_check_names_another_extractor_whole(tmp_path):
    message = _provenance_mismatch(tmp_path, shard_metadata={1: {"extractor": "other"}})
    assert "was written with extractor 'other', not 'a'; the manifest names the second of each" in message
