"""Arrow's default memory pool in a process that imports mmdata first (`environment.prefer_jemalloc_arrow_pool`).

The suite runs on Linux, as its install script does (apt-get, /proc); the choice on other platforms
is tested with the platform's name replaced."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pyarrow.parquet as pq
import pytest

from tests.checks.builder import build_dataset, image_text_samples, pooled_table

def _python(script: str, *args: str, **env: str) -> str:
    """stdout of `script` in a fresh interpreter, ARROW_DEFAULT_MEMORY_POOL unset unless given in `env`."""
    environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"} | env
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=environ, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_mmdata_before_pyarrow_makes_jemalloc_the_default_pool():
    assert _python("import mmdata, pyarrow as pa; print(pa.default_memory_pool().backend_name)") == "jemalloc"


def test_a_pool_the_user_chose_is_kept():
    script = "import mmdata, pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    assert _python(script, ARROW_DEFAULT_MEMORY_POOL="system") == "system"


def test_a_parquet_export_builds_its_pages_outside_mimalloc(tmp_path):
    """The column writers allocate from Arrow's default pool whatever pool the writer is given:
    in a process that imported mmdata first, that is jemalloc, and mimalloc allocates nothing."""
    samples = image_text_samples()
    image = replace(pooled_table("image.a", samples, 512), table_format="arrow")
    root = build_dataset(tmp_path / "ds", samples, [image], shard_size=5)
    script = (
        "import sys; from mmdata.fusion import fuse; import pyarrow as pa\n"
        "fuse(sys.argv[1], sys.argv[2], normalize='none')\n"
        "print(pa.mimalloc_memory_pool().total_bytes_allocated(), pa.jemalloc_memory_pool().total_bytes_allocated())\n"
    )
    mimalloc, jemalloc = map(int, _python(script, str(root), str(tmp_path / "out")).split())
    assert mimalloc == 0
    assert jemalloc >= 4 * 512 * len(samples)
    rows = sum(pq.read_metadata(f).num_rows for f in (tmp_path / "out" / "data").glob("*.parquet"))
    assert rows == len(samples)


@pytest.mark.parametrize("header", ["with", "without", "none"])
def test_jemalloc_is_asked_for_only_when_this_pyarrow_was_built_with_it(monkeypatch, tmp_path, header):
    """A pyarrow built without jemalloc would print a warning about the variable at every start."""
    from mmdata import environment

    config = tmp_path / "config.h"
    config.write_text("#define ARROW_MIMALLOC\n" + ("#define ARROW_JEMALLOC\n#define ARROW_JEMALLOC_VENDORED\n" if header == "with" else ""))
    monkeypatch.setattr(environment, "_arrow_config_header", lambda: None if header == "none" else config)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "restored after the test")  # so that the end restores it
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL")
    environment.prefer_jemalloc_arrow_pool()
    assert os.environ.get("ARROW_DEFAULT_MEMORY_POOL") == ("jemalloc" if header == "with" else None)


def test_the_installed_pyarrow_is_found_to_have_jemalloc_without_importing_it():
    script = "import sys; from mmdata import environment as e; print(e._pyarrow_has_jemalloc(), 'pyarrow' in sys.modules)"
    assert _python(script) == "True False"


def test_jemalloc_is_not_asked_for_off_linux(monkeypatch):
    from mmdata import environment

    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "restored after the test")
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL")
    environment.prefer_jemalloc_arrow_pool()
    assert "ARROW_DEFAULT_MEMORY_POOL" not in os.environ
