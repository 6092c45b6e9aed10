"""A run asking for several tables the dataset cannot keep (made with another config, another table format)
refuses once, naming every refused table with its reason, before anything is claimed or computed; the
`--force` run it suggests replaces just those tables. One refused table keeps its one-line message."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.cli_errors import one_line_error
from tests.fakes.av import write_tone_wav
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()
FIRST_RUN = ["color-hist", "pixel-stats:decode_size=64", "hashed-bow:dim=64"]


@pytest.fixture
def coco(tmp_path):
    return copy_sample_corpus("coco", tmp_path)


@pytest.fixture
def dataset(coco, tmp_path):
    """A dataset of the sample COCO corpus with three tables, the color histograms as Arrow shards."""
    out = tmp_path / "out"
    options = dict(split="val2017", corpus_options={"keep_images_without_captions": True}, num_workers=0)
    extract("coco", coco, out, extractors=FIRST_RUN[:1], table_format="arrow", **options)
    extract("coco", coco, out, extractors=FIRST_RUN[1:], **options)
    return out


def files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def cli(*args: str):
    return runner.invoke(app, [*args, "-q", "-j", "0"])


def cli_run(coco: Path, out: Path, extractors: dict[str, list[str]], *more: str):
    flags = [word for modality, specs in extractors.items() for spec in specs for word in (f"--{modality}", spec)]
    return cli("extract", "coco", str(coco), str(out), "--split", "val2017", "-o", "keep_images_without_captions=true",
               *flags, *more)


def test_two_refused_tables_are_named_in_one_error_each_with_its_reason(coco, dataset):
    before = files(dataset)
    with pytest.raises(DatasetError) as caught:
        extract("coco", coco, dataset, extractors=["color-hist", "pixel-stats", "hashed-bow:dim=64", "tokens"],
                split="val2017", corpus_options={"keep_images_without_captions": True}, num_workers=0)
    first, *tables = str(caught.value).splitlines()
    assert first.startswith(f"2 requested tables of {dataset} cannot be kept, so the run changed nothing; --force "
                            "replaces the named extractors' tables, so a run naming only these 2 replaces just them: ")
    assert "(then the run without --force goes on with the others)" in first
    assert len(tables) == 2
    assert tables[0].startswith(f"  table 'image.color-hist' in {dataset} holds arrow shards, not parquet")
    assert tables[1] == f"  table 'image.pixel-stats' in {dataset} was made with decode_size=64, not decode_size=128"
    assert "hashed-bow" not in str(caught.value) and "tokens" not in str(caught.value)
    assert files(dataset) == before  # nothing claimed, computed or written: the tokens table neither


def test_three_refused_tables_stop_the_command_with_one_message_and_change_nothing(coco, dataset):
    before = files(dataset)
    result = cli_run(coco, dataset, {"image": ["color-hist:bins=4", "pixel-stats"], "text": ["hashed-bow:dim=32"]})
    assert result.exit_code == 2 and "Traceback" not in result.output
    first, *tables = result.stderr.strip().splitlines()
    assert first.startswith(f"error: 3 requested tables of {dataset} cannot be kept")
    assert "goes on with the others" not in first
    assert [re.match(r"  table '([^']+)'", line).group(1) for line in tables] == [
        "image.color-hist", "image.pixel-stats", "text.hashed-bow"]
    assert tables[0].endswith("was made with bins=16, not bins=4 (other options equal)")
    assert tables[2].endswith("was made with dim=64, not dim=32 (other options equal)")
    assert files(dataset) == before


def suggested_command(message: str) -> list[str]:
    words = shlex.split(re.search(r"`(mmdata extract [^`]+)`", message).group(1))
    assert words[0] == "mmdata"
    return words[1:]


def test_the_suggested_command_replaces_just_the_refused_tables(coco, dataset):
    kept = {name: data for name, data in files(dataset).items() if "hashed-bow" in name}
    run = {"image": ["color-hist:bins=4", "pixel-stats"], "text": ["hashed-bow:dim=64"]}
    message = cli_run(coco, dataset, run).stderr
    words = suggested_command(message)
    assert words == ["extract", "coco", str(coco.resolve()), str(dataset), "--split", "val2017",
                     "-o", "keep_images_without_captions=true", "--image", "color-hist:bins=4", "--image", "pixel-stats",
                     "--force"]

    assert cli(*words).exit_code == 0
    tables = open_dataset(dataset).manifest.tables
    assert tables["image.color-hist"].config["bins"] == 4 and tables["image.color-hist"].format == "parquet"
    assert tables["image.pixel-stats"].config["decode_size"] == 128
    assert {name: data for name, data in files(dataset).items() if "hashed-bow" in name} == kept
    assert cli_run(coco, dataset, run).exit_code == 0  # the run as first asked now goes through


def test_the_suggested_command_keeps_the_table_format_of_the_run(coco, dataset):
    result = cli_run(coco, dataset, {"image": ["color-hist:bins=4", "pixel-stats"]}, "--table-format", "arrow")
    words = suggested_command(result.stderr)
    assert words[-3:] == ["--table-format", "arrow", "--force"]
    assert cli(*words).exit_code == 0
    tables = open_dataset(dataset).manifest.tables
    assert tables["image.color-hist"].format == tables["image.pixel-stats"].format == "arrow"


def test_one_refused_table_keeps_the_one_line_message_and_computes_nothing(coco, dataset):
    before = files(dataset)
    line = one_line_error(cli_run(coco, dataset, {"image": ["pixel-stats:decode_size=64"],
                                                  "text": ["tokens", "hashed-bow:dim=32"]}))
    assert line.startswith(f"error: table 'text.hashed-bow' in {dataset} was made with dim=64, not dim=32 (other "
                           "options equal); ")
    assert "; pass --force to `mmdata extract` or `mmdata align` to replace the table" in line
    assert files(dataset) == before  # the tokens table, asked for before it, is not made either


def test_two_configs_of_one_table_are_spelled_as_the_command_line_takes_them(tmp_path):
    root = tmp_path / "corpus"
    write_tone_wav(root / "a.wav")
    (root / "manifest.jsonl").write_text(json.dumps({"id": "a", "audio": "a.wav", "text": "x"}) + "\n")
    result = cli("extract", "manifest", str(root), str(tmp_path / "out"),
                 "--audio", "kaldi-fbank:snip_edges=false,num_mel_bins=40", "--audio", "kaldi-fbank")
    line = one_line_error(result)
    assert line.startswith("error: two extractors write the same table 'audio.kaldi-fbank': "
                           "'kaldi-fbank:num_mel_bins=40,snip_edges=false' and 'kaldi-fbank'; ")
