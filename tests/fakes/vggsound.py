"""A fake VGGSound as copies of it are on disk: the release's vggsound.csv (no header; a class quoted only where it
holds a comma) and real clips named `<youtube_id>_<start:06d>`: MP4s with an AAC sound track in one folder (the download
scripts', Loie/VGGSound's), or FLAC/WAV sound alone in `train/` and `test/` folders (CAV-MAE's).

`write_fake_vggsound` returns a `FakeCorpus` whose `expected` holds the samples a loader must yield for no split;
`CLASSES` gives each sample's class.
"""
from __future__ import annotations

from pathlib import Path

from tests.fakes import ExpectedSample, FakeCorpus, register_fake
from tests.fakes.av import tone, write_mp4, write_wav

#: The clips: (youtube_id, start_seconds, class, split); `-` and `_` in ids as YouTube's, two clips of one video.
CLIPS: tuple[tuple[str, int, str, str], ...] = (
    ("--0PQM4-hqg", 30, "waterfall burbling", "train"),
    ("-5Jlimvx0A0", 0, "male speech, man speaking", "train"),
    ("_9fQ2WgM8Vs", 120, "dog barking", "train"),
    ("---g-f_I2yQ", 1, "people marching", "test"),
    ("_9fQ2WgM8Vs", 250, "dog barking", "test"),
)
#: Each sample's class under the default options.
CLASSES = {f"{yid}_{start:06d}": label for yid, start, label, _ in CLIPS}


def vggsound_csv(clips: tuple[tuple[str, int, str, str], ...]) -> str:
    """The release's rows as vggsound.csv writes them: no header, a class quoted only where it holds a comma
    (`---g-f_I2yQ,1,people marching,test`, `-5Jlimvx0A0,0,"male speech, man speaking",train`), LF line ends."""
    return "".join(f'{youtube_id},{start},{quoted_label(label)},{split}\n' for youtube_id, start, label, split in clips)


def quoted_label(label: str) -> str:
    """A class as vggsound.csv writes it: in quotes where it holds a comma, else bare."""
    return f'"{label}"' if "," in label else label


def write_clip(path: Path, seed: int, duration: float = 1.0) -> Path:
    """A short clip at `path` by its suffix: an MP4 of two colours with a tone as its AAC track, else the tone
    alone (FLAC or WAV, 16 kHz)."""
    sound = tone(220.0 * (seed + 1), duration)
    if path.suffix == ".mp4":
        frames = int(duration * 10) // 2
        return write_mp4(path, [(40 * seed % 256, 90, 30), (10, 70 * seed % 256, 200)], fps=10,
                         frames_per_color=frames, audio=sound)
    return write_wav(path, sound)


def write_fake_vggsound(root: Path, *, csv_dir: str = "", media_dir: str = "video", suffix: str = ".mp4",
                        split_folders: bool = False,
                        clips: tuple[tuple[str, int, str, str], ...] = CLIPS) -> FakeCorpus:
    """vggsound.csv in `csv_dir` and each clip in `media_dir` (in its split's folder with `split_folders`) as
    `<youtube_id>_<start:06d><suffix>`."""
    expected: dict[str, ExpectedSample] = {}
    for seed, (youtube_id, start, _, split) in enumerate(clips):
        folder = "/".join(p for p in (media_dir, split if split_folders else "") if p)
        path = f"{folder}/{youtube_id}_{start:06d}{suffix}".lstrip("/")
        write_clip(root / path, seed)
        media = {"video": path} if suffix == ".mp4" else {"audio": path}
        expected[f"{youtube_id}_{start:06d}"] = ExpectedSample(split=split, **media)
    csv_path = root / csv_dir / "vggsound.csv"
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    csv_path.write_text(vggsound_csv(clips), encoding="utf-8")
    return FakeCorpus("vggsound", root, csv_path, expected, corrupt=lambda: garble_line(csv_path, 3))


def garble_line(path: Path, number: int) -> str:
    """Put a byte that is no UTF-8 (Latin-1's `é`) into line `number` (1-based): the file cannot be read as the
    release's CSV at all, which stops the load; return `"<path>:<number>"`."""
    lines = path.read_bytes().split(b"\n")
    lines[number - 1] = lines[number - 1].replace(b"dog", b"caf\xe9 dog", 1) + b"\xe9"
    path.write_bytes(b"\n".join(lines))
    return f"{path}:{number}"


@register_fake("vggsound", "mp4-one-folder")
def write_fake_vggsound_mp4(root: Path) -> FakeCorpus:
    """vggsound.csv in the root, every clip in video/ as an MP4 with its sound (the download scripts' layout)."""
    return write_fake_vggsound(root)


@register_fake("vggsound", "flac-split-folders")
def write_fake_vggsound_flac(root: Path) -> FakeCorpus:
    """vggsound.csv in data/, the sound alone as FLAC in audio/train/ and audio/test/ (CAV-MAE's layout)."""
    return write_fake_vggsound(root, csv_dir="data", media_dir="audio", suffix=".flac", split_folders=True)
