"""The folder `export-csd` writes into. A killed export's hidden temporary file is removed
by the next export there (only files of exactly that pattern); `--force` removes the `.csd` files an earlier
export wrote that this one does not replace, and keeps (and names) any other `.csd`."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.alignment.dataset import align_dataset
from mmdata.cli import app
from mmdata.errors import DatasetBusyError
from mmdata.formats.csd import CsdFile
from mmdata.formats.csd_export import export_csd
from mmdata.store.output_files import OutputPathError
from tests.fakes.csd import COVAREP_FILE, FACET_FILE, LABELS_FILE, WORDS_FILE
from tests.segment_export.corpus import segmented, videos_dataset

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_temporary_file_a_killed_export_left_is_removed_by_the_next_export(tmp_path):
    videos = videos_dataset(tmp_path)
    back = tmp_path / "back"
    # The export writes its first video, then hangs; SIGKILL leaves its temporary file behind.
    script = textwrap.dedent(f"""
        import time
        import mmdata.formats.csd_export as export
        entries = export._entries
        def hanging(*args):
            for i, entry in enumerate(entries(*args)):
                yield entry
                time.sleep(120)
        export._entries = hanging
        export.export_csd({str(videos)!r}, {str(back)!r}, tables=["audio.covarep"])
    """)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while not (back.is_dir() and hidden(back)) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    [left] = hidden(back)
    assert left == ".export-csd.tmp"  # the export's staging folder (its files are moved out when all are written)
    export_csd(videos, back, tables=["text.words"])
    assert hidden(back) == []  # another table's run removes it too: it is no one's file any more
    assert sorted(p.name for p in back.iterdir()) == [WORDS_FILE]


def test_only_files_of_exactly_the_export_pattern_are_removed(tmp_path):
    videos = videos_dataset(tmp_path)
    back = tmp_path / "back"
    back.mkdir()
    stale = [f".{COVAREP_FILE}.9b10c94c.tmp", ".other.csd.0123abcd.tmp"]
    kept = [".notes.tmp", f".{COVAREP_FILE}.9B10C94C.tmp", f".{COVAREP_FILE}.9b10c94.tmp",
            f"{COVAREP_FILE}.9b10c94c.tmp",
            ".mmdata.json.0123abcd.tmp", f".{COVAREP_FILE}.9b10c94c.tmp.bak"]
    for name in stale + kept:
        (back / name).write_bytes(b"x")
    export_csd(videos, back, tables=["audio.covarep"])
    assert sorted(p.name for p in back.iterdir()) == sorted([COVAREP_FILE] + kept)


def test_a_second_export_into_a_folder_being_written_is_refused(tmp_path):
    from mmdata.formats.csd_folder import exporting_into

    videos = videos_dataset(tmp_path)
    back = tmp_path / "back"
    back.mkdir()
    stale = back / f".{COVAREP_FILE}.9b10c94c.tmp"  # as a running export's file would be
    stale.write_bytes(b"x")
    with exporting_into(back):  # another export holds the folder
        with pytest.raises(DatasetBusyError, match="being written by another `mmdata export-csd`"):
            export_csd(videos, back, tables=["audio.covarep"])
    assert stale.exists()  # not taken from under the running export


def test_a_second_export_into_a_new_folder_being_written_is_refused(tmp_path):
    from mmdata.formats.csd_folder import exporting_into

    videos = videos_dataset(tmp_path)
    back = tmp_path / "new" / "back"  # not made yet: the first export makes it, then locks it
    with exporting_into(back):
        assert back.is_dir()
        with pytest.raises(DatasetBusyError, match="being written by another `mmdata export-csd`"):
            export_csd(videos, back, tables=["audio.covarep"])


def test_force_keeps_a_csd_file_h5py_cannot_read_and_names_it(tmp_path):
    videos = videos_dataset(tmp_path)
    back = tmp_path / "back"
    [written] = export_csd(videos, back, tables=["audio.covarep"])
    damaged = back / "damaged.csd"  # an object name edited in place: h5py raises RuntimeError reading it
    damaged.write_bytes(written.read_bytes().replace(b"mmdata export-csd", b"xxxxxx export-csd"))
    result = runner.invoke(app, ["export-csd", str(videos), str(back), "--force", "-t", "audio.covarep"])
    assert result.exit_code == 0, result.output
    assert damaged.exists() and "damaged.csd" in result.output


def test_every_written_file_carries_the_export_marker(tmp_path):
    from mmdata.formats.csd_folder import EXPORT_MARKER_KEY

    out, _ = segmented(tmp_path)
    for path in export_csd(out, tmp_path / "back"):
        with CsdFile(path) as csd:
            assert csd.metadata[EXPORT_MARKER_KEY] in {"audio.covarep", "text.words", "video.facet-41", "labels"}


def test_force_removes_an_earlier_exports_other_files_and_keeps_files_it_did_not_write(tmp_path):
    videos = videos_dataset(tmp_path)
    align_dataset(videos, "text.words", collapse="mean", tables=["audio.covarep"])
    back = tmp_path / "back"
    assert runner.invoke(app, ["export-csd", str(videos), str(back)]).exit_code == 0
    earlier = sorted(p.name for p in back.glob("*.csd"))
    assert "audio.covarep@text.words.csd" in earlier
    foreign = back / "mine.csd"
    foreign.write_bytes((tmp_path / "csd" / FACET_FILE).read_bytes())  # a corpus file: no export marker
    out, _ = segmented(tmp_path / "seg")
    result = runner.invoke(app, ["export-csd", str(out), str(back), "--force", "-t", "audio.covarep,text.words"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in back.glob("*.csd")) == sorted([COVAREP_FILE, WORDS_FILE, LABELS_FILE, "mine.csd"])
    assert f"removed {back / 'audio.covarep@text.words.csd'} (an earlier export-csd wrote it)" in result.output
    assert f"removed {back / FACET_FILE}" in result.output
    assert "kept 1 .csd files that export-csd did not write" in result.output and "mine.csd" in result.output


def test_without_force_the_folder_is_refused_and_nothing_is_removed(tmp_path):
    videos = videos_dataset(tmp_path)
    back = tmp_path / "back"
    export_csd(videos, back)
    with pytest.raises(OutputPathError, match=r"already holds \.csd files .*pass force=True \(--force\)"):
        export_csd(videos, back, tables=["text.words"])
    assert sorted(p.name for p in back.glob("*.csd")) == sorted([COVAREP_FILE, WORDS_FILE, FACET_FILE])
