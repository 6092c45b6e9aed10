"""Output files get the mode `open()` gives (0o666 less the umask), not mkstemp's 0600."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.models.report import write_metrics_json
from mmdata.store.files import create_temporary, temporary_beside, write_text_atomic
from tests.fakes.csd import write_mosi_csd
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()


@pytest.fixture
def umask():
    """Set the process umask for one test, then put the old one back."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda value: os.umask(value)
    os.umask(old)


def modes(folder: Path) -> dict[str, str]:
    """Relative path -> `ls -l` mode string of every file and folder under `folder`."""
    return {p.relative_to(folder).as_posix(): stat.filemode(p.stat().st_mode) for p in sorted(folder.rglob("*"))}


def invoke(*args: str) -> None:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("mask", "file_mode", "dir_mode"), [
    (0o022, "-rw-r--r--", "drwxr-xr-x"),
    (0o077, "-rw-------", "drwx------"),
])
def test_every_output_file_follows_the_umask(tmp_path, umask, mask, file_mode, dir_mode):
    coco = copy_sample_corpus("coco", tmp_path)
    write_mosi_csd(tmp_path / "mosi")
    umask(mask)
    out = tmp_path / "out"
    invoke("extract", "coco", coco, out / "coco", "--image", "color-hist", "--text", "hashed-bow", "-q")
    invoke("report", out / "coco", "--out", out / "report.html")
    invoke("fuse", out / "coco", "--out", out / "fused", "--normalize", "none")
    invoke("share", out / "coco", "--out", out / "shared")
    invoke("extract", "csd", tmp_path / "mosi", out / "mosi", "-q")
    invoke("export-csd", out / "mosi", out / "csd")
    write_metrics_json(out / "metrics.json", {"accuracy": 0.5})
    found = modes(out)
    for must in ("coco/mmdata.json", "report.html", "fused/fused.json", "shared/checksums.sha256",
                 "mosi/mmdata.json", "metrics.json"):
        assert must in found
    assert any(p.startswith("coco/features/") and p.endswith(".parquet") for p in found)
    assert any(p.startswith("csd/") and p.endswith(".csd") for p in found)
    wrong = {p: m for p, m in found.items() if m != (dir_mode if m.startswith("d") else file_mode)}
    assert wrong == {}


def test_temporary_files_are_hidden_exclusive_and_cleaned_up_on_failure(tmp_path, umask):
    umask(0o027)
    target = tmp_path / "new" / "table.parquet"
    fd, first = create_temporary(target)
    os.close(fd)
    second = temporary_beside(target)
    assert first != second and first.parent == target.parent and first.name.startswith(".table.parquet.")
    assert stat.filemode(first.stat().st_mode) == "-rw-r-----"

    with pytest.raises(TypeError):
        write_text_atomic(tmp_path / "new" / "notes.txt", 42)  # type: ignore[arg-type]
    assert sorted(p.name for p in target.parent.iterdir()) == sorted([first.name, second.name])
    write_text_atomic(tmp_path / "new" / "notes.txt", "héllo\n")
    assert (tmp_path / "new" / "notes.txt").read_text(encoding="utf-8") == "héllo\n"
