"""Local executor: a `compute` that crashes the process ends the run, and stderr says where it was."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.reliability.fake_coco import write_fake_coco

REPO = Path(__file__).resolve().parents[2]

#: Runs the extraction in a process of its own (the crash ends it); the extractor is given as an
#: instance, decoded in this process (-j 0) and computed here, as the local executor always does.
PROGRAM = textwrap.dedent("""
    import sys
    from mmdata.pipeline import extract
    from tests.compute_crash.segfaulting_extractor import SegfaultingCompute

    extract("coco", sys.argv[1], sys.argv[2], extractors=[SegfaultingCompute()], num_workers=0, batch_size=4)
""")


def test_a_compute_that_segfaults_names_its_table_and_samples_on_stderr(tmp_path):
    corpus = write_fake_coco(tmp_path / "corpus", 6)
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(corpus.root), str(tmp_path / "out")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Fatal Python error: Segmentation fault" in done.stderr, done.stderr
    # The frame that called `compute` is named after the batch: its table and first and last sample ids.
    assert "mmdata computing table 'image.test-segfaulting-compute', samples '" in done.stderr, done.stderr
    assert "(4 samples)" in done.stderr, done.stderr


def test_the_breadcrumb_names_one_sample_or_the_ends_of_a_batch():
    from mmdata.executors import computing_what
    from tests.compute_crash.segfaulting_extractor import SegfaultingCompute

    extractor = SegfaultingCompute()
    assert computing_what(extractor, [{"sample_id": "a"}]).endswith("samples 'a'")
    assert computing_what(extractor, [{"sample_id": "a"}, {"sample_id": "b"}, {"sample_id": "c"}]).endswith(
        "samples 'a' .. 'c' (3 samples)")


def test_compute_leaves_faulthandler_as_it_found_it():
    import faulthandler

    from mmdata.executors import ItemResult, compute_batch
    from tests.fakes.extractors import PassThrough

    class Echo(PassThrough):
        name = "test-echo"
        modality = "image"

        def decode(self, row, corpus_root):
            return 1.0

    was = faulthandler.is_enabled()
    out = compute_batch(Echo(), [ItemResult("a", True, 1.0)], [{"sample_id": "a"}])
    assert [r.value for r in out] == [1.0]
    assert faulthandler.is_enabled() == was
