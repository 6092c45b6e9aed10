"""Run `mmdata` commands in this process for the end-to-end corpus tests (tests/corpora/test_*_extract_end_to_end.py):
`mmdata extract` on a fake corpus, returning the dataset it wrote, and the commands run on that dataset after it
(fuse, train), each failing the test with the command's output unless it exits 0."""
from __future__ import annotations

from collections.abc import Sequence

from click.testing import Result
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.store import open_dataset

#: The features most video corpora of captioned clips are extracted with: a mean-pooled frame vector at 2 fps and
#: a bag of words per caption.
VIDEO_AND_CAPTIONS = ("--video", "video-frames:pool=mean,fps=2", "--text", "hashed-bow:level=caption")
#: The features the captioned audio corpora are extracted with: log-mel and eGeMAPS functionals, and a bag of words
#: per caption.
SOUND_AND_CAPTIONS = ("--audio", "librosa-logmel", "--audio", "egemaps:level=functionals",
                      "--text", "hashed-bow:level=caption")

runner = CliRunner()


def invoke_mmdata(*args: str) -> Result:
    """Run `mmdata <args>` in this process and return its result, whatever its exit code (for refusals)."""
    return runner.invoke(app, [*args])


def run_mmdata(*args: str) -> Result:
    """Run `mmdata <args>` in this process; fail the test, showing what the command printed, unless it exits 0."""
    result = invoke_mmdata(*args)
    assert result.exit_code == 0, result.output
    return result


def run_extract(kind: str, root, out, features: Sequence[str], *options: str):
    """Run `mmdata extract <kind> <root> <out> <features> -j 0 -q <options>` and open the dataset it wrote in `out`.

    `-j 0` starts no decode processes (not worth it for a few tiny files) and `-q` draws no progress bars;
    `options` are the test's own (`--split`, `-o key=value`, ...)."""
    run_mmdata("extract", kind, str(root), str(out), *features, "-j", "0", "-q", *options)
    return open_dataset(out)
