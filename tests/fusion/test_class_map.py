"""`fuse --class-label KEY --class-map FILE|NAME`: the class names at extra[KEY] are mapped to the class each counts
as before the ids are made. A map file (CSV, TSV or JSON) renames the names it lists, keeps the others, and an empty
class makes a sample classless (refused by default, the map named; -1 with missing_class='keep'); the built-in
`emotions` map gives RAVDESS's, CREMA-D's, IEMOCAP's and MELD's emotions one set of seven classes and the same ids,
and refuses a name it does not list; a multi-label list is mapped item by item; bad map files are refused naming
the file and line; fused.json records the map, its sha256 and what it did."""
from __future__ import annotations

import hashlib
import json
import re

import pytest

from mmdata.corpora import crema_d, iemocap, meld, ravdess
from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion import FuseOptions, FusedDataset, fuse, read_fused_metadata
from mmdata.fusion.class_map import BUILTIN_DIR, read_class_map
from tests.fusion.test_fuse_class_labels import text_dataset

SEVEN = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]


def emotion_rows(names, key="emotion"):
    """Text rows, one per name (twice: train and test), the name at extra[key]."""
    return [{"id": f"{split[:2]}{i:02d}", "text": f"word{i}", "split": split, key: name}
            for split in ("train", "test") for i, name in enumerate(names)]


def exported_classes(out):
    """sample_id -> its class name in the export (None for class_id -1), every split, read back by FusedDataset."""
    found = {}
    for split in read_fused_metadata(out)["rows"]:
        data = FusedDataset(out, split=split)
        for i in range(len(data)):
            item = data[i]
            found[item["sample_id"]] = data.classes[int(item["class_id"])] if int(item["class_id"]) >= 0 else None
    return found


@pytest.fixture(scope="module")
def animals(tmp_path_factory):
    """A text dataset whose samples' extra['class'] names animals, two of them for one class."""
    tmp = tmp_path_factory.mktemp("animals")
    rows = emotion_rows(["puppy", "dog", "kitten", "cat", "emu"], key="class")
    return text_dataset(tmp, rows), {r["id"]: r["class"] for r in rows}


@pytest.mark.parametrize("kind", ["csv", "tsv", "json"])
def test_a_map_file_renames_what_it_lists_and_unlisted_names_keep_their_own(animals, tmp_path, kind):
    dataset, truth = animals
    if kind == "json":
        path = tmp_path / "map.json"
        path.write_text(json.dumps({"puppy": "dog", "kitten": " cat "}), encoding="utf-8")
    else:
        sep = "\t" if kind == "tsv" else ","
        path = tmp_path / f"map.{kind}"
        path.write_bytes(f"\ufeffname{sep}class\n\n puppy {sep} dog\nkitten{sep}cat \n\n".encode("utf-8"))
    out = tmp_path / "fused"
    report = fuse(dataset, out, format="arrow", class_label="class", class_map=path, normalize="none")
    assert report.classes == ["cat", "dog", "emu"]
    renames = {"puppy": "dog", "kitten": "cat"}
    assert exported_classes(out) == {i: renames.get(name, name) for i, name in truth.items()}
    label = read_fused_metadata(out)["class_label"]
    assert label["class_map"] == {"map": str(path), "builtin": False, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                  "renamed": 4, "classless": 0}
    assert label["order"] == "sorted"


def test_a_name_mapped_to_no_class_is_refused_naming_the_map_or_kept_as_minus_one(animals, tmp_path):
    dataset, truth = animals
    path = tmp_path / "map.csv"
    path.write_text("puppy,dog\nemu,\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"^2 of 10 samples have no class name at extra\['class'\] \(first: 'te04', "
                                           r"'tr04'\); the class map .*map.csv made 2 of them classless \(it maps "
                                           r"'emu' to no class\); .*a map file of your own, or pass --missing-class keep"):
        fuse(dataset, tmp_path / "fused", class_label="class", class_map=path)
    assert not (tmp_path / "fused").exists()
    report = fuse(dataset, tmp_path / "fused", format="arrow", class_label="class", class_map=path,
                  missing_class="keep")
    assert report.classes == ["cat", "dog", "kitten"]
    assert exported_classes(tmp_path / "fused") == {i: {"puppy": "dog", "emu": None}.get(n, n) for i, n in truth.items()}
    label = read_fused_metadata(tmp_path / "fused")["class_label"]
    assert (label["class_map"]["renamed"], label["class_map"]["classless"]) == (2, 2)
    assert label["unlabeled"] == {"test": 1, "train": 1}


def test_the_built_in_emotions_map_gives_four_corpora_one_set_of_ids(tmp_path):
    corpora = {"ravdess": list(ravdess.EMOTIONS.values()), "crema-d": list(crema_d.EMOTIONS.values()),
               "iemocap": list(iemocap.EMOTIONS.values()), "iemocap4": sorted(set(iemocap.EMOTION4.values())),
               "meld": list(meld.EMOTIONS)}
    expected = {"neutral": "neutral", "calm": None, "happy": "happy", "sad": "sad", "angry": "angry", "fearful": "fear",
                "disgust": "disgust", "surprised": "surprise", "anger": "angry", "fear": "fear", "happiness": "happy",
                "excited": "happy", "sadness": "sad", "frustration": None, "other": None, "no-agreement": None,
                "surprise": "surprise", "joy": "happy"}
    ids_of = {}  # class -> the class ids it got in every corpus's export
    for corpus, names in corpora.items():
        rows = emotion_rows(names)
        out = tmp_path / f"{corpus}-fused"
        report = fuse(text_dataset(tmp_path, rows, corpus), out, format="arrow", class_label="emotion",
                      class_map="emotions", missing_class="keep", normalize="none")
        assert report.classes == SEVEN, corpus  # every class, those the corpus lacks too: the ids are the map's
        assert exported_classes(out) == {r["id"]: expected[r["emotion"]] for r in rows}, corpus
        label = read_fused_metadata(out)["class_label"]
        assert label["order"] == "class_map" and label["class_map"]["map"] == "emotions"
        assert label["class_map"]["builtin"] is True
        assert label["class_map"]["sha256"] == hashlib.sha256((BUILTIN_DIR / "emotions.csv").read_bytes()).hexdigest()
        name_of = {r["id"]: r["emotion"] for r in rows}
        data = FusedDataset(out, split="train")
        for item in (data[i] for i in range(len(data))):
            if expected[name_of[item["sample_id"]]] is not None:
                ids_of.setdefault(expected[name_of[item["sample_id"]]], set()).add(int(item["class_id"]))
    assert ids_of == {name: {SEVEN.index(name)} for name in SEVEN}
    ravdess_label = read_fused_metadata(tmp_path / "ravdess-fused")["class_label"]["class_map"]
    assert (ravdess_label["renamed"], ravdess_label["classless"]) == (4, 2)  # fearful, surprised; calm twice


def test_the_built_in_map_refuses_a_name_it_does_not_list(tmp_path):
    dataset = text_dataset(tmp_path, emotion_rows(["joy", "joyful", "anger"]))
    packaged = re.escape(str(BUILTIN_DIR / "emotions.csv"))
    with pytest.raises(DatasetError, match=r"^sample 'te01': class 'joyful' \(extra\['emotion'\]\) is not listed in the "
                                           r"built-in class map 'emotions' \(1 such name\); the closest name it lists is "
                                           rf"'joy'; .*copy the lines of {packaged} into a map file of your own, add "
                                           r"'joyful' .*--class-map FILE and --classes FILE, a file listing its 7 classes "
                                           r"\(angry, disgust, fear, happy, neutral, sad, surprise\) .*to keep its ids"):
        fuse(dataset, tmp_path / "fused", class_label="emotion", class_map="emotions")
    assert not (tmp_path / "fused").exists()
    assert str(BUILTIN_DIR).endswith("mmdata/fusion/class_maps")


def test_the_built_in_map_suggests_no_far_fetched_name_and_calls_a_blank_name_blank(tmp_path):
    far = text_dataset(tmp_path, emotion_rows(["joy", "xq"]), "far")
    with pytest.raises(DatasetError, match=r"class 'xq' \(extra\['emotion'\]\) is not listed in the built-in class map "
                                           r"'emotions' \(1 such name\); a built-in map refuses") as refused:
        fuse(far, tmp_path / "fused", class_label="emotion", class_map="emotions")
    assert "closest" not in str(refused.value)
    lists = text_dataset(tmp_path, [{"id": "a1", "text": "w", "split": "train", "emotion": ["joy", ""]}], "lists")
    with pytest.raises(DatasetError, match=r"^sample 'a1': extra\['emotion'\] is \['joy', ''\], which holds a blank class "
                                           r"name; expected a class name in every place") as refused:
        fuse(lists, tmp_path / "fused", class_label="emotion", class_map="emotions")
    assert "closest" not in str(refused.value)
    spaces = text_dataset(tmp_path, emotion_rows(["joy", " "]), "spaces")
    with pytest.raises(DatasetError, match=r"^sample 'te01': extra\['emotion'\] is ' ', a blank class name; expected a "
                                           r"class name the built-in class map 'emotions' lists") as refused:
        fuse(spaces, tmp_path / "fused", class_label="emotion", class_map="emotions")
    assert "closest" not in str(refused.value)


@pytest.mark.parametrize("class_map", ["emotions", "file"])
def test_a_null_name_in_a_list_is_refused_with_a_map_as_without_one(tmp_path, class_map):
    rows = [{"id": "a1", "text": "w", "split": "train", "emotion": ["joy"]},
            {"id": "a2", "text": "w", "split": "train", "emotion": [None, "joy"]}]
    dataset = text_dataset(tmp_path, rows)
    path = tmp_path / "map.csv"
    path.write_text("joy,happy\n", encoding="utf-8")
    blank = r"^sample 'a2': extra\['emotion'\] is \[None, 'joy'\], which holds a blank class name"
    with pytest.raises(DatasetError, match=blank):
        fuse(dataset, tmp_path / "plain", class_label="emotion")
    with pytest.raises(DatasetError, match=blank):
        fuse(dataset, tmp_path / "fused", class_label="emotion", class_map=path if class_map == "file" else class_map)
    assert not (tmp_path / "fused").exists()


def test_a_map_that_leaves_no_sample_a_class_is_refused_naming_it(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("calm,\nfrustration,\n", encoding="utf-8")
    single = text_dataset(tmp_path, emotion_rows(["calm", "frustration"]), "single")
    lists = text_dataset(tmp_path, [{"id": "a1", "text": "w", "split": "train", "emotion": ["calm"]},
                                    {"id": "a2", "text": "w", "split": "train", "emotion": ["frustration", "calm"]},
                                    {"id": "a3", "text": "w", "split": "train", "emotion": []}], "lists")
    for dataset in (single, lists):
        for class_map in (path, "emotions"):
            with pytest.raises(ConfigError, match=r"^the (class map .*map.csv|built-in class map 'emotions') maps every "
                                                  r"class name at extra\['emotion'\] of dataset .* to no class \(it maps "
                                                  r"'calm', 'frustration' to no class\): no sample has a class"):
                fuse(dataset, tmp_path / "fused", class_label="emotion", class_map=class_map, missing_class="keep")
    assert not (tmp_path / "fused").exists()


def test_a_separator_splits_the_names_before_the_map_maps_each_piece(tmp_path):
    rows = [{"id": "a1", "text": "w", "split": "train", "emotion": "joy | fearful"},
            {"id": "a2", "text": "w", "split": "train", "emotion": "calm|sadness|sad"},
            {"id": "a3", "text": "w", "split": "train", "emotion": "calm"},
            {"id": "a4", "text": "w", "split": "train", "emotion": ""}]
    dataset = text_dataset(tmp_path, rows)
    out = tmp_path / "fused"
    report = fuse(dataset, out, format="arrow", class_label="emotion", class_separator="|", class_map="emotions",
                  missing_class="keep", normalize="none")
    assert report.multi_label and report.classes == SEVEN
    data = FusedDataset(out, split="train")
    targets = {data[i]["sample_id"]: data[i]["class_targets"].tolist() for i in range(len(data))}
    assert {i: [SEVEN[c] for c, v in enumerate(t) if v == 1.0] for i, t in targets.items() if t[0] >= 0} == {
        "a1": ["fear", "happy"], "a2": ["sad"]}
    assert targets["a3"] == targets["a4"] == [-1.0] * 7  # calm: mapped to no class; "": no value
    record = read_fused_metadata(out)["class_label"]["class_map"]
    assert (record["renamed"], record["classless"]) == (2, 1)
    with pytest.raises(DatasetError, match=r"extra\['emotion'\] is \['joy', ''\], which holds a blank class name"):
        fuse(text_dataset(tmp_path, [{"id": "b1", "text": "w", "split": "train", "emotion": "joy|"}], "blank"),
             tmp_path / "fused2", class_label="emotion", class_separator="|", class_map="emotions")


def test_the_package_data_globs_ship_the_built_in_maps():
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    shipped = {p.resolve() for pattern in globs["mmdata"] for p in (root / "mmdata").glob(pattern)}
    assert (BUILTIN_DIR / "emotions.csv").resolve() in shipped
    assert BUILTIN_DIR.resolve() == (root / "mmdata" / "fusion" / "class_maps").resolve()


def test_a_file_that_exists_wins_over_a_built_in_name_and_an_unknown_word_lists_the_built_ins(animals, tmp_path,
                                                                                          monkeypatch):
    dataset, _ = animals
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"--class-map emotion: no such file, and no built-in class map of that name "
                                          r"\(built-in: emotions, emotions4\)"):
        fuse(dataset, tmp_path / "fused", class_label="class", class_map="emotion")
    (tmp_path / "emotions").mkdir()  # a folder of that name (a dataset, say) does not hide the built-in
    with pytest.raises(DatasetError, match="is not listed in the built-in class map 'emotions'"):
        fuse(dataset, tmp_path / "fused", class_label="class", class_map="emotions")
    (tmp_path / "emotions").rmdir()
    (tmp_path / "emotions").write_text("puppy,dog\n", encoding="utf-8")
    fuse(dataset, tmp_path / "fused", class_label="class", class_map="emotions")  # the file: 'cat' etc. allowed
    record = read_fused_metadata(tmp_path / "fused")["class_label"]["class_map"]
    assert record["builtin"] is False and record["map"] == "emotions" and record["renamed"] == 2


def test_a_classes_file_gives_the_ids_of_mapped_names_and_refuses_those_it_lacks(animals, tmp_path):
    dataset, _ = animals
    path = tmp_path / "map.csv"
    path.write_text("puppy,dog\nkitten,cat\n", encoding="utf-8")
    listing = tmp_path / "classes.txt"
    listing.write_text("emu\ndog\ncat\nowl\n", encoding="utf-8")
    report = fuse(dataset, tmp_path / "fused", class_label="class", class_map=path, classes_file=listing)
    assert report.classes == ["emu", "dog", "cat", "owl"] and report.class_counts["test"] == [1, 2, 2, 0]
    assert read_fused_metadata(tmp_path / "fused")["class_label"]["order"] == "file"
    listing.write_text("emu\ndog\nkitten\n", encoding="utf-8")
    with pytest.raises(DatasetError) as refused:
        fuse(dataset, tmp_path / "fused2", class_label="class", class_map=path, classes_file=listing)
    message = str(refused.value)
    assert message.startswith("sample 'te02': class 'cat' (extra['class'] 'kitten', which the class map ")
    assert "map.csv maps to 'cat') is not in " in message and "classes.txt (4 such samples)" in message
    assert message.endswith("; map 'kitten' to a class the file lists in the class map, or add 'cat' to the classes file")
    listing.write_text("dog\ncat\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"class 'emu' \(extra\['class'\], a name the class map .*map.csv does not "
                                           r"list\) is not in .*; map 'emu' to a class the file lists in the class map, "
                                           r"or add it to the classes file$"):
        fuse(dataset, tmp_path / "fused2", class_label="class", class_map=path, classes_file=listing)
    lists = text_dataset(tmp_path, [{"id": "a1", "text": "w", "split": "train", "class": ["kitten", "dog"]}], "lists")
    listing.write_text("dog\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"^sample 'a1': class 'cat' \(in extra\['class'\], as the class map .*map.csv "
                                           r"names it\) is not in the classes file .*; map the corpus's name to a class "
                                           r"the file lists in the class map, or add 'cat' to the classes file$"):
        fuse(lists, tmp_path / "fused2", class_label="class", class_map=path, classes_file=listing)


def test_multi_label_lists_are_mapped_item_by_item_without_no_class_items_or_repeats(tmp_path):
    rows = [{"id": "a1", "text": "w", "split": "train", "emotion": ["joy", "happiness", "calm"]},
            {"id": "a2", "text": "w", "split": "train", "emotion": ["anger", "sad"]},
            {"id": "a3", "text": "w", "split": "train", "emotion": ["calm"]},
            {"id": "a4", "text": "w", "split": "train", "emotion": []}]
    dataset = text_dataset(tmp_path, rows)
    out = tmp_path / "fused"
    # a list the map empties is a sample without a class: refused by default, naming the map
    with pytest.raises(DatasetError, match=r"^1 of 4 samples have no class name at extra\['emotion'\] \(first: 'a3'\); "
                                           r"the built-in class map 'emotions' made 1 of them classless \(it maps 'calm' "
                                           r"to no class\); .*--missing-class keep"):
        fuse(dataset, out, class_label="emotion", class_map="emotions")
    assert not out.exists()
    report = fuse(dataset, out, format="arrow", class_label="emotion", class_map="emotions", missing_class="keep",
                  normalize="none")
    assert report.multi_label and report.classes == SEVEN
    data = FusedDataset(out, split="train")
    targets = {data[i]["sample_id"]: data[i]["class_targets"].tolist() for i in range(len(data))}
    assert targets["a3"] == [-1.0] * 7  # as a sample without a value
    assert {i: [SEVEN[c] for c, v in enumerate(t) if v == 1.0] for i, t in targets.items()} == {
        "a1": ["happy"], "a2": ["angry", "sad"], "a3": [], "a4": []}
    assert targets["a4"] == [0.0] * 7  # an empty list in the corpus stays a row of no positive class
    label = read_fused_metadata(out)["class_label"]
    assert (label["class_map"]["renamed"], label["class_map"]["classless"]) == (2, 1)
    assert label["unlabeled"] == {"train": 1}
    empty = fuse(dataset, tmp_path / "empty", format="arrow", class_label="emotion", class_map="emotions",
                 missing_class="empty", normalize="none")
    data = FusedDataset(tmp_path / "empty", split="train")
    assert empty.multi_label and all(min(data[i]["class_targets"].tolist()) == 0.0 for i in range(len(data)))


def test_bad_map_files_are_refused_naming_the_file_and_line(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("name,class\nfearful,fear\n\njoy,happy\nfearful,scared\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"map.csv:5: name 'fearful' is listed again \(first on line 2\)"):
        read_class_map(path)
    path.write_text("joy,happy\nfearful,fear,scared\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"map.csv:2: 'fearful,fear,scared' has 3 field\(s\); expected 2: name,class"):
        read_class_map(path)
    path.write_text("joy\thappy\nfearful\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"map.csv:2: 'fearful' has 1 field\(s\); expected 2: name<TAB>class"):
        read_class_map(path)
    path.write_bytes(b"joy,h\xe9\n")
    with pytest.raises(ConfigError, match=r"--class-map .*map.csv: cannot read the class map file"):
        read_class_map(path)
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"map.csv: the map lists no name"):
        read_class_map(path)
    path.write_text("Name , CLASS\nfearful,fear\n", encoding="utf-8")  # a header line, case aside
    assert read_class_map(path).mapping == {"fearful": "fear"}
    as_json = tmp_path / "map.json"
    as_json.write_text('{"joy": "happy",\n "joy": "sad"}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"map.json: name 'joy' is listed twice"):
        read_class_map(as_json)
    as_json.write_text('{"joy": "happy", " joy": "sad"}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"map.json: name ' joy' is listed twice in one object \(first as 'joy'\); "
                                          r"expected each name once \(spaces around a name are ignored\)"):
        read_class_map(as_json)
    as_json.write_text('{"joy": 3}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"map.json: name 'joy' maps to 3; expected .* or null \(no class\)"):
        read_class_map(as_json)
    as_json.write_text('{"joy": "happy",\n ]', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"map.json:2: not JSON"):
        read_class_map(as_json)


def test_a_class_map_without_a_class_label_is_refused():
    with pytest.raises(ConfigError, match=r"class_map \(--class-map\) needs class_label"):
        FuseOptions(class_map="emotions")
    with pytest.raises(ConfigError, match=r"class_map=3: expected a class map file"):
        FuseOptions(class_label="emotion", class_map=3)


def test_the_built_in_emotions4_map_gives_four_corpora_the_four_classes_of_cross_corpus_work(tmp_path):
    four = ["angry", "happy", "neutral", "sad"]
    corpora = {"ravdess": list(ravdess.EMOTIONS.values()), "crema-d": list(crema_d.EMOTIONS.values()),
               "iemocap": list(iemocap.EMOTIONS.values()), "iemocap4": sorted(set(iemocap.EMOTION4.values())),
               "meld": list(meld.EMOTIONS)}
    to_four = {"angry": "angry", "anger": "angry", "happy": "happy", "happiness": "happy", "excited": "happy",
               "joy": "happy", "neutral": "neutral", "sad": "sad", "sadness": "sad"}
    for corpus, names in corpora.items():
        rows = emotion_rows(names)
        out = tmp_path / f"{corpus}-fused"
        report = fuse(text_dataset(tmp_path, rows, corpus), out, format="arrow", class_label="emotion",
                      class_map="emotions4", missing_class="keep", normalize="none")
        assert report.classes == four, corpus
        assert exported_classes(out) == {r["id"]: to_four.get(r["emotion"]) for r in rows}, corpus
    with pytest.raises(ConfigError, match="no such file, and no built-in class map of that name "
                                          r"\(built-in: emotions, emotions4\)"):
        fuse(text_dataset(tmp_path, emotion_rows(["sad"]), "x"), tmp_path / "f", class_label="emotion",
             class_map="emotions5")
