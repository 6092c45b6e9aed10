"""The `wavcaps` loader on fakes of the Hugging Face release: one train sample per sound with its caption, the
`test_ac` blacklist applied by default to its own sources (and its count reported), per-source selection, a source
not unzipped skipped, and bad entries and missing sounds named `file:line:column: data[i]` in the problems."""
from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path

import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmdata.corpora import load_corpus
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.records import samples_to_table
from tests.fakes.av import write_tone_wav
from tests.fakes.captioned_media import write_json
from tests.fakes.wavcaps import BLACKLISTED, BLACKLISTS, ENTRIES, JSON_NAMES, ZIP_INNER_DIR, audio_folder, \
    write_fake_wavcaps


def load(root: Path, split: str | None = None, **options):
    return load_corpus("wavcaps", root, split=split, options=options)


def json_file(root: Path, source: str) -> Path:
    return root / "json_files" / source / JSON_NAMES[source]


def add_entries(root: Path, source: str, *items) -> Path:
    """Append `items` to a source's JSON file (written indented again, so that each entry starts on its own line)."""
    path = json_file(root, source)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["data"] += list(items)
    return write_json(path, data)


def entry_line(path: Path, index: int, message: str) -> str:
    """The text of the line a problem's `file:line:column: data[index]` names (asserting that form)."""
    match = re.fullmatch(rf"{re.escape(str(path))}:(\d+):(\d+): data\[{index}\]", message)
    assert match, message
    return path.read_text(encoding="utf-8").split("\n")[int(match.group(1)) - 1][int(match.group(2)) - 1:]


def test_each_sound_is_a_train_sample_keyed_by_source_and_id_with_its_fields_in_extra(tmp_path):
    result = load(write_fake_wavcaps(tmp_path).root)
    samples = {s.sample_id: s for s in result.samples}
    assert {s.split for s in result.samples} == {"train"}
    assert all(s.group_id == s.sample_id for s in result.samples)
    audioset = samples["AudioSet_SL/Y--BfvyPmVMo"]
    assert audioset.captions == ('Birds chirp, "loudly", in the morning.',)  # stripped
    assert audioset.extra == {"source": "AudioSet_SL", "wavcaps_id": "Y--BfvyPmVMo.wav", "wavcaps_duration": 9.5,
                              "youtube_id": "--BfvyPmVMo", "audio_duration": 0.5}  # `audio: wav_path` not kept
    freesound = samples["FreeSound/180913"].extra
    assert (freesound["tags"], freesound["author"], freesound["file_name"]) == (["cafe", "crowd"], "Jürgen",
                                                                                "Café ambience.wav")
    assert samples["SoundBible/2219"].extra["title"] == "Airplane Landing Airport"
    assert samples["BBC_Sound_Effects/07075034"].extra["category"] == "['Weather']"
    assert samples["FreeSound/90001"].extra["download_link"] == ""  # kept as the JSON holds it
    assert result.metadata["json_files"] == {s: f"json_files/{s}/{name}" for s, name in JSON_NAMES.items()}


def test_test_ac_is_applied_by_default_to_its_own_sources_and_counted_per_source(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.wavcaps"):
        result = load(write_fake_wavcaps(tmp_path).root)
    ids = {s.sample_id for s in result.samples}
    assert not ids & BLACKLISTED and result.problems == []
    assert "FreeSound/2219" not in ids and "SoundBible/2219" in ids  # test_ac's FreeSound id 2219 is no SoundBible id
    assert "FreeSound/90001" in ids and "AudioSet_SL/Y7fmOlUlwoNg" in ids  # ub8k_esc50_vggsound, all_ac: not applied
    assert result.metadata["blacklist"] == {
        "files": ["blacklist_exclude_test_ac.json"],
        "left_out": {"AudioSet_SL": 1, "BBC_Sound_Effects": 0, "FreeSound": 1, "SoundBible": 0}}
    [message] = [r.getMessage() for r in caplog.records]
    assert "2 sounds left out" in message and "AudioSet_SL 1, FreeSound 1" in message
    assert "AudioCaps' and Clotho's val and test sounds" in message and "-o blacklist=none keeps them" in message


def test_blacklist_none_keeps_every_entry_and_a_named_blacklist_alone_is_applied(tmp_path):
    root = write_fake_wavcaps(tmp_path).root
    kept = load(root, blacklist="none")
    assert len(kept.samples) == sum(map(len, ENTRIES.values())) and kept.metadata["blacklist"] is None
    every_id = {s.sample_id for s in kept.samples}
    ub8k = load(root, blacklist="ub8k_esc50_vggsound")
    assert every_id - {s.sample_id for s in ub8k.samples} == {"FreeSound/90001"}
    assert ub8k.metadata["blacklist"]["files"] == ["blacklist_exclude_ub8k_esc50_vggsound.json"]
    both = load(root, blacklist="blacklist_exclude_test_ac.json+ub8k_esc50_vggsound")
    assert every_id - {s.sample_id for s in both.samples} == BLACKLISTED | {"FreeSound/90001"}
    every = load(root, blacklist="all")
    assert every_id - {s.sample_id for s in every.samples} == BLACKLISTED | {
        "AudioSet_SL/Y7fmOlUlwoNg", "FreeSound/90001"}  # all_ac's FreeSound id written as a number matches too
    assert every.metadata["blacklist"]["files"] == [f"blacklist_exclude_{n}.json" for n in sorted(BLACKLISTS)]


def test_a_blacklist_named_that_is_not_there_is_refused_naming_those_there(tmp_path):
    root = write_fake_wavcaps(tmp_path).root
    with pytest.raises(CorpusNotFoundError, match=r"blacklist_exclude_clotho\.json not found .*blacklist=clotho.*"
                                                  r"\['all_ac', 'test_ac', 'ub8k_esc50_vggsound'\]"):
        load(root, blacklist="clotho")


def test_without_blacklists_every_entry_is_loaded_with_a_warning(tmp_path, caplog):
    fake = write_fake_wavcaps(tmp_path, blacklists={})
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.wavcaps"):
        result = load(fake.root)
    assert len(result.samples) == sum(map(len, ENTRIES.values())) == len(fake.expected)
    [message] = [r.getMessage() for r in caplog.records]
    assert "no WavCaps blacklist (blacklist_exclude_test_ac.json)" in message and "no entry is left out" in message


def test_the_default_blacklist_missing_is_a_warning_and_the_others_are_not_applied(tmp_path, caplog):
    fake = write_fake_wavcaps(tmp_path, blacklists={"ub8k_esc50_vggsound": BLACKLISTS["ub8k_esc50_vggsound"]})
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.wavcaps"):
        result = load(fake.root)
    assert len(result.samples) == sum(map(len, ENTRIES.values())) and result.metadata["blacklist"]["files"] == []
    assert "no WavCaps blacklist (blacklist_exclude_test_ac.json)" in caplog.records[0].getMessage()


def test_a_blacklist_key_naming_no_source_stops_the_load_at_its_line(tmp_path):
    root = write_fake_wavcaps(tmp_path).root
    path = write_json(root / "json_files" / "blacklist" / "blacklist_exclude_test_ac.json",
                      {"AudioSet": [], "Clotho": ["1"]})
    with pytest.raises(CorpusFormatError, match=re.escape(f"{path}:3:13: Clotho: key 'Clotho' names no WavCaps") +
                       r".*load without it: -o blacklist=none \(or -o blacklist=all_ac\+ub8k_esc50_vggsound\)"):
        load(root)


def test_a_blacklist_id_that_is_no_text_or_number_stops_the_load_with_a_hint(tmp_path):
    root = write_fake_wavcaps(tmp_path).root
    path = write_json(root / "json_files" / "blacklist" / "blacklist_exclude_test_ac.json",
                      {"AudioSet": ["Yok.wav", None]})
    with pytest.raises(CorpusFormatError, match=re.escape(f"{path}:4:5: AudioSet[1]: expected an id") +
                       r".*got None; .*-o blacklist=none"):
        load(root)
    assert len(load(root, blacklist="none").samples) == sum(map(len, ENTRIES.values()))


def test_a_blacklisted_id_listed_twice_is_a_repeat_and_counted_once(tmp_path):
    root = write_fake_wavcaps(tmp_path).root
    path = add_entries(root, "AudioSet_SL", {"id": "YzkKdxzNC97Y.wav", "caption": "Water again.", "duration": 10.0})
    result = load(root)
    [problem] = result.problems
    assert (problem.sample_id, problem.error_type) == ("AudioSet_SL/YzkKdxzNC97Y", "RepeatedEntry")
    assert problem.path.startswith(f"{path}:") and problem.path.endswith("data[3]")
    assert result.metadata["blacklist"]["left_out"]["AudioSet_SL"] == 1


def test_option_sources_loads_those_sources_only(tmp_path):
    root = write_fake_wavcaps(tmp_path).root
    result = load(root, sources="SoundBible+FreeSound")
    assert sorted({s.extra["source"] for s in result.samples}) == ["FreeSound", "SoundBible"]
    assert result.metadata["blacklist"]["left_out"] == {"FreeSound": 1, "SoundBible": 0}
    with pytest.raises(ConfigError, match="'freesound' is not one of .*did you mean 'FreeSound'"):
        load(root, sources="freesound")


def test_a_source_asked_without_its_json_file_is_refused(tmp_path):
    fake = write_fake_wavcaps(tmp_path, entries={s: ENTRIES[s] for s in ("AudioSet_SL", "SoundBible")})
    assert len(load(fake.root).samples) == len(fake.expected)  # the sources there are loaded
    with pytest.raises(CorpusNotFoundError, match=r"source FreeSound asked \(option sources\), but "
                                                  r"FreeSound/fsd_final\.json is not in .*sources there: "
                                                  r"\['AudioSet_SL', 'SoundBible'\]"):
        load(fake.root, sources="FreeSound")


def test_no_json_file_is_refused_naming_the_folders_looked_in(tmp_path):
    with pytest.raises(CorpusNotFoundError, match=r"no WavCaps captions file \(AudioSet_SL/as_final\.json, .*"
                                                  r"json_files/, WavCaps/json_files/, data/json_files/"):
        load(tmp_path)


def remove_audio_folder(root: Path, source: str) -> None:
    folder = root / audio_folder("release", source)
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


def test_a_source_not_unzipped_is_skipped_with_a_warning_unless_named(tmp_path, caplog):
    fake = write_fake_wavcaps(tmp_path)
    remove_audio_folder(fake.root, "BBC_Sound_Effects")
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.wavcaps"):
        result = load(fake.root)
    assert {s.sample_id for s in result.samples} == set(fake.expected) - {"BBC_Sound_Effects/07075034"}
    assert result.metadata["skipped_sources"] == {"BBC_Sound_Effects": 1} and result.problems == []
    [skip] = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert "no WavCaps audio folder for source BBC_Sound_Effects" in skip and "its 1 entries not loaded" in skip
    assert "WavCaps/Audio/, Zip_files/ and WavCaps/Zip_files/" in skip
    with pytest.raises(CorpusNotFoundError, match="no WavCaps audio folder for source BBC_Sound_Effects.*-o sources="):
        load(fake.root, sources="BBC_Sound_Effects+SoundBible")


def test_a_skipped_source_whose_json_is_broken_is_skipped_all_the_same(tmp_path, caplog):
    """The JSON of a source with no audio is read only to count its entries: a broken one does not stop the
    load, and the blacklist counts name only the sources loaded."""
    fake = write_fake_wavcaps(tmp_path)
    remove_audio_folder(fake.root, "BBC_Sound_Effects")
    [bbc] = fake.root.glob("**/bbc_final.json")
    bbc.write_text('{"data": [', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.wavcaps"):
        result = load(fake.root)
    assert result.metadata["skipped_sources"] == {"BBC_Sound_Effects": None}
    assert "BBC_Sound_Effects" not in result.metadata["blacklist"]["left_out"]
    assert {s.sample_id for s in result.samples} == set(fake.expected) - {"BBC_Sound_Effects/07075034"}
    [skip] = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert "unknown number of (its JSON file cannot be read:" in skip and "bbc_final.json" in skip


def test_no_source_unzipped_is_refused(tmp_path):
    fake = write_fake_wavcaps(tmp_path, entries={s: ENTRIES[s] for s in ("BBC_Sound_Effects", "SoundBible")})
    for source in ("BBC_Sound_Effects", "SoundBible"):
        remove_audio_folder(fake.root, source)
    with pytest.raises(CorpusNotFoundError, match="no WavCaps audio folder for source BBC_Sound_Effects"):
        load(fake.root)


def test_option_audio_dir_names_the_folder_of_the_source_folders(tmp_path):
    fake = write_fake_wavcaps(tmp_path, entries={"SoundBible": ENTRIES["SoundBible"]}, blacklists={})
    (fake.root / "Zip_files").rename(fake.root / "elsewhere")
    moved = fake.root / "elsewhere" / "SoundBible" / audio_folder("release", "SoundBible").split("SoundBible/", 1)[1]
    (fake.root / "sounds").mkdir()
    moved.rename(fake.root / "sounds" / "SoundBible")
    [sample] = load(fake.root, audio_dir="sounds").samples
    assert sample.audio == "sounds/SoundBible/2219.flac"


@pytest.mark.parametrize("parent", ["", "sounds"])
def test_the_zips_path_is_found_in_the_root_and_in_audio_dir(tmp_path, parent):
    fake = write_fake_wavcaps(tmp_path, entries={"SoundBible": ENTRIES["SoundBible"]}, blacklists={})
    (fake.root / parent).mkdir(exist_ok=True)
    (fake.root / "Zip_files" / "SoundBible" / "mnt").rename(fake.root / parent / "mnt")
    options = {"audio_dir": parent} if parent else {}
    [sample] = load(fake.root, **options).samples
    assert sample.audio == "/".join(filter(None, [parent, ZIP_INNER_DIR, "SoundBible_flac", "2219.flac"]))


def test_bad_entries_and_missing_sounds_are_named_at_their_json_entry(tmp_path):
    fake = write_fake_wavcaps(tmp_path)
    root = fake.root
    path = add_entries(root, "SoundBible", "not an entry", {"caption": "no id", "duration": 1.0},
                       {"id": "7", "caption": "   ", "duration": 1.0},
                       {"id": "8", "caption": "A bell.", "duration": "2"},
                       {"id": "2219", "caption": "An airplane again.", "duration": 3.0},
                       {"id": "9", "caption": "Gone.", "duration": 1.0}, {"id": "a/b", "caption": "x", "duration": 1.0},
                       {"id": "10", "caption": "LONE SURROGATE", "duration": 1.0})
    path.write_text(path.read_text(encoding="utf-8").replace("LONE SURROGATE", "\\ud800"), encoding="utf-8")
    write_tone_wav(root / audio_folder("release", "SoundBible") / "8.flac", duration=0.5)
    result = load(root)
    assert {s.sample_id for s in result.samples} == set(fake.expected) | {"SoundBible/8"}
    problems = {p.path.rsplit("data[", 1)[1].rstrip("]"): p for p in result.problems}
    assert sorted(problems, key=int) == ["1", "2", "3", "5", "6", "7", "8"]
    for index, problem in problems.items():
        line = entry_line(path, int(index), problem.path)
        assert line.startswith('"not an entry"' if index == "1" else "{")
    assert (problems["1"].sample_id, problems["2"].sample_id) == (None, None)
    assert "expected an object with id, caption and duration" in problems["1"].reason
    assert "expected an id" in problems["2"].reason and "entry left out" in problems["2"].reason
    assert (problems["3"].sample_id, problems["3"].reason) == ("SoundBible/7", "blank caption; entry left out")
    assert problems["5"].error_type == "RepeatedEntry" and problems["5"].sample_id == "SoundBible/2219"
    assert re.search(rf"listed again \(first at {re.escape(str(path))}:\d+:\d+: data\[0\]\)", problems["5"].reason)
    assert problems["6"].reason == ("audio file 9.flac not found in "
                                    f"{audio_folder('release', 'SoundBible')}/; also looked for 9.wav; entry left out")
    assert "without '/'" in problems["7"].reason
    assert problems["8"].reason == "a caption is not valid Unicode text: '\\ud800'; entry left out"


@pytest.mark.parametrize("duration", [None, "2", -1, [3]])
def test_an_entry_with_a_bad_duration_is_kept_without_it(tmp_path, duration):
    fake = write_fake_wavcaps(tmp_path, entries={"SoundBible": [{**ENTRIES["SoundBible"][0], "duration": duration}]},
                              blacklists={})
    result = load(fake.root)
    [sample] = result.samples
    assert "wavcaps_duration" not in sample.extra and "duration" not in sample.extra and result.problems == []
    assert sample.extra["audio_duration"] == 0.5


def test_the_source_fields_are_kept_as_the_json_holds_them_but_for_what_a_table_cannot_store(tmp_path):
    entry = {**ENTRIES["FreeSound"][0], "tags": ["a", 3], "author": None, "download_link": "", "href": "SURROGATE"}
    fake = write_fake_wavcaps(tmp_path, entries={"FreeSound": [entry]}, blacklists={})
    path = json_file(fake.root, "FreeSound")
    path.write_text(path.read_text(encoding="utf-8").replace("SURROGATE", "\\udc80"), encoding="utf-8")
    [sample] = load(fake.root).samples
    assert (sample.extra["tags"], sample.extra["author"], sample.extra["download_link"]) == (["a", 3], None, "")
    assert "href" not in sample.extra  # a lone surrogate


def test_a_wav_sound_is_found_where_no_flac_is(tmp_path):
    fake = write_fake_wavcaps(tmp_path, entries={"SoundBible": ENTRIES["SoundBible"]}, blacklists={})
    folder = fake.root / audio_folder("release", "SoundBible")
    (folder / "2219.flac").unlink()
    write_tone_wav(folder / "2219.wav", duration=0.5)
    [sample] = load(fake.root).samples
    assert sample.audio.endswith("SoundBible_flac/2219.wav")


@pytest.mark.parametrize(("seconds", "rate"), [(0.5, 16000), (1.2345, 44100), (3.0, 48000), (0.01, 22050)])
def test_audio_duration_is_the_length_soundfile_reads_from_the_header(tmp_path, seconds, rate):
    fake = write_fake_wavcaps(tmp_path, entries={"SoundBible": ENTRIES["SoundBible"]}, blacklists={})
    path = fake.root / audio_folder("release", "SoundBible") / "2219.flac"
    write_tone_wav(path, duration=seconds, sample_rate=rate)
    info = soundfile.info(str(path))
    [sample] = load(fake.root).samples
    assert sample.extra["audio_duration"] == round(info.frames / info.samplerate, 6)


def test_a_flac_not_starting_with_its_streaminfo_gets_soundfiles_length_or_none(tmp_path):
    fake = write_fake_wavcaps(tmp_path, entries={"SoundBible": ENTRIES["SoundBible"]}, blacklists={})
    path = fake.root / audio_folder("release", "SoundBible") / "2219.flac"
    path.write_bytes(b"fLaC" + bytes(40))  # a STREAMINFO of no sample rate: soundfile cannot read it either
    [sample] = load(fake.root).samples
    assert "audio_duration" not in sample.extra


def test_soundbible_under_its_download_name_and_as_a_bare_list_is_read(tmp_path):
    fake = write_fake_wavcaps(tmp_path, entries={"SoundBible": ENTRIES["SoundBible"]}, blacklists={})
    folder = fake.root / "json_files" / "SoundBible"
    (folder / "sb_final.json").unlink()
    write_json(folder / "json_files_SoundBible_sb_final.json", ENTRIES["SoundBible"])  # the GitHub file: a list
    [sample] = load(fake.root).samples
    assert (sample.sample_id, sample.captions) == ("SoundBible/2219", ("An airplane is landing.",))


def test_a_file_with_more_captions_per_sound_or_without_data_is_refused(tmp_path):
    root = write_fake_wavcaps(tmp_path).root
    path = write_json(json_file(root, "SoundBible"), {"num_captions_per_audio": 5, "data": []})
    with pytest.raises(CorpusFormatError, match=re.escape(f"{path}:2:29: num_captions_per_audio: expected 1 caption")):
        load(root)
    write_json(path, {"entries": []})
    with pytest.raises(CorpusFormatError, match=re.escape(f"{path}: expected ") + r".*a WavCaps \*_final\.json"):
        load(root)


def test_only_split_train_is_there(tmp_path):
    root = write_fake_wavcaps(tmp_path).root
    assert len(load(root, "train").samples) == len(load(root, "all").samples) == len(load(root).samples)
    with pytest.raises(ConfigError, match="WavCaps publishes no 'val' split: it is a pretraining set"):
        load(root, "val")
    with pytest.raises(ConfigError, match="unknown split 'dev'"):
        load(root, "dev")


# Fuzzing: the entries under a fixed valid blacklist (or none), and the blacklist under fixed valid entries.
FUZZ = settings(max_examples=300, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
TRICKY_TEXT = ["", " ", "\ud800", "a/b", "x\x00y"]
json_leaves = st.one_of(st.none(), st.booleans(), st.integers(-3, 2**70), st.floats(), st.text(max_size=8),
                        st.sampled_from(TRICKY_TEXT))
any_json = st.recursive(json_leaves, lambda inner: st.lists(inner, max_size=2) |
                        st.dictionaries(st.text(max_size=4), inner, max_size=2), max_leaves=3)


def mostly(strategy):
    """Mostly `strategy`'s values, sometimes any JSON value."""
    return st.one_of(strategy, strategy, strategy, any_json)


#: The sounds there (SoundBible/<id>.flac); other ids are missing sounds.
FUZZ_SOUNDS = ("2219", "7")
sound_ids = st.sampled_from(["2219", "2219.wav", " 7 ", "7.flac", 7])
fuzz_ids = st.one_of(sound_ids, sound_ids, st.sampled_from(["8", *TRICKY_TEXT]), st.integers(-2, 9), st.floats(),
                     st.text(max_size=6))
fuzz_captions = st.one_of(st.just("A bell."), st.just(" A bell. "), st.sampled_from(TRICKY_TEXT), st.text(max_size=8))
fuzz_optional = {"duration": mostly(st.floats(-1, 100)), "tags": any_json, "title": any_json}
#: Entries of a sound there with a usable caption, and entries any of whose fields may be wrong.
usable_entries = st.fixed_dictionaries({"id": sound_ids, "caption": st.sampled_from(["A bell.", " A dog. "])},
                                       optional=fuzz_optional)
fuzzed_entries = mostly(st.fixed_dictionaries({"id": mostly(fuzz_ids), "caption": mostly(fuzz_captions)},
                                              optional=fuzz_optional))
fuzz_entries = st.lists(st.one_of(usable_entries, fuzzed_entries), max_size=6)
NO_BLACKLIST = object()  # no blacklist file
#: Valid blacklists: none, one naming the sounds' ids for another source, one naming one for SoundBible.
fuzz_blacklists = st.sampled_from([NO_BLACKLIST, {"FreeSound": ["7", 2219], "AudioSet": []}, {"SoundBible": ["7.wav"]}])


def write_fuzz_corpus(root: Path, entries, blacklist) -> None:
    """SoundBible's JSON file of `entries`, the test_ac blacklist (no file for `NO_BLACKLIST`) and the sounds of
    `FUZZ_SOUNDS`."""
    for stem in FUZZ_SOUNDS:
        if not (root / "SoundBible" / f"{stem}.flac").exists():
            write_tone_wav(root / "SoundBible" / f"{stem}.flac", duration=0.1)
    (root / "json_files" / "SoundBible").mkdir(parents=True, exist_ok=True)
    (root / "json_files" / "SoundBible" / "sb_final.json").write_bytes(json.dumps(
        {"num_captions_per_audio": 1, "data": entries}, allow_nan=True).encode("utf-8", "surrogatepass"))
    blacklist_file = root / "json_files" / "blacklist" / "blacklist_exclude_test_ac.json"
    blacklist_file.unlink(missing_ok=True)
    if blacklist is not NO_BLACKLIST:
        blacklist_file.parent.mkdir(exist_ok=True)
        blacklist_file.write_bytes(json.dumps(blacklist, allow_nan=True).encode("utf-8", "surrogatepass"))


def id_text(value) -> str | None:
    """An entry's id as the loader keeps it in extra["wavcaps_id"] (a whole number as text, text stripped)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
            and float(value).is_integer():
        return str(int(value))
    return value.strip() if isinstance(value, str) else None


def usable_caption(value) -> bool:
    """Whether `value` is a caption the loader keeps: text, valid Unicode, not blank."""
    return isinstance(value, str) and bool(value.strip()) and value.encode("utf-8", "replace") == value.encode(
        "utf-8", "surrogatepass")


@FUZZ
@given(entries=fuzz_entries, blacklist=fuzz_blacklists)
def test_fuzz_wavcaps_entries(tmp_path, entries, blacklist):
    write_fuzz_corpus(tmp_path, entries, blacklist)
    result = load(tmp_path)
    samples_to_table(result.samples)  # what was returned makes a valid samples table
    ids = [s.sample_id for s in result.samples]
    assert len(ids) == len(set(ids))
    left_out = result.metadata["blacklist"]["left_out"]["SoundBible"]
    assert len(result.samples) + len(result.problems) + left_out == len(entries)  # each entry accounted for once
    assert all(p.path.endswith("]") for p in result.problems)
    if blacklist is not NO_BLACKLIST and "SoundBible" in blacklist:
        assert "SoundBible/7" not in ids
    for sample in result.samples:
        [caption] = sample.captions
        same_id = [e for e in entries if isinstance(e, dict) and id_text(e.get("id")) == sample.extra["wavcaps_id"]
                   and usable_caption(e.get("caption"))]
        assert caption == same_id[0]["caption"].strip()  # the first usable entry of that id


listed_ids = st.sampled_from(["7", "2219", "7.wav", 7, "x"])
valid_blacklists = st.dictionaries(st.sampled_from(["AudioSet", "FreeSound", "SoundBible"]),
                                   st.lists(listed_ids, max_size=3), max_size=3)
fuzzed_blacklists = mostly(st.dictionaries(st.sampled_from(["AudioSet", "FreeSound", "SoundBible", "Clotho"]),
                                           mostly(st.lists(mostly(listed_ids), max_size=3)), max_size=3))


@FUZZ
@given(blacklist=st.one_of(valid_blacklists, fuzzed_blacklists))
def test_fuzz_wavcaps_blacklist(tmp_path, blacklist):
    write_fuzz_corpus(tmp_path, [{"id": stem, "caption": "A bell.", "duration": 1.0} for stem in FUZZ_SOUNDS],
                      blacklist)
    try:
        result = load(tmp_path)
    except CorpusFormatError as e:
        assert "blacklist_exclude_test_ac.json" in str(e)
        return
    listed = {str(v).removesuffix(".wav") for v in blacklist.get("SoundBible", [])}
    assert {s.sample_id for s in result.samples} == {f"SoundBible/{s}" for s in FUZZ_SOUNDS if s not in listed}
