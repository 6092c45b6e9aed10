"""Sharing MOSI-style temporal datasets: .csd sequences aligned to the words, and a raw corpus with audio
features cut from whole recordings, each shared, verified, and loaded back with `datasets`.

Two datasets, built through the real pipeline:

- `csd`: the fake CMU-MOSI .csd files (words with `sp`, COVAREP at 100 Hz, FACET at 30 Hz, opinion
  labels, folds.json), `extract csd` + hashed word embeddings, then `align --reference text.words`;
- `raw`: a generic `segments.csv` cutting two 1 s segments out of one 2 s WAV + MP4 recording per
  split (train/valid/test), a whole-file WAV clip, and a segment whose WAV is missing (a failed
  sample, in the errors tables); log-mel and prosody frames, video frames, word embeddings, aligned
  to the word embeddings.
"""
from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile
import yaml
from typer.testing import CliRunner

from mmdata.alignment.dataset import align_dataset
from mmdata.cli import app
from mmdata.pipeline import extract
from mmdata.share import share_dataset, verify_checksums
from mmdata.share.media import embed_media
from mmdata.store import open_dataset
from tests.fakes.av import _write_segments_csv, _write_words_csv, tone, write_mp4, write_wav
from tests.fakes.csd import COVAREP_DIM, FACET_DIM, FOLDS, write_mosi_csd

runner = CliRunner()
RECORDINGS = {"recA": "train", "recB": "valid", "recC": "test"}
WORDS = [("good", 0.1, 0.4), ("movie", 0.5, 0.9)], [("bad", 1.1, 1.4), ("ending", 1.5, 1.9)]


def write_raw_corpus(root: Path) -> Path:
    """segments.csv: two segments per 2 s recording, one whole WAV clip, one segment whose WAV is missing."""
    rows, words = [], {}
    for i, (rec, split) in enumerate(RECORDINGS.items()):
        write_wav(root / f"audio/{rec}.wav", np.concatenate([tone(220 + 100 * i, 1.0), tone(330 + 100 * i, 1.0)]))
        write_mp4(root / f"video/{rec}.mp4", [(200, 30 * i, 40), (30, 200, 40 * i)], fps=10, frames_per_color=10,
                  size=(32, 24), audio=tone(300, 2.0))
        for k, (start, end, text, label) in enumerate([(0.0, 1.0, "good movie", 1.5 - i), (1.0, 2.0, "bad ending", -2.0 + i)]):
            sample_id = f"{rec}_{k + 1}"
            rows.append((sample_id, rec, f"audio/{rec}.wav", f"video/{rec}.mp4", str(start), str(end), text, str(label), split))
            words[sample_id] = WORDS[k]
    write_wav(root / "audio/clip.wav", tone(500, 1.0))  # its words (WORDS[0]) end at 0.9 s
    rows.append(("clip_1", "clip", "audio/clip.wav", "video/recA.mp4", "", "", "good movie", "3.0", "train"))
    words["clip_1"] = WORDS[0]
    rows.append(("lost_1", "lost", "audio/lost.wav", "", "0.0", "1.0", "missing audio", "0.5", "train"))
    _write_segments_csv(root, rows)
    _write_words_csv(root / "words.csv", words)
    return root


@pytest.fixture(scope="module")
def csd_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("csd")
    write_mosi_csd(root / "corpus")
    (root / "corpus" / "folds.json").write_text(json.dumps(FOLDS))
    out = root / "mosi"
    extract("csd", root / "corpus", out, extractors=["word-embeddings:method=hashed,dim=8"],
            corpus_options={"folds": "folds.json"}, num_workers=0)
    align_dataset(out, "text.words")
    return out


@pytest.fixture(scope="module")
def raw_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("raw")
    corpus = write_raw_corpus(root / "corpus")
    out = root / "raw"
    extract("mosi-raw", corpus, out, corpus_options={"dataset": "cmu-mosi"}, num_workers=0,
            extractors=["librosa-logmel:n_mels=16", "prosody", "video-frames:fps=5",
                        "word-embeddings:method=hashed,dim=8"])
    align_dataset(out, "text.word-embeddings-hashed")
    return out


@pytest.fixture(scope="module")
def shares(csd_dataset, raw_dataset, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("shares")
    share_dataset(csd_dataset, root / "csd-hf")
    share_dataset(raw_dataset, root / "raw-hf")
    share_dataset(raw_dataset, root / "raw-embed", media="embed")
    return {"csd": root / "csd-hf", "raw": root / "raw-hf", "embed": root / "raw-embed"}


@pytest.fixture()
def datasets_cache(tmp_path, monkeypatch):
    """`datasets` with its cache in the test's folder (nothing written to the user's cache)."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    return datasets


def card(share: Path) -> tuple[dict, str]:
    _, header, body = (share / "README.md").read_text().split("---\n", 2)
    return yaml.safe_load(header), body


def test_every_temporal_config_loads_with_sequence_types_and_the_source_values(csd_dataset, shares, datasets_cache):
    datasets = datasets_cache
    share = shares["csd"]
    header, _ = card(share)
    source = open_dataset(csd_dataset)
    order = {}  # split -> sample ids of the samples config, the order every config follows
    dims = {"audio.covarep": COVAREP_DIM, "video.facet-41": FACET_DIM, "text.words": 1, "text.word-embeddings-hashed": 8}
    for config in header["configs"]:
        name = config["config_name"]
        assert [d["split"] for d in config["data_files"]] == ["train", "valid", "test"]
        rows = (source.samples_table() if name == "samples" else source.read_table(name)).to_pylist()
        by_id = {row["sample_id"]: row for row in rows}
        for files in config["data_files"]:
            loaded = datasets.load_dataset(str(share), name, split=files["split"])
            plain = datasets.load_dataset("parquet", data_files=[str(share / p) for p in files["path"]], split="train")
            assert loaded.features == plain.features, name
            assert loaded["sample_id"] == order.setdefault(files["split"], loaded["sample_id"])
            assert loaded.to_list() == [by_id[i] for i in loaded["sample_id"]], name
        if name == "samples":
            assert all(-3 <= label <= 3 for label in loaded["label"])
            continue
        vector = datasets.List(datasets.Value("float32"), length=dims[name.split("@")[0]])
        assert loaded.features["feature"] == datasets.List(vector), name
        assert loaded.features["intervals"] == datasets.List(datasets.List(datasets.Value("float64"), length=2))
        if name.startswith("text.words"):
            assert loaded.features["words"] == datasets.List(datasets.Value("string"))


def test_tables_aligned_to_the_words_share_their_steps_in_the_shared_files(shares, datasets_cache):
    aligned = [c["config_name"] for c in card(shares["csd"])[0]["configs"] if c["config_name"].endswith("@text.words")]
    assert len(aligned) == 4
    for split in ("train", "valid", "test"):
        steps = [datasets_cache.load_dataset(str(shares["csd"]), name, split=split)["intervals"] for name in aligned]
        assert all(s == steps[0] for s in steps[1:]) and all(len(sample) > 0 for sample in steps[0])


def test_a_failed_sample_shares_as_null_features_with_its_errors(raw_dataset, shares, datasets_cache):
    share = shares["raw"]
    train = {name: datasets_cache.load_dataset(str(share), name, split="train")
             for name in ("samples", "audio.librosa-logmel", "audio.prosody@text.word-embeddings-hashed")}
    lost = train["samples"]["sample_id"].index("lost_1")
    assert all(table[lost]["sample_id"] == "lost_1" and table[lost]["feature"] is None
               for name, table in train.items() if name != "samples")
    assert sorted(p.relative_to(share) for p in (share / "errors").rglob("*.parquet")) == sorted(
        p.relative_to(raw_dataset) for p in (raw_dataset / "errors").rglob("*.parquet"))
    _, body = card(share)
    assert "| `audio.librosa-logmel` | audio | `librosa-logmel` | 8 | 16 | float32 | sequence over time | 1 |" in body


def test_card_states_the_labels_their_range_the_folds_and_what_an_aligned_table_is(shares):
    _, body = card(shares["csd"])
    assert "## Labels" in body and "for 5 of 5 samples, from -3 to 2.5" in body
    assert "`cmu-mosi` sentiment scores, whose range is [-3, 3]" in body
    assert "the options `folds=folds.json`; the splits are the folds of `folds.json`." in body
    assert "frame rate 100 Hz" in body and "frame rate 30 Hz" in body
    assert ("- aligned: `audio.covarep` resampled onto the intervals of `text.words`: step *i* of a sample is the "
            "`mean` of the `audio.covarep` rows overlapping interval *i* of `text.words`") in body
    assert "intervals a table does not cover were left out of every aligned table" in body
    _, raw_body = card(shares["raw"])
    assert "for 8 of 8 samples, from -2 to 3" in raw_body and "the options `dataset=cmu-mosi`." in raw_body


def test_every_code_block_of_the_card_runs_in_a_copy_of_the_share(shares, tmp_path, monkeypatch, datasets_cache):
    for kind in ("csd", "raw"):
        copy = tmp_path / kind
        shutil.copytree(shares[kind], copy)
        monkeypatch.chdir(copy)
        blocks = re.findall(r"```python\n(.*?)```", card(copy)[1], flags=re.S)
        assert len(blocks) == 5
        scope: dict = {}
        for block in blocks:
            exec(compile(block, "README.md", "exec"), scope)
            if "loader" in block:
                batch = next(iter(scope["loader"]))
                assert batch["feature"].ndim == (3 if "pad_batch" in block else 2), (kind, block)
        assert scope["samples"]["sample_id"] == scope["features"]["sample_id"]
        assert verify_checksums(copy).ok and (tmp_path / f"{kind}-fused" / "fused.json").is_file()  # fused beside it
    assert batch["present"].shape[1] == 3  # the raw share's fused export zero-fills the failed sample's features


def test_embedded_segments_hold_their_own_sound_and_whole_clips_their_file(raw_dataset, shares):
    corpus = Path(open_dataset(raw_dataset).manifest.corpus["root"])
    rows = {r["sample_id"]: r for f in sorted((shares["embed"] / "samples").glob("*.parquet")) for r in pq.read_table(f).to_pylist()}
    assert rows["lost_1"]["audio_file"] is None and rows["clip_1"]["audio_file"] == {
        "bytes": (corpus / "audio/clip.wav").read_bytes(), "path": "audio/clip.wav"}
    for rec in RECORDINGS:
        recording, rate = soundfile.read(corpus / f"audio/{rec}.wav", dtype="int16")
        for k, (start, end) in enumerate([(0, rate), (rate, 2 * rate)]):
            embedded = rows[f"{rec}_{k + 1}"]["audio_file"]
            assert embedded["path"] == f"audio/{rec}.wav@{k:.3f}-{k + 1:.3f}.flac"
            samples, flac_rate = soundfile.read(io.BytesIO(embedded["bytes"]), dtype="int16")
            assert flac_rate == rate and np.array_equal(samples, recording[start:end])  # the segment only, exactly
    assert "Videos are not embedded" in card(shares["embed"])[1]


def test_segments_of_a_24_bit_recording_are_embedded_without_losing_bits(tmp_path):
    import pyarrow as pa

    rng = np.random.default_rng(0)
    write_wav(tmp_path / "talk.wav", rng.uniform(-0.9, 0.9, 32000).astype(np.float32), subtype="PCM_24")
    samples = pa.table({"sample_id": ["talk_1"], "start": [0.5], "end": [1.5], "audio": ["talk.wav"]})
    table, missing = embed_media(samples, tmp_path, {"audio": "audio"})
    flac = table.column("audio_file")[0]["bytes"].as_py()
    recording, _ = soundfile.read(tmp_path / "talk.wav", dtype="int32")
    assert not missing and soundfile.info(io.BytesIO(flac)).subtype == "PCM_24"
    assert np.array_equal(soundfile.read(io.BytesIO(flac), dtype="int32")[0], recording[8000:24000])


def test_verify_passes_on_a_moved_copy_and_names_each_changed_file(shares, tmp_path):
    moved = tmp_path / "elsewhere" / "mosi"
    shutil.copytree(shares["raw"], moved)
    assert runner.invoke(app, ["verify", str(moved)]).exit_code == 0
    shard = moved / "features/audio.prosody@text.word-embeddings-hashed/part-00001-valid.parquet"
    shard.write_bytes(shard.read_bytes()[:-1] + b"\0")
    (moved / "errors/audio.prosody/part-00000.parquet").unlink()
    (moved / "features/audio.prosody/part-00003-test.parquet").write_bytes(b"stray")
    result = runner.invoke(app, ["verify", str(moved)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "missing: errors/audio.prosody/part-00000.parquet",
        "altered: features/audio.prosody@text.word-embeddings-hashed/part-00001-valid.parquet",
        "extra: features/audio.prosody/part-00003-test.parquet",
    ]
