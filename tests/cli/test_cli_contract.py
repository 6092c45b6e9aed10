"""What every command owes its user: help for every option, the same flags for the same concept, one-line
errors listing the choices, exit statuses, machine-readable output alone on stdout, --version, completion."""
from __future__ import annotations

import inspect
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import mmdata
from mmdata.cli import app
from mmdata.cli.app import command
from mmdata.corpora.base import available_corpora
from mmdata.features.base import available_extractors, get_extractor_class
from mmdata.pipeline import extract
from mmdata.store.layout import DEFAULT_SHARD_SIZE
from tests.cli_errors import one_line_error
from tests.fakes.csd import write_mosi_csd
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()
WIDE = {"COLUMNS": "400"}
REPO = Path(__file__).resolve().parents[2]


def _commands(group=None, words=()):
    """(command words, click command) of every command, sub-commands of `train` included."""
    group = group or typer.main.get_command(app)
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*words, name))
        else:
            yield (*words, name), cmd


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The COCO sample corpus with 4-bin colour histograms and hashed bags of words."""
    tmp = tmp_path_factory.mktemp("contract")
    corpus = copy_sample_corpus("coco", tmp)
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp / "ds"), "--image", "color-hist:bins=4",
                                 "--text", "hashed-bow", "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    return tmp / "ds"


@pytest.fixture(scope="module")
def mosi(tmp_path_factory):
    """A fake CMU-MOSI .csd folder and the dataset extracted from it: (corpus folder, dataset)."""
    tmp = tmp_path_factory.mktemp("contract-csd")
    fake = write_mosi_csd(tmp / "CMU_MOSI")
    extract("csd", fake.root, tmp / "ds", extractors=[], num_workers=0)
    return fake.root, tmp / "ds"


# --- help -------------------------------------------------------------------------------------------

def test_every_command_and_every_option_has_help_text():
    missing = [(" ".join(words), param.name) for words, cmd in _commands() for param in cmd.params
               if not getattr(param, "help", None)]
    assert missing == []
    assert all(cmd.help for _, cmd in _commands())


@pytest.mark.parametrize(("concept", "flags"), [
    ("--force", {"--force"}),
    ("--quiet", {"--quiet", "-q"}),
    ("--num-workers", {"--num-workers", "-j"}),
    ("--split", {"--split", "-s"}),
    ("--out", {"--out", "-o"}),
    ("--table", {"--table", "--tables", "-t"}),
])
def test_the_same_concept_has_the_same_flags_in_every_command(concept, flags):
    found = {" ".join(words): set(p.opts) for words, cmd in _commands() for p in cmd.params
             if concept in p.opts or (concept == "--table" and "--tables" in p.opts)}
    assert found, concept
    assert {name: opts for name, opts in found.items() if opts != flags} == {}


def test_extract_help_lists_the_registered_corpus_kinds_extractors_and_the_real_defaults():
    result = runner.invoke(app, ["extract", "--help"], env=WIDE)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert f"Corpus kind ({', '.join(available_corpora())})" in text
    options = {p.name: p.help for p in dict(_commands())[("extract",)].params}
    for modality in ("image", "text", "audio", "video"):
        shipped = [n for n in available_extractors(modality) if get_extractor_class(n).__module__.startswith("mmdata.")]
        assert shipped and all(n in options[modality] for n in shipped), (modality, options[modality])
    assert f"(default: {inspect.signature(extract).parameters['batch_size'].default})" in text
    assert f"(default: {DEFAULT_SHARD_SIZE})" in text
    assert "skip (default)" in text and "parquet (default)" in text


# --- errors and exit statuses -----------------------------------------------------------------------

@pytest.mark.parametrize(("args", "choices"), [
    (["--format", "parqet"], "['parquet', 'arrow', 'hf', 'npy']"),
    (["--missing", "zeros"], "['error', 'zero', 'drop']"),
    (["--normalize", "zcore"], "['zscore', 'l2', 'none']"),
    (["--normalize", "image=zcore"], "['zscore', 'l2', 'none']"),
    (["--sequences", "padd"], "['pool', 'pad', 'ragged']"),
    (["--pool", "avg"], "['mean', 'max', 'first', 'last']"),
    (["--non-finite", "skip"], "['error', 'missing']"),
])
def test_a_typo_in_a_fuse_choice_is_a_one_line_error_listing_the_choices(dataset, tmp_path, args, choices):
    line = one_line_error(runner.invoke(app, ["fuse", str(dataset), str(tmp_path / "fused"), *args]))
    assert f"'{args[1].partition('=')[2] or args[1]}' is not one of {choices}" in line
    assert not (tmp_path / "fused").exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["--on-error", "skp"], "--on-error must be skip or fail, got 'skp'"),
    (["--table-format", "parqet"], "--table-format must be one of ['arrow', 'parquet'], got 'parqet'"),
    (["--executor", "rya"], "unknown executor 'rya'; expected 'local' (process pool) or 'ray' (Ray Data)"),
    (["--image", "hashed-bow"], "extractor 'hashed-bow' is for text, not image; image extractors: ['clip', 'color-hist',"),
    (["--text", "color-hist"], "extractor 'color-hist' is for image, not text; text extractors: ['clip-text', 'hashed-bow',"),
    (["--address", "auto"], "--address auto joins a Ray cluster; it needs --executor ray"),
])
def test_a_bad_extract_option_is_a_one_line_error_before_anything_is_written(tmp_path, args, expected):
    corpus = copy_sample_corpus("coco", tmp_path)
    line = one_line_error(runner.invoke(app, ["extract", "coco", str(corpus), str(tmp_path / "out"), "-q", *args]))
    assert expected in line
    assert not (tmp_path / "out").exists()


def test_the_command_decorator_turns_ctrl_c_into_one_line_and_exit_130():
    group = typer.Typer()

    @command("wait", group=group)
    def wait() -> None:
        """Stand for a long command that the user interrupts."""
        raise KeyboardInterrupt

    @command("other", group=group)
    def other() -> None:
        """A second command, so that the group keeps its command names."""

    result = runner.invoke(group, ["wait"])
    assert (result.exit_code, result.stderr, result.stdout) == (130, "interrupted\n", "")


def test_ctrl_c_during_an_extraction_says_what_is_kept_and_exits_130(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.Popen([sys.executable, "-m", "mmdata", "demo", str(out), "-j", "0", "-q"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "coco" / "samples").is_dir() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)  # the samples table is written; MiniLM is loading or running
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (stdout, stderr)
    assert stderr.strip().splitlines()[-1] == (f"interrupted: the finished shards in {out} are kept; run the same "
                                               "command again to resume")
    assert "Traceback" not in stderr


# --- output streams ---------------------------------------------------------------------------------

def test_check_json_dash_writes_the_json_report_alone_on_stdout(dataset, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", str(dataset), "--json", "-"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] and sorted(report["tables"]) == ["image.color-hist", "text.hashed-bow"]
    assert "ok: 0 errors" in result.stderr  # the human-readable report goes to stderr
    assert not (tmp_path / "-").exists()


def test_check_json_dash_keeps_exit_1_when_the_check_finds_errors(mosi):
    result = runner.invoke(app, ["check", str(mosi[1]), "--json", "-", "--label-range", "0,1"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert not report["ok"] and "label-range" in {issue["code"] for issue in report["issues"]}
    assert "label-range" in result.stderr


def test_table_options_take_a_comma_list_as_fuse_align_and_segment_do(dataset, mosi, tmp_path):
    result = runner.invoke(app, ["check", str(dataset), "--json", "-", "-t", "image.color-hist,text.hashed-bow"])
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.stdout)["tables"]) == ["image.color-hist", "text.hashed-bow"]
    result = runner.invoke(app, ["export-csd", str(mosi[1]), str(tmp_path / "csd"), "--no-labels",
                                 "--tables", "audio.covarep,video.facet-41"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "csd").iterdir()) == ["CMU_MOSI_COVAREP.csd", "CMU_MOSI_Visual_Facet_41.csd"]


def test_fuse_takes_its_export_directory_as_o_like_share_and_report(dataset, tmp_path):
    result = runner.invoke(app, ["fuse", str(dataset), "-o", str(tmp_path / "fused"), "-t", "image",
                                 "--normalize", "none"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fused" / "fused.json").is_file()


def test_export_csd_does_not_replace_the_corpus_files_without_force(mosi):
    corpus, ds = mosi
    before = {p.name: p.read_bytes() for p in corpus.glob("*.csd")}
    for force in ([], ["--force"]):  # the corpus folder is refused with or without --force
        line = one_line_error(runner.invoke(app, ["export-csd", str(ds), str(corpus), *force]))
        assert line.startswith(f"error: {corpus} is the corpus folder {ds} was read from") and "--force" not in line
    assert {p.name: p.read_bytes() for p in corpus.glob("*.csd")} == before


def test_export_csd_does_not_replace_csd_files_of_another_folder_without_force(mosi, tmp_path):
    target = tmp_path / "csd"
    assert runner.invoke(app, ["export-csd", str(mosi[1]), str(target)]).exit_code == 0
    line = one_line_error(runner.invoke(app, ["export-csd", str(mosi[1]), str(target)]))
    assert line.startswith(f"error: CSD_DIR {target} already holds .csd files (e.g. CMU_MOSI_COVAREP.csd)")
    assert line.endswith("pass force=True (--force)")


def test_export_csd_force_writes_into_a_folder_holding_csd_files(mosi, tmp_path):
    target = tmp_path / "csd"
    assert runner.invoke(app, ["export-csd", str(mosi[1]), str(target)]).exit_code == 0
    again = runner.invoke(app, ["export-csd", str(mosi[1]), str(target), "--force"])
    assert again.exit_code == 0, again.output
    assert f"wrote {target / 'CMU_MOSI_COVAREP.csd'}" in again.stdout


# --- version, completion, python -m -----------------------------------------------------------------

def test_version_prints_the_package_version():
    result = runner.invoke(app, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"mmdata {mmdata.__version__}\n")


def test_python_m_mmdata_is_the_same_command_line():
    done = subprocess.run([sys.executable, "-m", "mmdata", "--version"], capture_output=True, text=True, cwd=REPO)
    assert (done.returncode, done.stdout) == (0, f"mmdata {mmdata.__version__}\n")
    done = subprocess.run([sys.executable, "-m", "mmdata", "fuse", "--format"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2 and "Option '--format' requires an argument" in done.stderr


@pytest.mark.parametrize(("words", "expected"), [
    ("mmdata ex", ["extract", "export-csd"]),
    ("mmdata export-csd DS OUT --keys ", ["sample", "sdk"]),
    ("mmdata train ", ["sentiment", "retrieval", "classify", "cross-validate", "demo"]),
])
def test_shell_completion_completes_commands_and_choices(words, expected):
    env = {"_MMDATA_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
    result = runner.invoke(app, [], prog_name="mmdata", env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == expected


def test_the_completion_script_calls_mmdata_back(monkeypatch):
    # Typer detects the shell from the parent processes, which fails without a terminal (CI): with
    # detection off, --show-completion takes the shell as its value.
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    result = runner.invoke(app, ["--show-completion", "bash"], prog_name="mmdata")
    assert result.exit_code == 0, result.output
    assert "_MMDATA_COMPLETE=complete_bash" in result.stdout and "complete -o default -F _mmdata_completion mmdata" in result.stdout
