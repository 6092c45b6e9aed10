"""`mmdata extract ... --update` on a COCO corpus that gained images: it says what it added, computes the
named tables' rows for them, leaves the others incomplete (as `info` and `check` say), and refuses a corpus
whose earlier images changed in one `error:` line."""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.store import open_dataset
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()
CAPTIONS = Path("annotations") / "captions_val2017.json"
#: The sample corpus's images 128, 135 and 142 are the ones it gains; 149 sorts after them, and stays.
ADDED_IDS = (128, 135, 142)


def shrunk_coco(tmp_path: Path) -> tuple[Path, dict]:
    """The sample COCO corpus without `ADDED_IDS` in its captions file, and that file's whole content."""
    corpus = copy_sample_corpus("coco", tmp_path)
    whole = json.loads((corpus / CAPTIONS).read_text(encoding="utf-8"))
    shrunk = dict(whole, images=[i for i in whole["images"] if i["id"] not in ADDED_IDS],
                  annotations=[a for a in whole["annotations"] if a["image_id"] not in ADDED_IDS])
    (corpus / CAPTIONS).write_text(json.dumps(shrunk), encoding="utf-8")
    return corpus, whole


def extract(*args: str):
    return runner.invoke(app, ["extract", *args, "--shard-size", "3", "-j", "0", "-q"])


def test_update_adds_the_images_a_coco_corpus_gained(tmp_path):
    corpus, whole = shrunk_coco(tmp_path)
    out = tmp_path / "out"
    assert extract("coco", str(corpus), str(out), "--image", "color-hist:bins=4", "--image", "pixel-stats").exit_code == 0
    (corpus / CAPTIONS).write_text(json.dumps(whole), encoding="utf-8")
    plain = extract("coco", str(corpus), str(out), "--image", "color-hist:bins=4")
    assert "the corpus is not read again (--update adds the samples it gained since)" in plain.output
    result = extract("coco", str(corpus), str(out), "--image", "color-hist:bins=4", "--update")
    assert result.exit_code == 0, result.output
    assert "samples: 8" in result.output and "3 added from the corpus, after the 5 there were" in result.output
    assert "table image.color-hist: 8 rows, 0 failed (2 shards written, 1 already done)" in result.output
    assert "incomplete: image.pixel-stats (no rows for the added samples yet" in result.output
    ids = open_dataset(out).samples_table(["sample_id"]).column(0).to_pylist()
    assert ids == [f"{i:012d}" for i in (100, 107, 114, 121, 149, *ADDED_IDS)]
    info = runner.invoke(app, ["info", str(out)])  # its partial shard went with the samples shard it paired with
    assert "image.pixel-stats is incomplete (3 of 8 rows" in info.output
    assert runner.invoke(app, ["check", str(out)]).exit_code == 1  # the incomplete table is an error
    one_shot = tmp_path / "one-shot"
    assert extract("coco", str(corpus), str(one_shot), "--image", "color-hist:bins=4").exit_code == 0
    ours, theirs = (open_dataset(d).read_table("image.color-hist").to_pylist() for d in (out, one_shot))
    assert sorted(ours, key=lambda r: r["sample_id"]) == theirs
    again = extract("coco", str(corpus), str(out), "--image", "pixel-stats", "--update")
    assert "up to date with the corpus: no sample to add" in again.output
    assert "table image.pixel-stats: 8 rows, 0 failed (2 shards written, 1 already done)" in again.output
    assert runner.invoke(app, ["check", str(out)]).exit_code == 0


def test_an_earlier_image_with_another_caption_is_refused_in_one_line(tmp_path):
    corpus, whole = shrunk_coco(tmp_path)
    out = tmp_path / "out"
    assert extract("coco", str(corpus), str(out), "--image", "color-hist:bins=4").exit_code == 0
    whole["annotations"][0]["caption"] = "an edited caption"
    (corpus / CAPTIONS).write_text(json.dumps(whole), encoding="utf-8")
    result = extract("coco", str(corpus), str(out), "--image", "color-hist:bins=4", "--update")
    assert result.exit_code == 2
    image = f"{whole['annotations'][0]['image_id']:012d}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {out}: sample '{image}' changed in the corpus since the "
                                                   "dataset was made (captions: ")
    assert "extract the corpus into a new OUTPUT_DIR" in lines[0]
    assert open_dataset(out).manifest.samples["rows"] == 5


def test_a_recipe_run_takes_update(tmp_path):
    corpus, whole = shrunk_coco(tmp_path)
    recipe = tmp_path / "r.toml"
    recipe.write_text('[corpus]\nkind = "coco"\n[extract]\nimage = ["color-hist:bins=4"]\nshard_size = 3\n')
    out = tmp_path / "out"
    assert extract(str(recipe), str(corpus), str(out)).exit_code == 0
    (corpus / CAPTIONS).write_text(json.dumps(whole), encoding="utf-8")
    result = extract(str(recipe), str(corpus), str(out), "--update")
    assert result.exit_code == 0, result.output
    assert "3 added from the corpus" in result.output
    assert open_dataset(out).manifest.tables["image.color-hist"].rows == 8
