"""A manifest corpus of small real JPEGs with captions that a test grows (or edits) between extracts."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from mmdata.store import open_dataset
from tests.fakes import write_jpeg

MANIFEST = "manifest.jsonl"


def image_row(sample_id: str, seed: int, split: str = "train") -> dict:
    return {"id": sample_id, "image": f"images/{sample_id}.jpg", "caption": f"picture number {seed} of a {sample_id}",
            "split": split}


def write_corpus(root: Path, rows: list[dict]) -> Path:
    """`root/manifest.jsonl` naming `rows`, and a JPEG for each (seeded by its place)."""
    for seed, row in enumerate(rows):
        if not (root / row["image"]).is_file():
            write_jpeg(root / row["image"], seed=seed + 1, size=(12, 10))
    (root / MANIFEST).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


def first_rows(count: int) -> list[dict]:
    """`count` samples with ids sorting from m-00 on (new ones in tests sort before or among them)."""
    return [image_row(f"m-{i:02d}", i, "train" if i % 3 else "val") for i in range(count)]


def table_by_id(dataset_dir: Path, name: str) -> dict[str, object]:
    """{sample id: feature} of a table (None for a failed item)."""
    table = open_dataset(dataset_dir).read_table(name, ["sample_id", "feature"])
    return dict(zip(table.column("sample_id").to_pylist(), table.column("feature").to_pylist()))


def samples(dataset_dir: Path) -> pa.Table:
    return open_dataset(dataset_dir).samples_table()


def file_states(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """{relative path: (mtime_ns, inode, bytes)} of every file under `folder` (hidden ones included)."""
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_ino, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}
