"""MMSA-style raw corpora (kind `mmsa-raw`): CH-SIMS, SIMSv2, and MOSI/MOSEI as THUIAR lays them out.

    label.csv                       # parsed by header (distributed files exist in several column orders)
        video_id,clip_id,text,label,label_T,label_A,label_V,annotation,mode
        video_0001,0001,我不知道,-0.8,-1.0,-0.6,-0.8,Negative,train
    Raw/<video_id>/<clip_id>.mp4

One sample per row: sample_id `<video_id>$_$<clip_id>` (MMSA's id), group_id the video id, the clip
as `video` (audio extractors read its audio track), `text` as transcript, `label` as label, and
`label_T/A/V` (CH-SIMS unimodal labels; empty elsewhere, as numbers), `annotation` and any other
non-empty column (as text) in `extra`. The unimodal keys some sample holds are named in the loader
metadata (`extra.loader.label_names`), for `mmdata fuse --labels`. `mode` must be train, valid or
test and becomes the split. A row whose clip path names no regular file is reported and dropped, the
reason saying what is there (nothing, a folder, a broken link, a FIFO: never opened); an empty or
unreadable clip file stays a sample (`extract` names it in the errors table, as for every corpus).

A label.csv saved back by pandas without `dtype={'clip_id': str}` holds clip id `1` for the file
`0001.mp4`: such a row takes the one zero-padded file of its video with that number, and its id is
spelled as the file (`video_0001$_$0001`, as MMSA's processed files spell it). Two rows naming one
clip (`1` and `0001`) are a duplicate, reported; the first stays. So are two pairs that join to one
sample id (`a$_$b`,`c` and `a`,`b$_$c`), reported as such.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from mmdata.corpora.base import (
    LoadProblem,
    LoadResult,
    expect,
    parse_number,
    read_csv_rows,
    register_corpus,
    require_file,
    safe_relative_path,
)
from mmdata.corpora.csd_labels import extra_key_labels
from mmdata.errors import CorpusFormatError
from mmdata.media.files import is_regular_file, media_file_problem
from mmdata.records import Sample

log = logging.getLogger(__name__)

CORPUS = "mmsa-raw"
LABEL_FILE = "label.csv"
REQUIRED_COLUMNS = ("video_id", "clip_id", "label", "mode")
UNIMODAL_COLUMNS = ("label_T", "label_A", "label_V")
MODES = ("train", "valid", "test")
KNOWN_COLUMNS = (*REQUIRED_COLUMNS, "text", *UNIMODAL_COLUMNS, "annotation")
ID_SEPARATOR = "$_$"


@dataclass(frozen=True)
class MmsaRawOptions:
    #: Folder of the clips relative to the root.
    raw_dir: str = "Raw"
    #: Clip file extension.
    video_ext: str = ".mp4"
    allow_outside_root: bool = False
    #: Which corpus this is (cmu-mosi, cmu-mosei, ch-sims, ...): sets the label range `mmdata check` enforces.
    dataset: str | None = None


@register_corpus(CORPUS, MmsaRawOptions)
def load_mmsa_raw(corpus_dir: Path, options: MmsaRawOptions, split: str | None) -> LoadResult:
    """MMSA `label.csv` + `Raw/<video_id>/<clip_id>.mp4` (CH-SIMS, MOSI, MOSEI as MMSA ships them)."""
    path = require_file(corpus_dir / LABEL_FILE, "MMSA label file", "expected label.csv beside Raw/")
    header, rows = read_csv_rows(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    expect(not missing, f"{path}:1", f"header lacks {missing}; expected columns {','.join(REQUIRED_COLUMNS)} "
           f"(plus text, label_T, label_A, label_V, annotation), got {','.join(header)!r}")
    if split is not None and split not in MODES:
        raise CorpusFormatError(f"{path}: unknown split {split!r}; MMSA splits are {list(MODES)}")
    result = LoadResult(samples=[])
    seen: dict[str, tuple[str, str, str]] = {}  # sample id -> (where, video_id, clip_id) of its first row
    numbered: dict[str, dict[int, list[str]]] = {}  # video folder -> clip number -> clip ids of its files
    unpadded = 0
    for line, row in rows:
        where = f"{path}:{line}"
        video_id, clip_id, mode = row["video_id"], row["clip_id"], row["mode"]
        expect(bool(video_id) and bool(clip_id), where, f"expected non-empty video_id and clip_id, got {video_id!r}, {clip_id!r}")
        expect(mode in MODES, where, f"mode {mode!r} is not one of {list(MODES)}")
        relative = _clip_path(corpus_dir, options, video_id, clip_id, where)
        if not (corpus_dir / relative).is_file() and clip_id.isascii() and clip_id.isdigit():
            files = _numbered_clips(corpus_dir / Path(relative).parent, options.video_ext, numbered)
            if len(files.get(int(clip_id), ())) == 1:  # `1` for `0001.mp4`: the id lost its zeros in a spreadsheet
                clip_id, unpadded = files[int(clip_id)][0], unpadded + 1
                relative = _clip_path(corpus_dir, options, video_id, clip_id, where)
        sample_id = f"{video_id}{ID_SEPARATOR}{clip_id}"
        if sample_id in seen:
            result.problems.append(LoadProblem(sample_id, where, _repeated_id_reason(seen[sample_id], video_id, clip_id)))
            continue
        seen[sample_id] = (where, video_id, clip_id)
        if split is not None and mode != split:
            continue
        if not is_regular_file(corpus_dir / relative):
            result.problems.append(LoadProblem(sample_id, relative, _dropped_clip_reason(corpus_dir / relative, where)))
            continue
        extra = {c: parse_number(row[c], where, c, required=True) for c in UNIMODAL_COLUMNS if row.get(c)}
        extra.update({"video_id": video_id, "clip_id": clip_id})
        if row.get("annotation"):
            extra["annotation"] = row["annotation"]
        extra.update({c: v for c, v in row.items() if c not in KNOWN_COLUMNS and v != ""})
        result.samples.append(Sample(
            sample_id=sample_id, corpus=CORPUS, split=mode, group_id=video_id, video=relative,
            transcript=row.get("text") or None, label=parse_number(row["label"], where, "label", required=True), extra=extra,
        ))
    result.metadata.update(extra_key_labels(result.samples, UNIMODAL_COLUMNS))  # for `fuse --labels`
    if unpadded:
        log.warning("%s: %d rows name a clip id without its leading zeros (e.g. 1 for 0001%s); matched to the "
                    "zero-padded clip files, whose names the sample ids use", path, unpadded, options.video_ext)
    return result


def _dropped_clip_reason(clip: Path, where: str) -> str:
    """Why a row whose clip path names no regular file is dropped: what is there instead (a folder, a
    broken link, a FIFO, ...: `media_file_problem`), or, where nothing is, that the clip is not found."""
    try:
        clip.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return f"clip file not found (row {where}); dropped"
    except OSError:
        pass  # e.g. a folder on the way that cannot be searched: media_file_problem says so
    problem = media_file_problem(clip, "clip") or f"clip path is not a regular file: {clip}"  # or: it just became one
    return f"{problem} (row {where}); dropped"


def _repeated_id_reason(first: tuple[str, str, str], video_id: str, clip_id: str) -> str:
    """Why a row whose sample id an earlier row already took is ignored: the same (video_id, clip_id),
    or two different pairs that join to one id (`a$_$b`,`c` and `a`,`b$_$c`)."""
    where, first_video, first_clip = first
    if (first_video, first_clip) == (video_id, clip_id):
        return f"duplicate (video_id, clip_id) (first at {where}); the later row is ignored"
    return (f"(video_id, clip_id) ({video_id!r}, {clip_id!r}) and ({first_video!r}, {first_clip!r}) at {where} join "
            f"to the same sample id {video_id + ID_SEPARATOR + clip_id!r}; the later row is ignored; an id that "
            f"holds {ID_SEPARATOR!r} makes such pairs ambiguous: rename one of them")


def _clip_path(corpus_dir: Path, options: MmsaRawOptions, video_id: str, clip_id: str, where: str) -> str:
    return safe_relative_path(corpus_dir, f"{options.raw_dir.strip('/')}/{video_id}/{clip_id}{options.video_ext}",
                              where=where, allow_outside=options.allow_outside_root)


def _numbered_clips(folder: Path, video_ext: str, cache: dict[str, dict[int, list[str]]]) -> dict[int, list[str]]:
    """Clip number -> clip ids (file stems, e.g. '0001') of the clip files in `folder` named by digits."""
    key = str(folder)
    if key not in cache:
        cache[key] = {}
        if folder.is_dir():
            for clip in sorted(folder.iterdir()):
                stem = clip.name[: -len(video_ext)] if video_ext and clip.name.endswith(video_ext) else None
                if stem and stem.isascii() and stem.isdigit():
                    cache[key].setdefault(int(stem), []).append(stem)
    return cache[key]
