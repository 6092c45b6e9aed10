"""A share publishes no absolute path of the producer's machine, wherever the dataset records one: media
outside the corpus root (absolute manifest paths, a link out of the root) and the sample and group ids made
from them, an aligned table's keys, a manifest column kept in `extra`, error reasons naming a file or an
extractor's weights, an aligned table's `input_tables`. A path under the corpus root becomes relative to it,
any other keeps its last component behind `<outside corpus>`; the share still checks, verifies and loads."""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata.alignment.dataset import align_dataset
from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.corpora.base import resolve_media
from mmdata.errors import DatasetError
from mmdata.features.base import register_extractor
from mmdata.pipeline import extract
from mmdata.share import share_dataset, verify_checksums
from mmdata.share.card import shareable_provenance
from mmdata.share.redact import PathRedactor
from mmdata.store import open_dataset
from tests.share.corpus import WaveRms, write_mixed_corpus, write_tone

OUT, OUT2 = "<outside corpus>", "<outside corpus 2>"
#: A caption holding a path of no machine in particular: the corpus's text is published as it is.
CAPTION_WITH_A_PATH = "a street sign reading /usr/local/bin"


@dataclass(frozen=True)
class WeightedRmsConfig:
    weights: str = ""  # a file given by its absolute path: recorded in the table's config
    frame: float = 0.1


@register_extractor
class WeightedRms(WaveRms):
    """`wave-rms` with a weights file; sample s-01 fails with a reason naming the weights and its audio file."""

    name: ClassVar[str] = "weighted-rms"
    config_type: ClassVar[type] = WeightedRmsConfig

    def decode(self, row: dict[str, Any], corpus_root: Path) -> Any:
        if row["sample_id"] == "s-01":
            raise OSError(f"cannot apply weights {self.config.weights} to {resolve_media(corpus_root, row['audio'])}: "
                          "too short")
        return super().decode(row, corpus_root)


def write_corpus_with_outside_media(home: Path) -> tuple[Path, Path]:
    """The mixed corpus under `home/corpus`, plus rows naming files of `home/elsewhere` by absolute path (one
    truncated, two of one name in two folders, all without an id) and a link out of the root."""
    corpus = write_mixed_corpus(home / "corpus")
    elsewhere = home / "elsewhere"
    elsewhere.mkdir()
    images = sorted((corpus / "images").glob("*.jpg"))
    shutil.copy(images[0], elsewhere / "outside.jpg")
    shutil.copy(images[1], elsewhere / "linked.jpg")
    (elsewhere / "broken.jpg").write_bytes(images[2].read_bytes()[:300])
    shutil.copy(images[3], corpus / "images" / "inside.jpg")
    os.symlink(elsewhere / "linked.jpg", corpus / "images" / "link.jpg")
    for folder, seconds in (("a", 1.0), ("b", 1.2)):
        write_tone(elsewhere / folder / "clip.wav", seconds, 300.0)
    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()]
    rows[0]["note_file"] = str(elsewhere / "raw" / "img-0.tif")  # a column of the user's, kept in `extra`
    rows[1]["caption"] = CAPTION_WITH_A_PATH
    rows += [
        {"image": str(elsewhere / "outside.jpg"), "caption": "an image outside the root", "split": "train"},
        {"id": "broken-out", "image": str(elsewhere / "broken.jpg"), "caption": "a truncated image", "split": "train"},
        {"id": "linked", "image": "images/link.jpg", "caption": "a link out of the root", "split": "val"},
        {"id": "inside", "image": str(corpus / "images" / "inside.jpg"), "caption": "an absolute path inside",
         "split": "test"},
        {"audio": str(elsewhere / "a" / "clip.wav"), "caption": "a clip", "split": "train"},
        {"audio": str(elsewhere / "b" / "clip.wav"), "caption": "another clip of that name", "split": "test"},
    ]
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return corpus, elsewhere


@pytest.fixture(scope="module")
def producer(tmp_path_factory) -> dict[str, Any]:
    """The dataset (image, text, audio and aligned tables) and its shares: API with embedded media, CLI by reference."""
    home = tmp_path_factory.mktemp("producer-home")
    corpus, elsewhere = write_corpus_with_outside_media(home)
    weights = home / "models" / "r18.pth"
    weights.parent.mkdir()
    weights.write_bytes(b"weights")
    dataset = home / "dataset"
    extract("manifest", corpus, dataset, corpus_options={"allow_outside_root": "true"}, num_workers=0, shard_size=4,
            extractors=["color-hist:bins=8", "hashed-bow:level=caption", "wave-rms", f"weighted-rms:weights={weights}"])
    align_dataset(dataset, "audio.wave-rms")
    manifest_before = (dataset / "mmdata.json").read_bytes()
    share_dataset(dataset, home / "share-api", media="embed", shard_size=3)
    result = CliRunner().invoke(app, ["share", str(dataset), "--out", str(home / "share-cli")])
    assert result.exit_code == 0, result.output
    return {"home": home, "corpus": corpus, "elsewhere": elsewhere, "dataset": dataset,
            "manifest_before": manifest_before, "shares": [home / "share-api", home / "share-cli"]}


def published_texts(share: Path) -> list[tuple[str, str]]:
    """(where, text) of every text a share publishes: whole text files, and each Parquet file's key-value
    metadata and every string its columns hold (embedded files' names included, their bytes not)."""
    texts = []
    for path in sorted(p for p in share.rglob("*") if p.is_file()):
        where = str(path.relative_to(share))
        if path.suffix != ".parquet":
            texts.append((where, path.read_text(encoding="utf-8")))
            continue
        metadata = pq.read_metadata(path).metadata or {}
        texts += [(f"{where} metadata {key!r}", value.decode()) for key, value in metadata.items()]
        table = pq.read_table(path)
        for name in table.column_names:
            cells = table.column(name).to_pylist()
            texts += [(f"{where} column {name}", text) for text in _strings(cells)]
    return texts


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() if key != "bytes" for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def samples_of(share: Path) -> list[dict[str, Any]]:
    return [row for path in sorted((share / "samples").glob("*.parquet")) for row in pq.read_table(path).to_pylist()]


def errors_of(share: Path, table: str) -> dict[str, dict[str, Any]]:
    rows = pq.read_table(share / "errors" / table).to_pylist()
    return {row["sample_id"]: row for row in rows}


def test_no_published_byte_names_a_folder_of_the_producers_machine(producer):
    folders = {str(producer["home"]), os.path.realpath(producer["home"])}
    for share in producer["shares"]:
        files = sorted(p for p in share.rglob("*") if p.is_file())
        assert {p.suffix for p in files} >= {".md", ".json", ".parquet", ".sha256"}
        assert [p for p in files for folder in folders if folder.encode() in p.read_bytes()] == []
        texts = published_texts(share)
        assert len(texts) > 100
        leaks = [(where, text) for where, text in texts for folder in folders | {f"{Path.home()}{os.sep}"}
                 if folder in text]
        assert leaks == []


def test_the_source_dataset_keeps_its_paths(producer):
    assert (producer["dataset"] / "mmdata.json").read_bytes() == producer["manifest_before"]
    ids = open_dataset(producer["dataset"]).samples_table().column("sample_id").to_pylist()
    assert str(producer["elsewhere"] / "a" / "clip") in ids


def test_media_and_the_ids_made_from_them_are_relative_or_marked(producer):
    for share in producer["shares"]:
        rows = {row["sample_id"]: row for row in samples_of(share)}
        assert rows[f"{OUT}/outside"]["image"] == rows[f"{OUT}/outside"]["group_id"] == f"{OUT}/outside.jpg"
        assert rows["broken-out"]["image"] == f"{OUT}/broken.jpg"
        assert rows["linked"]["image"] == f"{OUT}/linked.jpg"  # the link's target, as the dataset records it
        assert rows["inside"]["image"] == rows["inside"]["group_id"] == "images/inside.jpg"
        # two files of one name in two folders keep two names, and their ids stay unique
        assert rows[f"{OUT}/clip"]["audio"] == f"{OUT}/clip.wav"
        assert rows[f"{OUT2}/clip"]["audio"] == f"{OUT2}/clip.wav"
        assert json.loads(rows["s-00"]["extra"])["note_file"] == f"{OUT}/img-0.tif"
        assert rows["s-01"]["captions"] == [CAPTION_WITH_A_PATH]  # the corpus's text is not rewritten
        assert rows["s-03"]["image"] == "images/img-3.jpg" and rows["s-03"]["extra"] is None
    embedded = {row["sample_id"]: row for row in samples_of(producer["shares"][0])}
    assert embedded[f"{OUT}/outside"]["image_file"]["path"] == f"{OUT}/outside.jpg"
    assert embedded[f"{OUT2}/clip"]["audio_file"]["path"] == f"{OUT2}/clip.wav"
    assert embedded["broken-out"]["image_file"] is None


def test_error_reasons_name_files_relative_to_the_root_or_marked(producer):
    for share in producer["shares"]:
        image_errors = errors_of(share, "image.color-hist")
        assert image_errors["broken-out"]["path"] == f"{OUT}/broken.jpg"
        reason = image_errors["broken-out"]["reason"]
        assert reason.startswith(f"image file is corrupt or truncated: {OUT}/broken.jpg (")
        weighted = errors_of(share, "audio.weighted-rms")
        assert weighted["s-01"]["reason"] == f"cannot apply weights {OUT}/r18.pth to audio/tone-1.wav: too short"
        assert image_errors[f"{OUT2}/clip"]["reason"] == f"sample '{OUT2}/clip' has no image"


def test_aligned_keys_follow_the_published_ids_and_provenance_keeps_names_and_fingerprints(producer):
    source = open_dataset(producer["dataset"])
    for share in producer["shares"]:
        shared = open_dataset(share)
        for name in ("audio.weighted-rms@audio.wave-rms", "audio.wave-rms@audio.wave-rms"):
            table = shared.read_table(name, ["sample_id", "keys"])
            assert table.column("keys").null_count == source.read_table(name, ["keys"]).column("keys").null_count
            for sample_id, keys in zip(table.column("sample_id").to_pylist(), table.column("keys").to_pylist()):
                assert all(key.startswith(f"{sample_id}[") for key in keys or [])
            clip = table.filter(pc.equal(table.column("sample_id"), f"{OUT2}/clip")).column("keys").to_pylist()
            assert clip[0][:2] == [f"{OUT2}/clip[0]", f"{OUT2}/clip[1]"]
        assert shared.entry("audio.weighted-rms").config["weights"] == "r18.pth"
        inputs = json.loads(pq.read_metadata(shared.table_files("audio.weighted-rms@audio.wave-rms")[0])
                            .metadata[b"mmdata"])["input_tables"]
        assert inputs["audio.weighted-rms"][0]["weights"] == "r18.pth"
        for name in source.table_names:
            assert shared.entry(name).versions == source.entry(name).versions
            assert shared.entry(name).config.get("inputs") == source.entry(name).config.get("inputs")


def test_the_card_shows_the_marker_in_its_checks_table(producer):
    from markdown_it import MarkdownIt

    card = (producer["shares"][0] / "README.md").read_text()
    assert f"first samples: ['\\{OUT}/outside', 'broken-out'" in card  # unescaped, an HTML tag to Markdown
    html = MarkdownIt("commonmark").enable("table").render(card.split("---\n", 2)[2])
    assert "first samples: ['&lt;outside corpus&gt;/outside', 'broken-out'" in html  # markdown-it comes with rich


def test_the_share_still_verifies_checks_and_loads_with_datasets(producer, tmp_path):
    import datasets

    source = open_dataset(producer["dataset"])
    for share in producer["shares"]:
        assert verify_checksums(share).ok
        report = check_dataset(share)
        assert report.ok, report.issues
        assert not [i for i in report.issues if i.code.startswith(("provenance", "ids", "fingerprint"))], report.issues
        assert sorted(i.code for i in report.issues) == sorted(i.code for i in check_dataset(source.root).issues)
        for config in ("samples", "image.color-hist", "audio.weighted-rms@audio.wave-rms"):
            loaded = datasets.load_dataset(str(share), config, cache_dir=str(tmp_path / "cache"))
            assert {split: loaded[split].num_rows for split in loaded} == source.manifest.samples["splits"]
        cache = str(tmp_path / "cache")
        samples = datasets.load_dataset(str(share), "samples", split="test", cache_dir=cache)
        features = datasets.load_dataset(str(share), "image.color-hist", split="test", cache_dir=cache)
        assert samples["sample_id"] == features["sample_id"]
        assert f"{OUT2}/clip" in samples["sample_id"]


def test_sharing_a_share_again_publishes_the_same_ids_and_paths(producer, tmp_path):
    first = producer["shares"][0]
    again = share_dataset(first, tmp_path / "again", media="embed").out_dir
    columns = ["sample_id", "group_id", "image", "audio", "extra"]
    assert pa.Table.from_pylist(samples_of(again)).select(columns).equals(
        pa.Table.from_pylist(samples_of(first)).select(columns))
    assert errors_of(again, "audio.weighted-rms") == errors_of(first, "audio.weighted-rms")


def test_ids_a_share_would_publish_alike_are_refused(tmp_path):
    corpus = tmp_path / "corpus"
    write_mixed_corpus(corpus)
    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()][:2]
    rows[0]["id"], rows[1]["id"] = "images/img-1", str(corpus / "images" / "img-1")
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    extract("manifest", corpus, tmp_path / "dataset", extractors=["color-hist:bins=8"], num_workers=0)
    with pytest.raises(DatasetError, match="would both be published as sample id 'images/img-1'.*an `id` column"):
        share_dataset(tmp_path / "dataset", tmp_path / "share")
    assert not (tmp_path / "share").exists()


@pytest.mark.parametrize(("value", "published"), [
    ("/data/coco/val2017/1.jpg", "val2017/1.jpg"),
    ("/data/coco", "coco"),
    ("/data/coco/../secret/x.jpg", f"{OUT}/x.jpg"),
    ("/data/cocoa/x.jpg", f"{OUT}/x.jpg"),
    ("/a/cat.jpg", f"{OUT}/cat.jpg"),
    ("/b/cat.jpg", f"{OUT2}/cat.jpg"),
    ("~/models/st", f"{OUT}/st"),
    ("C:\\Users\\me\\x.jpg", f"{OUT}/x.jpg"),
    ("images/x.jpg", "images/x.jpg"),
    (f"{OUT}/x.jpg", f"{OUT}/x.jpg"),
])
def test_a_whole_value_is_relative_to_the_root_or_marked(value, published):
    assert PathRedactor("/data/coco", ["/b/cat.jpg", "/a/cat.jpg"]).value(value) == published


@pytest.mark.parametrize(("text", "published"), [
    ("cannot open /home/me/x.jpg: no such file", f"cannot open {OUT}/x.jpg: no such file"),
    ("weights /opt/models/r18.pth do not load.", f"weights {OUT}/r18.pth do not load."),
    ("/data/coco/images/a b.jpg is truncated", "images/a b.jpg is truncated"),
    ("the corpus root /data/coco is not a folder", "the corpus root coco is not a folder"),
    ("samples ['/b/cat', 'x']", f"samples ['{OUT}/cat', 'x']"),
    ("see https://huggingface.co/a/b, 1/2 of m/s and ./x or a/b", None),  # no absolute path: unchanged
    ("options decode_size=64;weights=/home/me/r18.pth", f"options decode_size=64;weights={OUT}/r18.pth"),
])
def test_each_path_in_a_text_is_relative_to_the_root_or_marked(text, published):
    assert PathRedactor("/data/coco").text(text) == (text if published is None else published)


def test_a_path_with_spaces_is_found_whole_where_known_and_else_loses_its_absolute_part():
    redactor = PathRedactor("/data/my corpus")
    text = "cannot open /home/me/My Photos/cat.jpg: truncated"
    assert redactor.text(text, ["/home/me/My Photos/cat.jpg"]) == f"cannot open {OUT}/cat.jpg: truncated"
    assert redactor.text(text) == f"cannot open {OUT}/My Photos/cat.jpg: truncated"
    assert redactor.text("/data/my corpus/a b/x.jpg: truncated") == "a b/x.jpg: truncated"


def test_provenance_keeps_a_whole_paths_name_and_marks_a_path_inside_a_text():
    provenance = {"config": {"weights": "/home/me/r18.pth", "note": "made from /home/me/raw/x.csv and dim=8",
                             "labels": "/data/coco/labels.csv", "collapse": "mean"}}
    assert shareable_provenance(provenance, "/data/coco")["config"] == {
        "weights": "r18.pth", "note": f"made from {OUT}/x.csv and dim=8", "labels": "labels.csv", "collapse": "mean"}
