"""`verify` reads every name `checksum` writes (GNU escapes) and the files `sha256sum` itself writes."""
from __future__ import annotations

import hashlib
import subprocess

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.share import verify_checksums, write_checksums
from mmdata.share.checksums import checksum_line, read_checksums

runner = CliRunner()
SHA256SUM = "sha256sum"  # GNU coreutils (scripts/install.sh installs it where missing)
ODD_NAMES = ["line\nbreak.txt", "a\u2028b.txt", "c\x1cd.txt", "back\\slash.txt", "carriage\rreturn.txt",
             "ends with cr\r", "\\leading.txt", "a\u0085b\u2029c.txt"]


def _verify(folder):
    return runner.invoke(app, ["verify", str(folder)])


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def odd_names(shared):
    for i, name in enumerate(ODD_NAMES):
        (shared / name).write_bytes(b"x" * i)
    result = runner.invoke(app, ["checksum", str(shared)])
    assert result.exit_code == 0, result.output
    return shared


def test_names_with_line_breaks_and_backslashes_verify_after_checksum(odd_names):
    result = _verify(odd_names)
    assert result.exit_code == 0, result.output
    assert "ok: 13 files match" in result.stdout  # the share's 5 files and the 8 odd names
    assert set(ODD_NAMES) <= set(read_checksums(odd_names / "checksums.sha256"))


def test_an_odd_name_altered_is_named(odd_names):
    (odd_names / "line\nbreak.txt").write_bytes(b"changed")
    assert verify_checksums(odd_names).altered == ["line\nbreak.txt"]


def test_sha256sum_checks_the_file_and_writes_the_same_lines(odd_names):
    check = subprocess.run([SHA256SUM, "--check", "--strict", "--quiet", "checksums.sha256"], cwd=odd_names,
                           capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    gnu = subprocess.run([SHA256SUM, "--", *ODD_NAMES], cwd=odd_names, capture_output=True, check=True).stdout
    ours = (odd_names / "checksums.sha256").read_bytes()
    assert set(gnu.splitlines(keepends=True)) <= set(ours.splitlines(keepends=True))


def test_the_line_format_is_gnu_sha256sums():
    digest = "0" * 64
    assert checksum_line("plain name.txt", digest) == f"{digest}  plain name.txt\n"
    assert checksum_line("a\\b\nc\rd", digest) == f"\\{digest}  a\\\\b\\nc\\rd\n"
    assert checksum_line("a\u2028b", digest) == f"{digest}  a\u2028b\n"  # only \\, \n and \r are escaped


def test_find_exec_sha256sum_output_verifies(shared):
    (shared / "checksums.sha256").unlink()
    listing = subprocess.run(f"find . -type f -exec {SHA256SUM} {{}} +", shell=True, cwd=shared, capture_output=True,
                             check=True).stdout
    assert listing.count(b"  ./") == 5
    (shared / "checksums.sha256").write_bytes(listing)
    result = _verify(shared)
    assert result.exit_code == 0, result.output
    assert "ok: 5 files match" in result.stdout


def test_a_listing_naming_tool_files_and_itself_verifies(shared):
    (shared / "checksums.sha256").unlink()
    (shared / ".gitattributes").write_text("*.parquet filter=lfs\n")  # what the Hub and `hf download` leave
    (shared / ".cache" / "huggingface").mkdir(parents=True)
    (shared / ".cache" / "huggingface" / "meta").write_text("x")
    # written into the folder, so `find` lists the (empty) checksums file itself too
    subprocess.run(f"find . -type f -exec {SHA256SUM} {{}} + > checksums.sha256", shell=True, cwd=shared, check=True)
    assert b"./.gitattributes" in (shared / "checksums.sha256").read_bytes()
    result = _verify(shared)
    assert result.exit_code == 0, result.output
    assert "ok: 5 files match" in result.stdout


def test_dot_slash_paths_uppercase_hex_binary_marker_bom_and_crlf_are_read(shared):
    path = shared / "checksums.sha256"
    lines = path.read_text().splitlines()
    rewritten = []
    for i, line in enumerate(lines):
        digest, name = line.split("  ", 1)
        marker = "*" if i % 2 else " "
        rewritten.append(f"{digest.upper()} {marker}./{name}\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + "".join(rewritten).encode())
    assert verify_checksums(shared).ok
    assert all(d == d.lower() for d in read_checksums(path).values())


def test_the_summary_counts_files_not_problem_lines(shared):
    (shared / "README.md").unlink()
    (shared / "notes.txt").write_text("extra\n")
    result = _verify(shared)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["missing: README.md", "extra: notes.txt"]
    assert "error: 2 files differ" in result.stderr


def test_a_checksums_path_that_is_a_directory_is_named_as_one(shared):
    (shared / "checksums.sha256").unlink()
    (shared / "checksums.sha256").mkdir()
    result = _verify(shared)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {shared / 'checksums.sha256'} is a directory; expected the checksums.sha256 file `mmdata checksum` "
        f"writes; remove or rename that directory, then write the file with `mmdata checksum {shared}`")


@pytest.mark.parametrize("line", ["\\" + "0" * 64 + "  bad\\tescape", "\\" + "0" * 64 + "  trailing\\",
                                  "0" * 63 + "  short digest", "0" * 64 + "no separator"])
def test_a_line_that_is_not_a_checksum_is_still_damaged(tmp_path, line):
    (tmp_path / "checksums.sha256").write_text(line + "\n")
    with pytest.raises(DatasetError, match=r"checksums.sha256:1: expected '<64 hex digits>  <relative path>'"):
        read_checksums(tmp_path / "checksums.sha256")


def test_an_old_unescaped_backslash_name_still_reads(tmp_path):
    (tmp_path / "a\\b.txt").write_bytes(b"x")
    (tmp_path / "checksums.sha256").write_text(f"{_sha(b'x')}  a\\b.txt\n")  # as mmdata wrote it before escaping
    assert verify_checksums(tmp_path).ok


def test_write_then_read_round_trips_every_odd_name(tmp_path):
    for i, name in enumerate(ODD_NAMES):
        (tmp_path / name).write_bytes(bytes([i]))
    sums = read_checksums(write_checksums(tmp_path))
    assert sums == {name: _sha(bytes([i])) for i, name in enumerate(ODD_NAMES)}
