"""`--on-error fail` with the Ray executor reports the failed item as the local executor does: an
ExtractionError naming the sample and its file (the CLI: `error: sample ...`, exit status 2), only
whole shards kept, and Ray left usable, or shut down cleanly where the executor started it.

The in-process test uses the session's Ray (`ray_session`). Where the executor starts Ray itself, it
also shuts it down when the run stops mid-way, which used to end the process from inside Ray (exit
1, `core_worker_process.cc: The core worker has already been shutdown`, the error never reported):
Ray Data's prefetching threads were still running. That path runs in a subprocess, which starts and
stops its own Ray instances.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ExtractionError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from mmdata.store.moments import MOMENTS_DIR
from tests.reliability.fake_coco import write_broken_coco

TABLE = "image.color-hist"
SHARD_SIZE = 3
#: The first broken image is the 8th sample: shards 0 and 1 are whole before it, shard 2 holds it.
FIRST_BROKEN = 7
#: Far more than the subprocess takes (three Ray starts, about 30 s on 2 CPUs); past it, it is taken as hung.
SUBPROCESS_TIMEOUT_S = 240


def broken_corpus(root: Path):
    corpus = write_broken_coco(root, first=FIRST_BROKEN)
    first_bad = corpus.ids[FIRST_BROKEN]
    assert first_bad in corpus.broken and not set(corpus.ids[:FIRST_BROKEN]) & set(corpus.broken)
    return corpus, first_bad


def whole_shards(out: Path) -> list[tuple[str, int]]:
    table_dir = out / "features" / TABLE
    return [(p.name, pq.read_metadata(p).num_rows) for p in sorted(table_dir.iterdir()) if p.name != MOMENTS_DIR]


def expected_shards() -> list[tuple[str, int]]:
    return [(f"part-{i:05d}.parquet", SHARD_SIZE) for i in range(FIRST_BROKEN // SHARD_SIZE)]


def test_on_error_fail_names_the_item_and_a_later_run_resumes(ray_session, tmp_path):
    corpus, first_bad = broken_corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    args = dict(extractors=["color-hist"], shard_size=SHARD_SIZE, executor="ray")
    before = set(threading.enumerate())
    with pytest.raises(ExtractionError, match=rf"sample '{first_bad}' \(val2017/{first_bad}\.jpg\): decode failed"):
        extract("coco", corpus.root, out, on_error="fail", **args)
    # The abandoned Ray Data iteration's threads (its prefetcher included) have ended: none is left
    # to touch Ray after it is shut down.
    assert [t.name for t in set(threading.enumerate()) - before] == []
    assert whole_shards(out) == expected_shards()
    assert not open_dataset(out).entry(TABLE).complete
    assert ray_session.is_initialized()  # not the executor's to shut down
    cli = CliRunner().invoke(app, ["extract", "coco", str(corpus.root), str(tmp_path / "cli"), "--image", "color-hist",
                                   "--shard-size", str(SHARD_SIZE), "--executor", "ray", "--on-error", "fail", "-q"])
    assert cli.exit_code == 2, cli.output
    assert f"error: sample '{first_bad}' (val2017/{first_bad}.jpg): decode failed" in cli.output

    report = extract("coco", corpus.root, out, on_error="skip", **args)  # Ray still runs extractions
    table = report.tables[0]
    assert (table.rows, table.errors) == (40, len(corpus.broken))
    assert table.shards_written == -(-40 // SHARD_SIZE) - len(expected_shards())
    extract("coco", corpus.root, tmp_path / "local", extractors=["color-hist"], shard_size=SHARD_SIZE, num_workers=0)
    ray_rows, local_rows = open_dataset(out), open_dataset(tmp_path / "local")
    assert ray_rows.table(TABLE).to_table().equals(local_rows.table(TABLE).to_table())
    assert ray_rows.errors().equals(local_rows.errors())


#: Run in a subprocess, where each executor starts Ray itself and shuts it down when it closes.
SCRIPT = textwrap.dedent("""
    import os, signal, sys

    import ray

    from mmdata import ray_executor
    from mmdata.cli import main
    from mmdata.errors import ExtractionError
    from mmdata.pipeline import extract

    corpus, out, shard_size = sys.argv[1], sys.argv[2], sys.argv[3]

    # 1. The library: the failed item reaches the caller as an ExtractionError, Ray is shut down.
    try:
        extract("coco", corpus, out, extractors=["color-hist"], shard_size=int(shard_size), executor="ray",
                on_error="fail")
    except ExtractionError as e:
        print("raised:", e, flush=True)
    print("ray running after the failure:", ray.is_initialized(), flush=True)

    # 2. The command line, in the same process: Ray starts again and the run resumes.
    cli = ["mmdata", "extract", "coco", corpus, "--image", "color-hist", "--shard-size", shard_size,
           "--executor", "ray", "-q"]
    sys.argv = [*cli, out]
    try:
        main()
    except SystemExit as e:
        print("exit:", e.code, flush=True)
    print("ray running after the run:", ray.is_initialized(), flush=True)

    # 3. SIGTERM mid-run goes through the command's clean-up (exit status 128 + 15), not Ray's handler.
    take, taken = ray_executor._ResultStream.take, []

    def take_then_terminate(self, rows):
        taken.append(rows)
        if len(taken) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return take(self, rows)

    ray_executor._ResultStream.take = take_then_terminate
    sys.argv = [*cli, out + "-terminated"]
    main()
    print("not terminated", flush=True)
""")


def test_ray_started_by_the_executor_reports_the_failure_and_shuts_down_cleanly(tmp_path):
    corpus, first_bad = broken_corpus(tmp_path / "corpus")
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["HF_HUB_OFFLINE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parents[2]), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, str(script), str(corpus.root), str(out), str(SHARD_SIZE)],
                            capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S, env=env)
    output = result.stdout + result.stderr
    assert "core worker has already been shutdown" not in output
    assert "SIGTERM received" not in output  # Ray's stack dump: its handler replaced the command's
    assert result.returncode == 128 + 15, output
    stdout = result.stdout
    assert f"raised: sample '{first_bad}' (val2017/{first_bad}.jpg): decode failed" in stdout, output
    written, kept = -(-40 // SHARD_SIZE) - len(expected_shards()), len(expected_shards())
    steps = ["ray running after the failure: False",
             f"table {TABLE}: 40 rows, {len(corpus.broken)} failed ({written} shards written, {kept} already done)",
             "exit: 0", "ray running after the run: False"]
    at = [stdout.find(step) for step in steps]
    assert -1 not in at and at == sorted(at), output
    assert "not terminated" not in stdout
    assert open_dataset(out).entry(TABLE).complete
    terminated = open_dataset(Path(f"{out}-terminated"))  # stopped at its second batch
    assert TABLE not in terminated.manifest.tables or not terminated.entry(TABLE).complete
