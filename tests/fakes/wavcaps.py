"""A fake WavCaps as its Hugging Face release unpacks: `json_files/<source>/*_final.json` (indented, so that lines
mean something; each source with its own fields), `json_files/blacklist/blacklist_exclude_*.json` and half-second
FLAC tones, in the folders the zips unpack to or in aac-datasets' `WavCaps/Audio/<source>/`.

`write_fake_wavcaps` returns a `FakeCorpus` whose `expected` holds the samples a loader must yield with the default
options: the entries the default blacklist (`test_ac`) lists for their source (`BLACKLISTED`) are not among them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from tests.fakes import ExpectedSample, FakeCorpus, register_fake, replace_line
from tests.fakes.av import write_tone_wav
from tests.fakes.captioned_media import write_json

JSON_NAMES = {"AudioSet_SL": "as_final.json", "BBC_Sound_Effects": "bbc_final.json", "FreeSound": "fsd_final.json",
              "SoundBible": "sb_final.json"}
ZIP_INNER_DIR = "mnt/fast/nobackup/scratch4weeks/xm00178/WavCaps/data/waveforms"
#: Each source's entries as the release writes them (ids as there: AudioSet's with `.wav`, a FreeSound one a number).
ENTRIES: dict[str, list[dict[str, Any]]] = {
    "AudioSet_SL": [
        {"id": "Y7fmOlUlwoNg.wav", "caption": "A dog barks while a man talks.", "audio": "wav_path", "duration": 10.0},
        {"id": "YzkKdxzNC97Y.wav", "caption": "Water runs from a tap.", "audio": "wav_path", "duration": 10.0},
        {"id": "Y--BfvyPmVMo.wav", "caption": "  Birds chirp, \"loudly\", in the morning.  ", "audio": "wav_path",
         "duration": 9.5},
    ],
    "BBC_Sound_Effects": [
        {"id": "07075034", "description": "Rain on a tin roof - 1986", "category": "['Weather']",
         "caption": "Rain falls on a tin roof.", "audio": "wav_path", "download_link":
         "https://sound-effects-media.bbcrewind.co.uk/zip/07075034.wav.zip", "duration": 95.1},
    ],
    "FreeSound": [
        {"id": "180913", "file_name": "Café ambience.wav", "href": "180913-Cafe-ambience.html",
         "tags": ["cafe", "crowd"], "description": "Ambience of a café", "author": "Jürgen",
         "download_link": "https://freesound.org/people/x/sounds/180913/download/180913.wav",
         "caption": "People talk in a busy café.", "duration": 30.2},
        {"id": 322466, "file_name": "door.wav", "href": "322466-door.html", "tags": [], "description": "A door",
         "author": "y", "download_link": "", "caption": "A door creaks open.", "duration": 2.0},
        {"id": "90001", "file_name": "dog.wav", "href": "90001-dog.html", "tags": ["dog"], "description": "dog bark",
         "author": "z", "download_link": "", "caption": "A dog barks twice.", "duration": 1.0},
    ],
    "SoundBible": [
        {"title": "Airplane Landing Airport", "description": "Large commercial airplane landing at an airport runway.",
         "author": "Daniel Simion", "href": "2219-Airplane-Landing-Airport.html", "caption": "An airplane is landing.",
         "id": "2219", "duration": 14.1424375},
    ],
}
#: The blacklists: name -> {key: ids}. test_ac's FreeSound "2219" is also a SoundBible id: SoundBible/2219 is kept.
BLACKLISTS = {"test_ac": {"AudioSet": ["YzkKdxzNC97Y.wav", "YnotInWavCap.wav"], "FreeSound": ["322466", "2219"]},
              "all_ac": {"AudioSet": ["YzkKdxzNC97Y.wav", "Y7fmOlUlwoNg.wav"], "FreeSound": [322466]},
              "ub8k_esc50_vggsound": {"AudioSet": [], "FreeSound": ["90001"]}}
DEFAULT_BLACKLIST = "test_ac"
#: The blacklist keys' sources.
BLACKLIST_SOURCES = {"AudioSet": "AudioSet_SL", "FreeSound": "FreeSound"}
#: The samples the default blacklist leaves out.
BLACKLISTED = {"AudioSet_SL/YzkKdxzNC97Y", "FreeSound/322466"}
WavCapsLayout = Literal["release", "aac-datasets"]


def entry_stem(entry: dict[str, Any]) -> str:
    """The file name of an entry's sound without its suffix: the id without `.wav`."""
    return str(entry["id"]).removesuffix(".wav")


def audio_folder(layout: WavCapsLayout, source: str) -> str:
    """Where a layout keeps a source's sounds: the path the release's zips hold, or aac-datasets' folder."""
    if layout == "release":
        return f"Zip_files/{source}/{ZIP_INNER_DIR}/{source}_flac"
    return f"WavCaps/Audio/{source}"


def write_fake_wavcaps(root: Path, *, layout: WavCapsLayout = "release",
                       entries: dict[str, list[dict[str, Any]]] = ENTRIES,
                       blacklists: dict[str, dict[str, list]] = BLACKLISTS) -> FakeCorpus:
    """The JSON files of `entries`' sources and blacklists in `json_files/` (`WavCaps/json_files/` for aac-datasets),
    and each entry's sound as a FLAC tone in its source's folder of `layout`."""
    json_dir = root / ("json_files" if layout == "release" else "WavCaps/json_files")
    expected: dict[str, ExpectedSample] = {}
    listed = {f"{BLACKLIST_SOURCES.get(key, key)}/{str(i).removesuffix('.wav')}"
              for key, ids in blacklists.get(DEFAULT_BLACKLIST, {}).items() for i in ids}
    for n, (source, items) in enumerate(entries.items()):
        write_json(json_dir / source / JSON_NAMES[source], {"num_captions_per_audio": 1, "data": items})
        for k, entry in enumerate(items):
            audio = f"{audio_folder(layout, source)}/{entry_stem(entry)}.flac"
            write_tone_wav(root / audio, freq=200.0 + 40 * n + 10 * k, duration=0.5)
            if f"{source}/{entry_stem(entry)}" not in listed:
                expected[f"{source}/{entry_stem(entry)}"] = ExpectedSample(
                    audio=audio, captions=(entry["caption"].strip(),), split="train")
    for name, ids in blacklists.items():
        write_json(json_dir / "blacklist" / f"blacklist_exclude_{name}.json", ids)
    path = json_dir / "AudioSet_SL" / JSON_NAMES["AudioSet_SL"]
    return FakeCorpus("wavcaps", root, path, expected,
                      corrupt=lambda: replace_line(path, 5, '      "id": Y7fmOlUlwoNg.wav,'))


@register_fake("wavcaps", "hf-release")
def write_fake_wavcaps_release(root: Path) -> FakeCorpus:
    """The Hugging Face release: json_files/ and the zips unpacked in Zip_files/<source>/ (mnt/.../<source>_flac/)."""
    return write_fake_wavcaps(root)


@register_fake("wavcaps", "aac-datasets")
def write_fake_wavcaps_aac_datasets(root: Path) -> FakeCorpus:
    """As aac-datasets prepares it: WavCaps/json_files/ and WavCaps/Audio/<source>/<id>.flac."""
    return write_fake_wavcaps(root, layout="aac-datasets")
