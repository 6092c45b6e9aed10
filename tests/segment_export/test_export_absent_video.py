"""A video none of whose segments has a row in a table gets no key in that table's file: export-csd says
that reading the folder back leaves the video out of every table (the SDK's unify does the same)."""
from __future__ import annotations

from mmdata.formats.csd import CsdFile
from mmdata.formats.csd_export import export_csd
from tests.fakes.csd import WORDS_FILE
from tests.segment_export.corpus import segmented


def test_a_video_without_any_row_in_a_table_is_named_in_a_warning(tmp_path):
    # vA's one segment lies in the gap between its words "loved" (to 2.5 s) and "it" (from 3.0 s)
    out, _ = segmented(tmp_path, {"vA": [(2.55, 2.95, 1.0)], "vB": [(0.0, 1.5, 0.0)]})
    export = export_csd(out, tmp_path / "back", labels=False)
    with CsdFile(tmp_path / "back" / WORDS_FILE) as words:
        assert words.video_ids == ["vB[0]"]
    [warning] = [w for w in export.warnings if "no feature at all" in w]
    assert "1 videos have no feature at all in table text.words and no key in the file (vA)" in warning
    assert "leaves such a video out of every table" in warning
