"""Shared checks for corpora of timed sentences (activitynet-captions, charades-sta, didemo, youcook2): what an
extract must hold (each kept segment a samples row with its span, group and caption, a pooled video vector and one
caption vector), and the pattern of the `file:line:column: label` a loader names a bad JSON entry by."""
from __future__ import annotations

import re


def assert_segments_extracted(data, fake, kept: dict[str, tuple]) -> None:
    """`kept`: sample id -> (start, end, group_id) of every segment that loads; `fake.expected` their samples."""
    rows = {r["sample_id"]: r for r in data.samples_table().to_pylist()}
    assert {sid: (r["start"], r["end"], r["group_id"]) for sid, r in rows.items()} == kept
    assert {sid: (r["split"], tuple(r["captions"])) for sid, r in rows.items()} == {
        sid: (fake.expected[sid].split, fake.expected[sid].captions) for sid in kept}
    ids, video = data.to_numpy("video.frames-color-hist-mean")
    assert sorted(ids) == sorted(kept) and video.shape == (len(kept), 48)
    text = data.read_table("text.hashed-bow.caption").to_pylist()
    assert {r["sample_id"]: len(r["feature"]) for r in text} == {sid: 1 for sid in kept}


def location(path, label: str) -> str:
    """The regular expression of a JSON entry's location as a loader names it, `file:line:column: label`.

    Line and column match any number, so a test pins the file and the entry (`label`, e.g. `v_x.timestamps[1]`
    or `database.<video>.annotations[0]`) without depending on how the fake's JSON is laid out."""
    return re.escape(str(path)) + r":\d+:\d+: " + re.escape(label)
