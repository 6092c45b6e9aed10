"""COCO, Karpathy and Flickr30K as they lie on researchers' disks: both COCO releases (2014 file names
`COCO_val2014_<id>.jpg`, 2017 ones `<id>.jpg`), test images with no captions, the Karpathy split file
over either COCO release, and the Flickr30K caption files of the official archive and of Kaggle.

The corpora are small but written in the published formats (every field of the real files, captions
with the whitespace and non-ASCII text real ones have) with real photos as JPEGs.
"""
from __future__ import annotations

import functools
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image
from skimage import data
from typer.testing import CliRunner

from mmdata.checks import check_dataset
from mmdata.checks.splits import check_split_leaks
from mmdata.cli import app
from mmdata.corpora import load_corpus
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.pipeline import extract
from mmdata.records import samples_to_table
from mmdata.store.reader import open_dataset

PHOTOS = (data.astronaut, data.coffee, data.chelsea, data.rocket, data.cat)

# COCO image id -> (its 2014 folder, its 2017 folder): train2017 re-packs train2014 and most of val2014.
COCO_IMAGES = {57870: ("train2014", "train2017"), 384029: ("train2014", "train2017"),
               391895: ("val2014", "train2017"), 522418: ("val2014", "val2017"), 184613: ("val2014", "val2017")}
# Karpathy's split of the same images (train images come from train2014, the others from val2014).
KARPATHY_SPLITS = {57870: "train", 384029: "train", 391895: "test", 522418: "val", 184613: "restval"}


@functools.lru_cache(maxsize=None)
def photo(index: int) -> Image.Image:
    return Image.fromarray(PHOTOS[index]()).resize((32, 24))


def write_photo(path: Path, seed: int) -> None:
    """A real photo (scikit-image's samples), shrunk, as a JPEG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    photo(seed % len(PHOTOS)).save(path, format="JPEG")


def coco_raw_captions(image_id: int) -> list[str]:
    """Captions as the COCO files have them: leading spaces, trailing newlines, non-ASCII; 5 to 7 per image."""
    captions = [f"A man riding a bike past image {image_id}.", f" A café terrace — image {image_id}, Zürich.\n",
                f"Two dogs play near image {image_id} ", f"A plate of crème brûlée (image {image_id}).",
                f"An elephant standing in a field, image {image_id}.\n"]
    return captions + [f"Extra caption {k} of {image_id}." for k in range(image_id % 3)]


def coco_file_name(image_id: int, folder: str) -> str:
    return f"COCO_{folder}_{image_id:012d}.jpg" if folder.endswith("2014") else f"{image_id:012d}.jpg"


def write_coco_release(root: Path, year: str, *, missing: tuple[int, ...] = ()) -> dict[str, tuple[str, ...]]:
    """`annotations/captions_{train,val}<year>.json` + JPEGs in `train<year>/`, `val<year>/` (none for `missing`);
    returns sample_id -> expected captions."""
    column = 0 if year == "2014" else 1
    next_caption_id = 1
    for folder in (f"train{year}", f"val{year}"):
        ids = [i for i, folders in COCO_IMAGES.items() if folders[column] == folder]
        images = [{"license": 3, "file_name": coco_file_name(i, folder),
                   "coco_url": f"http://images.cocodataset.org/{folder}/{coco_file_name(i, folder)}",
                   "height": 24, "width": 32, "date_captured": "2013-11-14 16:28:13",
                   "flickr_url": "http://farm4.staticflickr.com/x.jpg", "id": i} for i in ids]
        annotations = []
        for k in range(7):  # interleaved over images, as in the real files
            for i in ids:
                if k < len(coco_raw_captions(i)):
                    annotations.append({"image_id": i, "id": next_caption_id, "caption": coco_raw_captions(i)[k]})
                    next_caption_id += 1
        info = {"description": "COCO 2014 Dataset", "url": "http://cocodataset.org", "version": "1.0", "year": 2014,
                "contributor": "COCO Consortium", "date_created": "2017/09/01"}
        document = {"info": info, "licenses": [{"url": "http://creativecommons.org/licenses/by/2.0/", "id": 3,
                                                "name": "Attribution License"}],
                    "images": images, "annotations": annotations}
        path = root / "annotations" / f"captions_{folder}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
        for i in ids:
            if i not in missing:
                write_photo(root / folder / coco_file_name(i, folder), i)
    return {f"{i:012d}": tuple(c.strip() for c in coco_raw_captions(i)) for i in COCO_IMAGES}


def write_karpathy_coco(root: Path) -> Path:
    """`dataset_coco.json` as Karpathy's caption_datasets.zip has it (2014 file names, `raw` and `tokens`)."""
    images, sentid = [], 770337
    for imgid, (cocoid, split) in enumerate(KARPATHY_SPLITS.items()):
        folder = "train2014" if split == "train" else "val2014"
        sentences = []
        for raw in coco_raw_captions(cocoid):
            tokens = re.findall(r"[a-zà-ÿ0-9]+", raw.lower())
            sentences.append({"tokens": tokens, "raw": raw, "imgid": imgid, "sentid": sentid})
            sentid += 1
        images.append({"filepath": folder, "sentids": [s["sentid"] for s in sentences],
                       "filename": coco_file_name(cocoid, folder), "imgid": imgid, "split": split,
                       "sentences": sentences, "cocoid": cocoid})
    path = root / "dataset_coco.json"
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "dataset": "coco"}, ensure_ascii=False), encoding="utf-8")
    return path


def by_id(samples) -> dict:
    return {s.sample_id: s for s in samples}


# --- COCO ---------------------------------------------------------------------------------------------


def test_coco_2014_and_2017_name_each_image_once_with_the_same_id_group_and_captions(tmp_path):
    expected = write_coco_release(tmp_path, "2014")
    write_coco_release(tmp_path, "2017")
    with pytest.raises(ConfigError, match=r"several COCO releases \(2014, 2017\).*split='val2017'"):
        load_corpus("coco", tmp_path)
    releases = {year: by_id(s for split in ("train", "val")
                            for s in load_corpus("coco", tmp_path, split=f"{split}{year}").samples)
                for year in ("2014", "2017")}
    for year, samples in releases.items():
        assert {sid: s.captions for sid, s in samples.items()} == expected
        assert all(s.group_id == str(int(sid)) and (tmp_path / s.image).is_file() for sid, s in samples.items())
    assert releases["2014"]["000000391895"].image == "val2014/COCO_val2014_000000391895.jpg"
    assert releases["2017"]["000000391895"].image == "train2017/000000391895.jpg"
    assert releases["2014"]["000000391895"].split == "val2014"
    assert releases["2017"]["000000391895"].split == "train2017"
    assert [len(s.captions) for _, s in sorted(releases["2017"].items())] == [5, 7, 7, 7, 6]


def test_coco_captions_are_stripped_and_a_blank_one_is_a_problem_naming_its_entry(tmp_path):
    write_coco_release(tmp_path, "2017")
    path = tmp_path / "annotations" / "captions_val2017.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["annotations"].append({"image_id": 522418, "id": 999, "caption": " \n"})
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    result = load_corpus("coco", tmp_path, split="val2017")
    sample = by_id(result.samples)["000000522418"]
    assert sample.captions[1] == "A café terrace — image 522418, Zürich."
    assert all(c == c.strip() and c for s in result.samples for c in s.captions)
    assert 999 not in sample.extra["caption_ids"] and len(sample.extra["caption_ids"]) == len(sample.captions)
    [problem] = result.problems
    assert problem.sample_id == "000000522418" and problem.reason == "blank caption (id 999); ignored"
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+:\d+: annotations\[\d+\]", problem.path)
    table = samples_to_table(result.samples)  # non-ASCII text goes into the table unchanged
    assert "crème brûlée" in table.column("captions").to_pylist()[0][3]


def write_coco_test_splits(root: Path) -> None:
    """COCO's captionless test splits: `image_info_<split>.json` with their JPEGs."""
    categories = [{"supercategory": "person", "id": 1, "name": "person"}]
    for name, folder, ids in (("image_info_test2014.json", "test2014", (1, 14)),
                              ("image_info_test-dev2017.json", "test2017", (16,))):
        images = [{"license": 1, "file_name": coco_file_name(i, folder), "coco_url": "", "height": 24, "width": 32,
                   "date_captured": "2013-11-14 16:28:13", "id": i} for i in ids]
        (root / "annotations" / name).write_text(json.dumps({"info": {}, "images": images, "licenses": [],
                                                              "categories": categories}), encoding="utf-8")
        for i in ids:
            write_photo(root / folder / coco_file_name(i, folder), i)


def test_coco_test_splits_load_their_images_from_image_info_without_captions(tmp_path):
    write_coco_release(tmp_path, "2014")
    write_coco_test_splits(tmp_path)
    test = load_corpus("coco", tmp_path, split="test2014")
    assert [(s.sample_id, s.split, s.image, s.captions) for s in test.samples] == [
        ("000000000001", "test2014", "test2014/COCO_test2014_000000000001.jpg", ()),
        ("000000000014", "test2014", "test2014/COCO_test2014_000000000014.jpg", ())]
    assert test.problems == []
    [dev] = load_corpus("coco", tmp_path, split="test-dev2017").samples
    assert dev.image == "test2017/000000000016.jpg" and (tmp_path / dev.image).is_file()
    # Loading every split of the release leaves the captionless test images out.
    assert {s.split for s in load_corpus("coco", tmp_path).samples} == {"train2014", "val2014"}


def test_a_coco_test_split_passes_check_without_captions(tmp_path):
    """Test images are published without captions: `check` must not call that an error."""
    write_coco_release(tmp_path, "2014")
    write_coco_test_splits(tmp_path)
    extract("coco", tmp_path, tmp_path / "out", split="test2014", extractors=["color-hist"], num_workers=0)
    report = check_dataset(tmp_path / "out")
    assert report.ok and not [i for i in report.issues if i.code == "captions-missing"], report.issues


def test_images_kept_without_captions_on_purpose_are_a_warning_in_check(tmp_path):
    write_coco_release(tmp_path, "2017")
    path = tmp_path / "annotations" / "captions_val2017.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    lonely = document["images"][0]["id"]
    document["annotations"] = [a for a in document["annotations"] if a["image_id"] != lonely]
    path.write_text(json.dumps(document), encoding="utf-8")
    out = tmp_path / "out"
    extract("coco", tmp_path, out, split="val2017", corpus_options={"keep_images_without_captions": True},
            extractors=["color-hist"], num_workers=0)
    report = check_dataset(out)
    [issue] = [i for i in report.issues if i.code == "captions-missing"]
    assert report.ok and issue.severity == "warning" and issue.sample_id == f"{lonely:012d}"
    assert "keep_images_without_captions=true" in issue.message


def test_coco_missing_captions_file_lists_the_splits_found(tmp_path):
    write_coco_release(tmp_path, "2017")
    with pytest.raises(CorpusNotFoundError, match=r"captions_val2014.json not found .*; "
                                                  r"splits found: \['train2017', 'val2017'\]$"):
        load_corpus("coco", tmp_path, split="val2014")


def instances_document() -> dict:
    return {"info": {}, "licenses": [],
            "images": [{"id": 139, "file_name": "000000000139.jpg", "width": 32, "height": 24}],
            "annotations": [{"segmentation": [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]], "area": 4.5, "iscrowd": 0,
                             "image_id": 139, "bbox": [1.0, 2.0, 4.0, 4.0], "category_id": 62, "id": 26547}],
            "categories": [{"supercategory": "furniture", "id": 62, "name": "chair"}]}


def test_coco_only_an_instances_file_is_named_with_what_it_holds(tmp_path):
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "instances_val2017.json").write_text(json.dumps(instances_document()))
    hint = r"instances_val2017.json is there, but it holds object detection boxes and masks, not captions"
    with pytest.raises(CorpusNotFoundError, match=r"captions_val2017.json not found .*; " + hint):
        load_corpus("coco", tmp_path, split="val2017")
    with pytest.raises(CorpusNotFoundError, match=r"no COCO caption files .*; " + hint):
        load_corpus("coco", tmp_path)


def test_coco_instances_file_under_a_captions_name_is_a_format_error_saying_so(tmp_path):
    (tmp_path / "annotations").mkdir()
    path = tmp_path / "annotations" / "captions_val2017.json"
    path.write_text(json.dumps(instances_document(), indent=2))
    line = next(n for n, text in enumerate(path.read_text().split("\n"), 1) if '"segmentation"' in text) - 1
    with pytest.raises(CorpusFormatError, match=rf"captions_val2017.json:{line}:\d+: annotations\[0\]: expected a "
                                                r"caption .* got an object annotation with keys \['area', 'bbox', .*"
                                                r"looks like an instances or keypoints file"):
        load_corpus("coco", tmp_path, split="val2017")


def test_coco_image_missing_on_disk_is_loaded_and_fails_as_an_item_naming_the_file(tmp_path):
    write_coco_release(tmp_path / "coco", "2017", missing=(184613,))
    [missing] = [s for s in load_corpus("coco", tmp_path / "coco", split="val2017").samples
                 if s.sample_id == "000000184613"]
    assert missing.image == "val2017/000000184613.jpg" and not (tmp_path / "coco" / missing.image).exists()
    report = extract("coco", tmp_path / "coco", tmp_path / "out", extractors=["color-hist:bins=4"],
                     split="val2017", num_workers=0)
    assert report.samples == 2 and [(t.rows, t.errors) for t in report.tables] == [(2, 1)]
    [error] = open_dataset(tmp_path / "out").errors().to_pylist()
    assert error["sample_id"] == "000000184613" and "val2017/000000184613.jpg" in error["reason"]


# --- Karpathy -----------------------------------------------------------------------------------------


def test_karpathy_split_sizes_keep_restval_apart_unless_it_is_trained_on(tmp_path):
    # The published COCO split, scaled down 1000x: train 82,783 + restval 30,504 = 113,287; val 5,000; test 5,000.
    sizes = {"train": 83, "restval": 31, "val": 5, "test": 5}
    images = [{"filepath": "train2014" if split == "train" else "val2014", "filename": f"COCO_x_{n:012d}.jpg",
               "imgid": n, "cocoid": n + 1, "split": split, "sentids": [n],
               "sentences": [{"tokens": ["a", "cat"], "raw": "A cat.", "imgid": n, "sentid": n}]}
              for n, split in enumerate(s for s, count in sizes.items() for _ in range(count))]
    (tmp_path / "dataset_coco.json").write_text(json.dumps({"images": images, "dataset": "coco"}))
    as_published = Counter(s.split for s in load_corpus("karpathy", tmp_path).samples)
    assert as_published == {"train": 83, "restval": 31, "val": 5, "test": 5}
    trained = load_corpus("karpathy", tmp_path, split="train", options={"restval_as_train": "true"}).samples
    assert len(trained) == 114 and Counter(s.extra["karpathy_split"] for s in trained) == {"train": 83, "restval": 31}


@pytest.mark.parametrize("year", ["2014", "2017"])
def test_karpathy_coco_finds_images_in_either_release_layout(tmp_path, year):
    expected = write_coco_release(tmp_path, year)
    write_karpathy_coco(tmp_path)
    result = load_corpus("karpathy", tmp_path)
    assert result.problems == []
    samples = by_id(result.samples)
    assert {sid: (s.split, s.captions) for sid, s in samples.items()} == {
        f"{i:012d}": (split, expected[f"{i:012d}"]) for i, split in KARPATHY_SPLITS.items()}
    column = 0 if year == "2014" else 1
    assert {sid: s.image for sid, s in samples.items()} == {
        f"{i:012d}": f"{folders[column]}/{coco_file_name(i, folders[column])}" for i, folders in COCO_IMAGES.items()}
    assert all((tmp_path / s.image).is_file() and s.group_id == str(s.extra["cocoid"]) for s in result.samples)


def test_karpathy_coco_2017_layout_under_a_folder_and_a_missing_image(tmp_path):
    write_coco_release(tmp_path / "images", "2017", missing=(522418,))
    path = write_karpathy_coco(tmp_path)
    result = load_corpus("karpathy", tmp_path)
    assert {s.image for s in result.samples} == {
        "images/train2017/000000057870.jpg", "images/train2017/000000384029.jpg",
        "images/train2017/000000391895.jpg", "images/val2017/000000184613.jpg"}
    [problem] = result.problems
    assert problem.sample_id == "000000522418"
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+:\d+: images\[3\]", problem.path)
    assert problem.reason == ("image not found: neither images/train2017/000000522418.jpg nor "
                              "images/val2017/000000522418.jpg exists (the COCO 2017 layout found for "
                              "val2014/COCO_val2014_000000522418.jpg); dropped")
    # The same layout under a folder named by the option.
    (tmp_path / "images").rename(tmp_path / "mscoco")
    named = load_corpus("karpathy", tmp_path, split="test", options={"image_dir": "mscoco/"}).samples
    assert [s.image for s in named] == ["mscoco/train2017/000000391895.jpg"]


def test_karpathy_coco_with_only_val2017_downloaded_maps_what_is_there(tmp_path):
    write_coco_release(tmp_path, "2017")
    shutil.rmtree(tmp_path / "train2017")  # the file's first images are all in train2017
    write_karpathy_coco(tmp_path)
    result = load_corpus("karpathy", tmp_path)
    assert [s.image for s in result.samples] == ["val2017/000000522418.jpg", "val2017/000000184613.jpg"]
    assert sorted(p.sample_id for p in result.problems) == ["000000057870", "000000384029", "000000391895"]
    assert all(p.reason.startswith("image not found: neither train2017/") for p in result.problems)


def test_karpathy_captions_are_the_stripped_raw_sentences_not_the_tokens(tmp_path):
    path = write_karpathy_coco(tmp_path)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["images"][0]["sentences"][2]["raw"] = "  \n"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    result = load_corpus("karpathy", tmp_path)
    sample = by_id(result.samples)["000000057870"]
    raw = [c.strip() for c in coco_raw_captions(57870)]
    assert sample.captions == (raw[0], raw[1], *raw[3:])
    assert sample.captions[1] == "A café terrace — image 57870, Zürich."  # tokens: "a café terrace image ..."
    [problem] = result.problems
    assert (problem.sample_id, problem.reason) == ("000000057870", "blank sentence; ignored")
    assert problem.path.endswith("images[0].sentences[2].raw")


def test_karpathy_and_coco_loaders_give_one_image_the_same_id_group_and_captions(tmp_path):
    write_coco_release(tmp_path, "2017")
    write_karpathy_coco(tmp_path)
    coco = {s.sample_id: (s.group_id, s.image, s.captions)
            for split in ("train2017", "val2017") for s in load_corpus("coco", tmp_path, split=split).samples}
    karpathy = {s.sample_id: (s.group_id, s.image, s.captions) for s in load_corpus("karpathy", tmp_path).samples}
    assert karpathy == coco


def test_karpathy_splits_do_not_leak_an_image_and_ids_are_unique(tmp_path):
    write_coco_release(tmp_path, "2014")
    write_karpathy_coco(tmp_path)
    for options in ({}, {"restval_as_train": "true"}):
        samples = load_corpus("karpathy", tmp_path, options=options).samples
        table = samples_to_table(samples)
        assert len(set(table.column("sample_id").to_pylist())) == len(samples) == 5
        assert check_split_leaks(table) == []


def test_extract_command_takes_a_karpathy_split_over_the_2017_layout(tmp_path):
    write_coco_release(tmp_path / "coco", "2017")
    write_karpathy_coco(tmp_path / "coco")
    result = CliRunner().invoke(app, ["extract", "karpathy", str(tmp_path / "coco"), str(tmp_path / "out"),
                                      "--split", "train", "-o", "restval_as_train=true",
                                      "--image", "color-hist:bins=4", "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    samples = open_dataset(tmp_path / "out").samples_table(columns=["sample_id", "split", "image"]).to_pylist()
    assert [(s["sample_id"], s["split"], s["image"]) for s in samples] == [
        ("000000057870", "train", "train2017/000000057870.jpg"),
        ("000000184613", "train", "val2017/000000184613.jpg"),
        ("000000384029", "train", "train2017/000000384029.jpg")]
    assert "table image.color-hist: 3 rows, 0 failed" in result.output


# --- Flickr30K ----------------------------------------------------------------------------------------

FLICKR_IMAGES = ("1000092795.jpg", "10002456.jpg", "1000268201.jpg")


def flickr_captions(name: str) -> list[str]:
    """Five captions per image as Flickr30K writes them (space before the full stop, commas, non-ASCII)."""
    return [f"Two young guys with shaggy hair look at {name} .", f"Two young , White males are outside near {name} .",
            f"A man in a café , reading about {name} .", f"Men in green shirts stand in the yard of {name} .",
            f"A child says \"hi\" to {name} ."]


def write_flickr_layout(root: Path, layout: str) -> tuple[Path, str]:
    """The captions file and images as each distribution lays them out; returns (captions file, image folder)."""
    rows = [(name, k, c) for name in FLICKR_IMAGES for k, c in enumerate(flickr_captions(name))]
    if layout == "official":  # flickr30k.tar.gz: results_20130124.token + flickr30k-images/
        path, folder = root / "results_20130124.token", "flickr30k-images"
        text = "".join(f"{n}#{k}\t{c}\n" for n, k, c in rows)
    elif layout == "kaggle-results-csv":  # hsankesara/flickr-image-dataset
        path, folder = root / "flickr30k_images" / "results.csv", "flickr30k_images/flickr30k_images"
        text = "image_name| comment_number| comment\n" + "".join(f"{n}| {k}| {c}\n" for n, k, c in rows)
    elif layout == "kaggle-captions-txt":  # adityajn105/flickr30k: comma CSV, quoted where a caption has a comma
        path, folder = root / "captions.txt", "Images"
        quote = (lambda c: f'"{c.replace(chr(34), chr(34) * 2)}"' if "," in c or '"' in c else c)
        text = "image,caption\n" + "".join(f"{n},{quote(c)}\n" for n, _, c in rows)
    else:  # a captions.txt with numbered comments
        path, folder = root / "captions.txt", "Images"
        text = "image_name,comment_number,comment\n" + "".join(f'{n},{k},"{c.replace(chr(34), chr(34) * 2)}"\n'
                                                               for n, k, c in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    for seed, name in enumerate(FLICKR_IMAGES):
        write_photo(root / folder / name, seed)
    return path, folder


@pytest.mark.parametrize("layout", ["official", "kaggle-results-csv", "kaggle-captions-txt", "numbered-captions-txt"])
def test_flickr30k_distributions_give_the_same_five_captions_per_image(tmp_path, layout):
    _, folder = write_flickr_layout(tmp_path, layout)
    result = load_corpus("flickr30k", tmp_path)
    assert result.problems == []
    assert {s.sample_id: (s.image, s.captions, s.group_id, s.split) for s in result.samples} == {
        name[:-4]: (f"{folder}/{name}", tuple(flickr_captions(name)), name[:-4], "all") for name in FLICKR_IMAGES}
    assert all(s.extra["caption_numbers"] == [0, 1, 2, 3, 4] for s in result.samples)


def test_flickr30k_kaggle_results_csv_row_missing_its_second_pipe_is_reported(tmp_path):
    path, _ = write_flickr_layout(tmp_path, "kaggle-results-csv")
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[10] = "10002456.jpg| 4 A dog runs across the grass ."  # as line 19,999 of the real file
    path.write_text("\n".join(lines), encoding="utf-8")
    result = load_corpus("flickr30k", tmp_path)
    assert [len(s.captions) for s in sorted(result.samples, key=lambda s: s.sample_id)] == [5, 5, 5]
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("10002456", f"{path}:11") and "read as comment_number" in problem.reason


@pytest.mark.parametrize(("text", "message"), [
    ("image;caption\n1.jpg;a dog\n", r"captions.txt:1: expected '<image>#<n>\\t<caption>', got 'image;caption'"),
    ("image,caption\n1.jpg\n", r"captions.txt:2: expected 'image,caption', got '1.jpg'"),
    ("image_name,comment_number,comment\n1.jpg,first,a dog\n", r"captions.txt:2: expected an integer comment_number"),
    ('image,caption\n1.jpg,"an open quote\n', r"captions.txt:2: unexpected end of data"),
    ('image,caption\n1.jpg,"a dog\n2.jpg,a cat"\n', r"captions.txt:2: a quoted field runs on to line 3;.*not closed"),
    ('image,caption\n1.jpg,"a dog" barks\n', r"captions.txt:2: ',' expected after '\"'"),
])
def test_flickr30k_malformed_captions_txt_names_file_and_line(tmp_path, text, message):
    (tmp_path / "captions.txt").write_text(text, encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=message):
        load_corpus("flickr30k", tmp_path)


def test_flickr30k_unquoted_comma_in_a_captions_txt_caption_is_kept(tmp_path):
    (tmp_path / "captions.txt").write_text("image,caption\n1.jpg,a dog , a cat\n1.jpg,two pets\n", encoding="utf-8")
    assert [s.captions for s in load_corpus("flickr30k", tmp_path).samples] == [("a dog , a cat", "two pets")]


def test_flickr30k_karpathy_splits_over_kaggle_captions_txt_match_the_karpathy_loader(tmp_path):
    write_flickr_layout(tmp_path, "kaggle-captions-txt")
    splits = dict(zip(FLICKR_IMAGES, ("train", "test", "val")))
    images = [{"sentids": [5 * n + k for k in range(5)], "imgid": n, "split": splits[name], "filename": name,
               "sentences": [{"tokens": c.lower().split(), "raw": c, "imgid": n, "sentid": 5 * n + k}
                             for k, c in enumerate(flickr_captions(name))]}
              for n, name in enumerate(FLICKR_IMAGES)]
    (tmp_path / "dataset_flickr30k.json").write_text(json.dumps({"images": images, "dataset": "flickr30k"}))
    options = {"karpathy_file": "dataset_flickr30k.json"}
    [test] = load_corpus("flickr30k", tmp_path, split="test", options=options).samples
    assert (test.sample_id, test.split, test.image) == ("10002456", "test", "Images/10002456.jpg")
    ours = {s.sample_id: (s.split, s.group_id, s.image, s.captions)
            for s in load_corpus("flickr30k", tmp_path, options=options).samples}
    karpathy = {s.sample_id: (s.split, s.group_id, s.image, s.captions)
                for s in load_corpus("karpathy", tmp_path).samples}
    assert ours == karpathy and len(ours) == 3


def test_flickr30k_with_the_coco_karpathy_file_is_a_config_error(tmp_path):
    write_flickr_layout(tmp_path, "official")
    write_karpathy_coco(tmp_path / "karpathy")
    with pytest.raises(ConfigError, match=r"dataset_coco.json is the Karpathy split file of COCO.*dataset_flickr30k"):
        load_corpus("flickr30k", tmp_path, split="test", options={"karpathy_file": "karpathy/dataset_coco.json"})
