"""The library's writers of user-named files refuse what the CLI refuses: a dataset's own files, any
file in its table folders, and an existing file that is no earlier report; nothing is written then."""
from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.checks import check_dataset
from mmdata.checks.report import write_report_json
from mmdata.cli import app
from mmdata.errors import ConfigError
from mmdata.models.report import write_metrics_json
from mmdata.models.retrieval_recipe import run_retrieval_recipe
from mmdata.report import write_report
from mmdata.share import write_checksums
from mmdata.store.output_files import OutputPathError
from mmdata.store.reader import open_dataset
from tests.cli_errors import one_line_error

runner = CliRunner()
SCRIPT = "print('my own script')\n"

#: Paths inside the dataset no output may take, and the words of the refusal.
INSIDE = [
    ("mmdata.json", "is the manifest of the dataset"),
    ("samples/part-00000.parquet", "lies in the samples table folder samples/ of the dataset"),
    ("features/image.pixel-stats/part-00000.parquet", "lies in the feature tables folder features/ of the dataset"),
    ("samples/report.out", "lies in the samples table folder samples/ of the dataset"),
    ("features/report.out", "lies in the feature tables folder features/ of the dataset"),
    ("errors/report.out", "lies in the errors tables folder errors/ of the dataset"),
]


def _write_html(dataset: Path, out: Path):
    return write_report(dataset, out, max_gallery=0)


def _write_json(dataset: Path, out: Path):
    return write_report_json(check_dataset(dataset), out)


WRITERS = {"report": (_write_html, "report path", "report.html"),
           "check-json": (_write_json, "check report path", "check.json")}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize(("inside", "words"), INSIDE)
def test_a_file_of_the_dataset_is_refused_and_nothing_changes(dataset, writer, inside, words):
    write, what, example = WRITERS[writer]
    target = dataset / inside
    assert target.is_file() == (not inside.endswith("report.out"))  # the dataset's own files exist; the others are new
    before = _files(dataset)
    with pytest.raises(OutputPathError) as refused:
        write(dataset, target)
    message = str(refused.value)
    root = dataset.resolve()
    assert message.startswith(f"{what} {target} {words} {root}")
    assert message.endswith(f"e.g. {root.parent / f'ds-{example}'}")
    assert "\n" not in message
    assert _files(dataset) == before
    open_dataset(dataset)  # still opens


def test_the_manifest_message_is_the_clis_with_the_writer_named(dataset):
    manifest = dataset / "mmdata.json"
    with pytest.raises(OutputPathError) as refused:
        write_report(dataset, manifest)
    root = dataset.resolve()
    assert str(refused.value) == (
        f"report path {manifest} is the manifest of the dataset {root}; writing there would destroy it; expected a "
        f"path that is not one of the dataset's files, e.g. {root.parent / 'ds-report.html'}")
    assert isinstance(refused.value, ConfigError)


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_an_existing_script_is_refused_and_kept(dataset, tmp_path, writer):
    write, what, example = WRITERS[writer]
    victim = tmp_path / "victim.py"
    victim.write_text(SCRIPT)
    with pytest.raises(OutputPathError) as refused:
        write(dataset, victim)
    message = str(refused.value)
    assert message.startswith(f"{what} {victim} is an existing file that is not an mmdata ")
    assert message.endswith(f"choose another path, e.g. {tmp_path / example}, or remove the file if it may go")
    assert victim.read_text() == SCRIPT


def test_an_html_report_does_not_replace_a_json_check_report_nor_the_reverse(dataset, tmp_path):
    page, listing = tmp_path / "report.html", tmp_path / "check.json"
    _write_html(dataset, page)
    _write_json(dataset, listing)
    before = page.read_bytes(), listing.read_bytes()
    with pytest.raises(OutputPathError):
        _write_json(dataset, page)
    with pytest.raises(OutputPathError):
        _write_html(dataset, listing)
    assert (page.read_bytes(), listing.read_bytes()) == before


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_new_earlier_and_empty_files_are_written(dataset, tmp_path, writer):
    write, _, _ = WRITERS[writer]
    for out in (tmp_path / "new" / "out.file", dataset / "out.file"):  # a new folder; the dataset's top level
        write(dataset, out)
        first = out.read_bytes()
        assert first
        write(dataset, out)  # an earlier report of its kind is replaced
        assert out.stat().st_size > 0
    empty = tmp_path / "empty.file"
    empty.touch()
    write(dataset, empty)
    assert empty.stat().st_size > 0
    open_dataset(dataset)


def test_a_metrics_file_over_the_manifest_is_refused_before_training(dataset):
    manifest = dataset / "mmdata.json"
    before = manifest.read_bytes()
    with pytest.raises(OutputPathError, match=r"^metrics path .* is the manifest of the dataset"):
        write_metrics_json(manifest, {"rows": []})
    with pytest.raises(OutputPathError, match=r"^metrics path .* lies in the samples table folder samples/"):
        run_retrieval_recipe(dataset, dataset / "samples" / "metrics.json")
    assert manifest.read_bytes() == before
    assert not (dataset / "samples" / "metrics.json").exists()


def test_write_checksums_names_a_directory_in_its_place(dataset):
    (dataset / "checksums.sha256").mkdir()
    with pytest.raises(OutputPathError) as refused:
        write_checksums(dataset)
    assert str(refused.value) == (f"{dataset / 'checksums.sha256'} is a directory; expected the file `mmdata verify` "
                                  "reads there; remove or rename that directory")


def test_the_cli_messages_are_unchanged(dataset, tmp_path):
    manifest = dataset / "mmdata.json"
    line = one_line_error(runner.invoke(app, ["report", str(dataset), "--out", str(manifest), "--gallery", "0"]))
    assert line.startswith(f"error: --out {manifest} is the manifest of the dataset {dataset.resolve()}; ")
    line = one_line_error(runner.invoke(app, ["check", str(dataset), "--json", str(dataset / "features" / "x.json")]))
    assert line.startswith(f"error: --json {dataset / 'features' / 'x.json'} lies in the feature tables folder")
    line = one_line_error(runner.invoke(app, ["report", str(dataset), "--out", str(tmp_path)]))
    assert line == f"error: --out {tmp_path} is a directory; expected a file path, e.g. {tmp_path / 'report.html'}"


def test_check_json_over_a_script_is_refused_on_the_command_line(dataset, tmp_path):
    victim = tmp_path / "victim.py"
    victim.write_text(SCRIPT)
    result = runner.invoke(app, ["check", str(dataset), "--json", str(victim)])
    line = one_line_error(result)
    assert line.startswith(f"error: --json {victim} is an existing file that is not an mmdata check report (no JSON "
                           "object with the keys dataset_dir, ok, issues, rows_checked); expected a new file, or a check "
                           "report written earlier, which is replaced; ")
    assert result.stdout == ""  # refused before the check ran
    assert victim.read_text() == SCRIPT
