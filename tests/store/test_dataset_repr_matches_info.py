"""What a notebook shows of a dataset (`repr(open_dataset(dir))` and its HTML table) says what `mmdata info`
says of each table: rows, dim (`variable` for token ids, never None), dtype, kind with its frame rate, failed
samples, and which tables are incomplete."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

import mmdata
from mmdata.cli import app
from tests.checks.builder import build_dataset, frames_table, mosi_samples, pooled_table
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()


def info_rows(root) -> dict[str, dict[str, str]]:
    """`mmdata info ROOT`'s table as printed: per table name, its cells by column name (name marks cut off)."""
    result = runner.invoke(app, ["info", str(root)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith(("┃", "│"))]
    header, *rows = ([cell.strip() for cell in line.strip("┃│").replace("┃", "│").split("│")] for line in lines)
    cells = [dict(zip(header, row)) for row in rows]
    return {row["table"].removesuffix(" (incomplete)"): row | {"incomplete": row["table"].endswith(" (incomplete)")}
            for row in cells}


def repr_rows(data) -> dict[str, dict[str, str]]:
    """The dataset's repr, per table name, its cells by column name (two spaces or more part the cells)."""
    header, *rows = (line.strip().split("  ") for line in repr(data).splitlines()[1:])
    header, rows = [h.strip() for h in header if h.strip()], [[c.strip() for c in r if c.strip()] for r in rows]
    return {row[0]: dict(zip(header, row)) for row in rows}


def assert_repr_says_what_info_says(root) -> dict[str, dict[str, str]]:
    shown, told = repr_rows(mmdata.open_dataset(root)), info_rows(root)
    assert shown.keys() == told.keys()
    for name, cells in shown.items():
        info = told[name]
        rows = info["rows"] + (" (incomplete)" if info["incomplete"] else "")
        assert (cells["dim"], cells["dtype"], cells["kind"], cells["rows"], cells["failed"]) == (
            info["dim"], info["dtype"], info["kind"], rows, info["failed"]), name
    return shown


@pytest.fixture(scope="module")
def tokens_dataset(tmp_path_factory):
    """The COCO sample corpus with 4-bin colour histograms and the bundled tokenizer's token ids."""
    tmp = tmp_path_factory.mktemp("repr-tokens")
    mmdata.extract("coco", copy_sample_corpus("coco", tmp), tmp / "ds", extractors=["color-hist:bins=4", "tokens"],
                   num_workers=0)
    return tmp / "ds"


def test_a_token_table_shows_dim_variable_as_info_does(tokens_dataset):
    shown = assert_repr_says_what_info_says(tokens_dataset)
    assert shown["text.tokens"]["dim"] == "variable" and shown["image.color-hist"]["dim"] == "12"
    assert "None" not in repr(mmdata.open_dataset(tokens_dataset))


def test_the_html_table_shows_dim_variable_too(tokens_dataset):
    page = mmdata.open_dataset(tokens_dataset)._repr_html_()
    assert "<td>text.tokens</td><td>variable</td><td>int32</td><td>pooled</td><td>8</td><td>0</td>" in page


def test_frame_rates_rows_and_incomplete_tables_show_as_info_shows_them(tmp_path):
    samples = mosi_samples()
    unfinished = pooled_table("image.p", samples, 3)
    unfinished.complete = False
    root = build_dataset(tmp_path / "ds", samples, [frames_table("audio.f", samples, 2, 100.0), unfinished],
                         corpus_kind="mosi-raw")
    shown = assert_repr_says_what_info_says(root)
    assert shown["audio.f"]["kind"] == "sequence @100 Hz"
    assert shown["image.p"]["rows"].endswith("(incomplete)")
