"""docs/dataset-layout.md's column types and reading advice hold for the tables `extract` writes: the feature
column types its table quotes, and pyarrow reading an Arrow IPC table only when told `format="ipc"`."""
from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

import mmdata
from mmdata.sample_data import sample_corpus_dir

REPO = Path(__file__).resolve().parent.parent
LAYOUT = (REPO / "docs" / "dataset-layout.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def arrow_dataset(tmp_path_factory) -> Path:
    """The sample COCO corpus with a pooled, a token and a caption-level token table, as Arrow IPC."""
    out = tmp_path_factory.mktemp("layout") / "coco"
    mmdata.extract("coco", sample_corpus_dir("coco"), out, split="val2017", num_workers=0, table_format="arrow",
                   extractors=["color-hist", "tokens", "tokens:level=caption"])
    return out


def _quoted_type(row: str) -> str:
    """The first type quoted in the `feature` column table's row that starts with `row`."""
    line = next(line for line in LAYOUT.splitlines() if line.startswith(f"| {row} |"))
    return re.findall(r"`([^`]*<[^`]*)`", line)[0]


def _spelled_as_in_the_docs(arrow_type: pa.DataType) -> str:
    """pyarrow's type string without field names, `float` as `float32`, as the docs spell types."""
    text = re.sub(r"\b(element|item): ", "", str(arrow_type))
    return re.sub(r"\bfloat\b", "float32", text)


@pytest.mark.parametrize(("row", "table"), [
    ("pooled", "image.color-hist"),  # dim 48
    ("`tokens`", "text.tokens"),
    ("`tokens:level=caption`", "text.tokens.caption"),
])
def test_feature_columns_have_the_types_the_layout_page_quotes(arrow_dataset, row, table):
    actual = ds.dataset(arrow_dataset / "features" / table, format="ipc").schema.field("feature").type
    assert _spelled_as_in_the_docs(actual) == _quoted_type(row).replace("[dim]", "[48]")


def test_an_arrow_ipc_table_reads_with_format_ipc_as_the_reading_section_says(arrow_dataset):
    table = arrow_dataset / "features" / "image.color-hist"
    assert ds.dataset(table, format="ipc").count_rows() == 8
    with pytest.raises(pa.ArrowInvalid):
        ds.dataset(table)  # pyarrow's default format is Parquet
    reading = LAYOUT.split("## Reading the tables", 1)[1].split("\n## ", 1)[0]
    assert 'format="ipc"' in reading.split("\n- ", 2)[1]
