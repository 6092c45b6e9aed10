"""`extract csd` -> `align` -> `fuse` on the command line: resumed alignment, the fuse hint, the docs' examples."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from typer.testing import CliRunner

from mmdata.alignment.dataset import align_dataset
from mmdata.cli import app
from tests.fakes.csd import write_mosi_csd

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]
ALIGNED = ["audio.covarep@text.words", "text.words@text.words", "video.facet-41@text.words"]
FOLDS = {"train": ["abc", "x9Y_z-1"], "test": ["abcd"]}


def _mosi(tmp_path: Path, *extra: str) -> Path:
    """The fake CSD corpus extracted (hashed bag of words for text) and aligned to text.words."""
    fake = write_mosi_csd(tmp_path / "csd")
    (fake.root / "folds.json").write_text(json.dumps(FOLDS))
    out = tmp_path / "out"
    result = runner.invoke(app, ["extract", "csd", str(fake.root), str(out), "-o", "folds=folds.json",
                                 "--text", "hashed-bow", "-j", "0", "-q", *extra])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["align", str(out), "--reference", "text.words"])
    assert result.exit_code == 0, result.output
    assert "reference text.words: 14 intervals, 14 aligned" in result.output
    return out


def test_fuse_after_align_suggests_the_aligned_tables_and_they_fuse_as_padded_sequences(tmp_path):
    out = _mosi(tmp_path)
    result = runner.invoke(app, ["fuse", str(out), str(tmp_path / "fused"), "--missing", "zero", "--sequences", "pad"])
    assert result.exit_code == 2
    suggested = re.search(r"\(e\.g\. --tables (\S+)\)$", result.stderr.strip()).group(1)
    assert suggested.split(",") == ALIGNED
    result = runner.invoke(app, ["fuse", str(out), str(tmp_path / "fused"), "--missing", "zero", "--sequences", "pad",
                                 "--tables", suggested, "--format", "arrow"])
    assert result.exit_code == 0, result.output
    assert f"fused 5 rows x 8 dims ({', '.join(ALIGNED)})" in result.output


def test_fuse_hint_without_aligned_tables_names_each_modality_first_table(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    out = tmp_path / "out"
    result = runner.invoke(app, ["extract", "csd", str(fake.root), str(out), "--text", "hashed-bow", "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["fuse", str(out), str(tmp_path / "fused")])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("(e.g. --tables audio.covarep,text.hashed-bow,video.facet-41)")


def test_aligning_again_says_the_aligned_tables_are_there_and_nothing_was_recomputed(tmp_path):
    out = _mosi(tmp_path)
    result = runner.invoke(app, ["align", str(out), "--reference", "text.words"])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first == ("reference text.words: the aligned tables text.words@text.words, audio.covarep@text.words, "
                     "video.facet-41@text.words are already there (every shard written by an earlier run); "
                     "nothing recomputed")
    assert "0 intervals" not in result.output
    report = align_dataset(out, "text.words")
    assert report.up_to_date and (report.shards_aligned, report.shards_done, report.intervals) == (0, 1, 0)


def test_a_partly_resumed_alignment_says_which_shards_its_counts_cover(tmp_path):
    out = _mosi(tmp_path, "--shard-size", "2")
    (out / "features" / "audio.covarep@text.words" / "part-00001.parquet").unlink()
    result = runner.invoke(app, ["align", str(out), "--reference", "text.words"])
    assert result.exit_code == 0, result.output
    assert re.match(r"reference text\.words: \d+ intervals in the 1 shards aligned now \(2 already done\), ",
                    result.output), result.output


def _doc_commands(page: str, section: str) -> list[list[str]]:
    """The `mmdata` commands of the first bash block after `section` in the page, continuations joined."""
    text = (REPO / page).read_text()
    block = text[text.index(section):].split("```bash\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line, comments=True) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_docs_csd_align_check_fuse_example_runs_as_written(tmp_path, monkeypatch):
    fake = write_mosi_csd(tmp_path / "CMU_MOSI")
    (fake.root / "folds.json").write_text(json.dumps(FOLDS))
    monkeypatch.chdir(tmp_path)
    commands = _doc_commands("docs/temporal.md", "## From `.csd` files to a fused export")
    assert [c[:2] for c in commands] == [["mmdata", "extract"], ["mmdata", "align"], ["mmdata", "export-csd"],
                                         ["mmdata", "check"], ["mmdata", "fuse"]]
    for argv in commands:
        argv = [str(fake.root) if a == "/data/CMU_MOSI" else a for a in argv[1:]]
        result = runner.invoke(app, argv)
        assert result.exit_code == 0, (argv, result.output)
    assert json.loads((tmp_path / "check.json").read_text())["ok"]
    fused = json.loads((tmp_path / "out" / "mosi-fused" / "fused.json").read_text())
    readme_tables = ["audio.covarep@text.words", "text.word-embeddings@text.words", "video.facet-41@text.words"]
    assert (fused["tables"], fused["sequences"]["mode"], fused["format"]) == (readme_tables, "pad", "arrow")
    # The training page's sentiment lines run on the same dataset: a pooled export, then the recipe.
    training = [c for c in _doc_commands("docs/training.md", "# Training recipes") if "out/mosi-pooled" in c]
    assert [c[:3] for c in training] == [["mmdata", "fuse", "out/mosi"], ["mmdata", "train", "sentiment"]]
    for argv in training:
        result = runner.invoke(app, argv[1:])
        assert result.exit_code == 0, (argv, result.output)
