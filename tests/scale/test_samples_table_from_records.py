"""The samples table built from a loader's records: one row per sample, sorted by id, every field as
the record holds it, `extra` as sorted-key JSON text (null when empty)."""
from __future__ import annotations

import json

from mmdata.records import SAMPLES_SCHEMA, Sample, samples_to_table


def _samples() -> list[Sample]:
    return [
        Sample("b-clip", "manifest", split="train", group_id="v1", video="videos/v1.mp4", audio="a/v1.wav", start=1.5,
               end=4.0, transcript="hello there", label=-0.5,
               extra={"zeta": [1, 2.5, None], "alpha": {"é": "café", "b": True}, "media_start": 1.4}),
        Sample("a-image", "coco", split="val2017", group_id="397133", image="val2017/000000397133.jpg",
               captions=("A man in a kitchen.", "Pizza on a table."), extra={"image_id": 397133, "caption_ids": [370, None]}),
        Sample("c-text", "manifest", captions=("only text",)),
        Sample("a-empty-extra", "manifest", image="x.png", extra={}),
    ]


def test_rows_are_sorted_by_id_with_every_field_of_the_record():
    table = samples_to_table(_samples())
    assert table.schema.equals(SAMPLES_SCHEMA)
    rows = {row["sample_id"]: row for row in table.to_pylist()}
    assert table.column("sample_id").to_pylist() == ["a-empty-extra", "a-image", "b-clip", "c-text"]
    assert rows["b-clip"] == {
        "sample_id": "b-clip", "corpus": "manifest", "split": "train", "group_id": "v1", "image": None,
        "audio": "a/v1.wav", "video": "videos/v1.mp4", "start": 1.5, "end": 4.0, "captions": [],
        "transcript": "hello there", "label": -0.5,
        "extra": '{"alpha": {"b": true, "\\u00e9": "caf\\u00e9"}, "media_start": 1.4, "zeta": [1, 2.5, null]}',
    }
    assert rows["a-image"]["captions"] == ["A man in a kitchen.", "Pizza on a table."]
    assert rows["c-text"]["split"] == "all" and rows["c-text"]["captions"] == ["only text"]


def test_extra_is_the_text_json_dumps_with_sorted_keys_writes_and_null_when_empty():
    samples = _samples()
    extras = dict(zip(samples_to_table(samples).column("sample_id").to_pylist(),
                      samples_to_table(samples).column("extra").to_pylist()))
    for sample in samples:
        expected = json.dumps(sample.extra, sort_keys=True) if sample.extra else None
        assert extras[sample.sample_id] == expected
    assert extras["a-empty-extra"] is None and extras["c-text"] is None


def test_samples_with_equal_ids_keep_their_given_order_and_none_gives_an_empty_table():
    first = Sample("same", "manifest", image="1.jpg")
    second = Sample("same", "manifest", image="2.jpg")
    assert samples_to_table([first, second]).column("image").to_pylist() == ["1.jpg", "2.jpg"]
    empty = samples_to_table([])
    assert empty.num_rows == 0 and empty.schema.equals(SAMPLES_SCHEMA)
