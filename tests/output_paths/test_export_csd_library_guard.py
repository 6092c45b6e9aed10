"""`export_csd` refuses a CSD_DIR that already holds `.csd` files unless forced, from Python as on the
command line: the files it writes keep the names of the corpus's own, so an export there could replace a
file that is no export's. `force=True` (`--force`; `remove_earlier_exports=True`, its earlier name) writes
there, replacing the files of the same names."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError
from mmdata.formats.csd import CsdFile
from mmdata.formats.csd_export import export_csd
from mmdata.formats.csd_folder import EXPORT_MARKER_KEY
from mmdata.store.output_files import OutputPathError
from tests.cli_errors import one_line_error
from tests.fakes.csd import COVAREP_FILE, WORDS_FILE
from tests.segment_export.corpus import videos_dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def pristine_videos(tmp_path_factory) -> Path:
    return videos_dataset(tmp_path_factory.mktemp("csd-guard"))


@pytest.fixture
def videos(pristine_videos, tmp_path) -> Path:
    return Path(shutil.copytree(pristine_videos, tmp_path / "videos"))


@pytest.fixture
def foreign_folder(pristine_videos, tmp_path) -> Path:
    """A folder holding a copy of the corpus's own COVAREP file: the name the export writes, no export's file."""
    folder = tmp_path / "target"
    folder.mkdir()
    shutil.copy(pristine_videos.parent / "csd" / COVAREP_FILE, folder / COVAREP_FILE)
    return folder


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def exported(path: Path) -> bool:
    with CsdFile(path) as csd:
        return EXPORT_MARKER_KEY in csd.metadata


def test_the_library_refuses_a_folder_holding_csd_files_and_changes_nothing(videos, foreign_folder):
    before = contents(foreign_folder)
    with pytest.raises(OutputPathError) as refused:
        export_csd(videos, foreign_folder, tables=["audio.covarep"])
    message = str(refused.value)
    assert message.startswith(f"CSD_DIR {foreign_folder} already holds .csd files (e.g. {COVAREP_FILE})")
    assert message.endswith("choose a new or empty folder, or pass force=True (--force)")
    assert isinstance(refused.value, ConfigError)
    assert contents(foreign_folder) == before  # no file replaced, none added, no temporary left


def test_an_earlier_export_of_the_same_folder_is_refused_too(videos, tmp_path):
    target = tmp_path / "csd-out"
    export_csd(videos, target, tables=["text.words"])
    before = contents(target)
    with pytest.raises(OutputPathError, match=rf"already holds \.csd files \(e\.g\. {WORDS_FILE}\)"):
        export_csd(videos, target, tables=["text.words"])
    assert contents(target) == before


@pytest.mark.parametrize("flag", ["force", "remove_earlier_exports"])
def test_force_replaces_the_files_of_the_same_names(videos, foreign_folder, flag):
    written = export_csd(videos, foreign_folder, tables=["audio.covarep"], **{flag: True})
    assert list(written) == [foreign_folder / COVAREP_FILE]
    assert exported(foreign_folder / COVAREP_FILE)  # the corpus's copy was replaced by the export


def test_force_that_is_not_a_bool_is_refused(videos, tmp_path):
    with pytest.raises(ConfigError, match="force"):
        export_csd(videos, tmp_path / "new", force="yes")
    assert not (tmp_path / "new").exists()


def test_a_new_or_csd_free_folder_needs_no_force(videos, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.txt").write_text("mine")
    export_csd(videos, tmp_path / "notes", tables=["text.words"])
    export_csd(videos, tmp_path / "new", tables=["text.words"])
    assert sorted(p.name for p in (tmp_path / "notes").iterdir()) == sorted(["README.txt", WORDS_FILE])
    assert [p.name for p in (tmp_path / "new").iterdir()] == [WORDS_FILE]


def test_the_command_line_refuses_as_before_and_force_writes(videos, foreign_folder):
    before = contents(foreign_folder)
    line = one_line_error(runner.invoke(app, ["export-csd", str(videos), str(foreign_folder), "-t", "audio.covarep"]))
    assert line == (f"error: CSD_DIR {foreign_folder} already holds .csd files (e.g. {COVAREP_FILE}), which this "
                    "export may replace; choose a new or empty folder, or pass force=True (--force)")
    assert contents(foreign_folder) == before
    result = runner.invoke(app, ["export-csd", str(videos), str(foreign_folder), "-t", "audio.covarep", "--force"])
    assert result.exit_code == 0, result.output
    assert f"wrote {foreign_folder / COVAREP_FILE}" in result.stdout
    assert exported(foreign_folder / COVAREP_FILE)
