"""`mmdata report --out` replaces only an earlier report, and no output path replaces a dataset's own files."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.cli.paths import OutputPathError, report_file
from mmdata.errors import ConfigError
from tests.cli_errors import one_line_error

runner = CliRunner()


def _report(dataset, out):
    return runner.invoke(app, ["report", str(dataset), "--out", str(out), "--gallery", "0"])


def test_report_over_the_manifest_is_refused_and_the_dataset_still_reads(dataset):
    manifest = dataset / "mmdata.json"
    before = manifest.read_bytes()
    line = one_line_error(_report(dataset, manifest))
    assert line.startswith(f"error: --out {manifest} is the manifest of the dataset {dataset.resolve()}; ")
    assert f"e.g. {dataset.resolve().parent / 'ds-report.html'}" in line
    assert manifest.read_bytes() == before
    assert runner.invoke(app, ["info", str(dataset)]).exit_code == 0


@pytest.mark.parametrize(("name", "what"), [("README.md", "dataset card"), ("checksums.sha256", "checksums file"),
                                            ("mmdata.json", "manifest")])
def test_report_over_a_file_of_a_share_is_refused(shared, name, what):
    before = (shared / name).read_bytes()
    line = one_line_error(_report(shared, shared / name))
    assert f"is the {what} of the dataset {shared.resolve()}; writing there would destroy it" in line
    assert (shared / name).read_bytes() == before
    assert runner.invoke(app, ["verify", str(shared)]).exit_code == 0


@pytest.mark.parametrize("inside", ["samples/report.html", "features/image.pixel-stats/report.html",
                                    "features/image.pixel-stats/part-00000.parquet"])
def test_report_into_a_table_folder_of_the_dataset_is_refused(dataset, inside):
    folder = inside.split("/")[0]
    line = one_line_error(_report(dataset, dataset / inside))
    assert f"lies in the {'samples table' if folder == 'samples' else 'feature tables'} folder {folder}/ of the dataset" in line
    assert not (dataset / "samples" / "report.html").exists()


def test_a_link_to_the_manifest_is_refused_as_the_manifest(dataset, tmp_path):
    link = tmp_path / "page.html"
    link.symlink_to(dataset / "mmdata.json")
    assert "is the manifest of the dataset" in one_line_error(_report(dataset, link))


def test_report_over_another_existing_file_is_refused_and_the_file_kept(dataset, tmp_path):
    notes = tmp_path / "notes.html"
    notes.write_text("<html>my own notes</html>\n")
    line = one_line_error(_report(dataset, notes))
    assert line.startswith(f"error: --out {notes} is an existing file that is not an mmdata report")
    assert "choose another path" in line and "remove the file if it may go" in line
    assert notes.read_text() == "<html>my own notes</html>\n"


def test_an_earlier_report_and_an_empty_file_are_replaced(dataset, tmp_path):
    page = tmp_path / "report.html"
    assert _report(dataset, page).exit_code == 0
    first = page.read_text()
    assert _report(dataset, page).exit_code == 0, "a second report over the first"
    assert page.read_text() == first
    empty = tmp_path / "empty.html"
    empty.touch()
    assert _report(dataset, empty).exit_code == 0
    assert empty.stat().st_size > 0


def test_a_new_report_file_inside_the_dataset_folder_is_written(dataset):
    assert _report(dataset, dataset / "report.html").exit_code == 0
    assert (dataset / "report.html").is_file()


def test_the_refusal_is_a_config_error():
    assert issubclass(OutputPathError, ConfigError)


def test_report_file_accepts_a_new_path(tmp_path):
    assert report_file(tmp_path / "new.html", "--out", "report.html") == tmp_path / "new.html"


def test_check_json_keeps_replacing_its_own_file_but_not_the_manifest(dataset, tmp_path):
    out = tmp_path / "check.json"
    for _ in range(2):  # the second run replaces the first report, as before
        result = runner.invoke(app, ["check", str(dataset), "--json", str(out)])
        assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["check", str(dataset), "--json", str(dataset / "check.json")]).exit_code == 0
    line = one_line_error(runner.invoke(app, ["check", str(dataset), "--json", str(dataset / "mmdata.json")]))
    assert line.startswith(f"error: --json {dataset / 'mmdata.json'} is the manifest of the dataset")
    assert runner.invoke(app, ["info", str(dataset)]).exit_code == 0
