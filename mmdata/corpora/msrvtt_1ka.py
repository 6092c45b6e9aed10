"""MSR-VTT's 1k-A retrieval split (JSFusion's; CLIP4Clip's `msrvtt_data.zip`), for the `msrvtt` loader.

MSRVTT_train.9k.csv (and MSRVTT_train.7k.csv) list the train videos, one a line under a `video_id` header:
    video_id
    video0
MSRVTT_JSFUSION_test.csv lists the 1,000 test videos, each with its retrieval query (pandas may have
written its index as an unnamed first column, which is left out):
    key,vid_key,video_id,sentence
    ret0,msr9770,video9770,a person is connecting something to system
Both sit beside MSRVTT_data.json, whose sentences give the captions of the train videos (all 20).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mmdata.corpora.base import LoadProblem, expect, read_csv_rows
from mmdata.corpora.media_captions import listed_again, repeated_entry_problem
from mmdata.corpora.msrvtt_json import Annotations, read_annotations
from mmdata.errors import CorpusNotFoundError

if TYPE_CHECKING:
    from mmdata.corpora.msrvtt import MsrvttOptions

log = logging.getLogger(__name__)

DATA_FILE = "MSRVTT_data.json"
TEST_CSV = "MSRVTT_JSFUSION_test.csv"
DATA_DIRS = ("", "msrvtt_data")
UNASSIGNED = "unassigned"
ONE_K_A_SPLITS = ("train", "test", UNASSIGNED)

#: video id -> (split, where it is listed: `file:line`, or a function locating a JSON entry, its captions:
#: None for the JSON's sentences).
Assigned = dict[str, tuple[str, str | Callable[[], str], tuple[str, ...] | None]]


def find_data_file(corpus_dir: Path) -> Path | None:
    """MSRVTT_data.json in the root or `msrvtt_data/`, else None."""
    return next((corpus_dir / d / DATA_FILE for d in DATA_DIRS if (corpus_dir / d / DATA_FILE).is_file()), None)


def load_one_k_a(data_path: Path, options: MsrvttOptions, wanted: str | None) -> tuple[Annotations, Assigned, dict]:
    """The annotations of MSRVTT_data.json at `data_path` (`find_data_file`) and each video's 1k-A split: train
    from the train CSV, test from the JSFusion CSV (with its query as the caption unless `test_captions=all`),
    both beside it, and `unassigned` for the JSON's other videos. A video listed again, in one file or both,
    keeps its first split (train first).

    Raises:
        CorpusNotFoundError: a split CSV that split `wanted` (any, for None) needs is missing (one that is there
            is read whatever the split, so that a video both files list is found).
        CorpusFormatError: a CSV without its `video_id` (and `sentence`) column, or a row without a video id.
    """
    annotations = Annotations()
    read_annotations(data_path, annotations, videos_required=False)
    assigned: Assigned = {}
    files = {"train": data_path.parent / options.train_csv, "test": data_path.parent / TEST_CSV}
    for split, path in files.items():
        _require_csv(path, "train_csv" if split == "train" else None, needed=wanted in (None, split, UNASSIGNED))
    if files["train"].is_file():
        _read_train_csv(files["train"], assigned, annotations.problems)
    if files["test"].is_file():
        _read_test_csv(files["test"], assigned, annotations.problems, keep_query=options.test_captions == "query")
    _assign_the_rest(annotations, assigned, data_path)
    return annotations, assigned, {"annotation_files": [data_path.name], "split_files": {
        split: path.name for split, path in files.items() if path.is_file()}, "test_captions": options.test_captions}


def _read_train_csv(path: Path, assigned: Assigned, problems: list[LoadProblem]) -> None:
    header, rows = read_csv_rows(path)
    expect("video_id" in header, f"{path}:1", f"expected a video_id column, got {','.join(header)[:120]!r}")
    for line, row in rows:
        _assign(path, line, row, "train", None, assigned, problems)


def _read_test_csv(path: Path, assigned: Assigned, problems: list[LoadProblem], *, keep_query: bool) -> None:
    header, rows = read_csv_rows(path)
    expect("video_id" in header and "sentence" in header, f"{path}:1",
           f"expected the header 'key,vid_key,video_id,sentence', got {','.join(header)[:120]!r}")
    for line, row in rows:
        query = row["sentence"]
        if not query:
            problems.append(LoadProblem(row["video_id"] or None, f"{path}:{line}",
                                        f"empty sentence of test video {row['video_id']!r}; row left out"))
            continue
        _assign(path, line, row, "test", (query,) if keep_query else None, assigned, problems)


def _assign(path: Path, line: int, row: dict[str, str], split: str, captions: tuple[str, ...] | None,
            assigned: Assigned, problems: list[LoadProblem]) -> None:
    """Give a CSV row's video its split, unless an earlier row did (the repeat then is a problem)."""
    where, video_id = f"{path}:{line}", row["video_id"]
    expect(bool(video_id), where, "expected a video id (e.g. video7010) in column video_id, got nothing")
    if video_id in assigned:
        first_split, first_where, _ = assigned[video_id]  # a CSV row's: `file:line`
        problems.append(repeated_entry_problem(video_id, where, video_id, listed_again(first_split, split),
                                               first_where, "this row"))
        return
    assigned[video_id] = (split, where, captions)


def _assign_the_rest(annotations: Annotations, assigned: Assigned, data_path: Path) -> None:
    """Put the videos the JSON captions (or lists) but no split file names in split `unassigned`, with one warning."""
    rest = [v for v in (*annotations.videos, *annotations.sentences) if v not in assigned]
    rest = list(dict.fromkeys(rest))
    for video_id in rest:
        info = annotations.videos.get(video_id)
        assigned[video_id] = (UNASSIGNED, info.where if info else annotations.sentence_at[video_id], None)
    if rest:
        log.warning("%s: %d videos are in no split file (e.g. %s); kept in split %r (--split train or test leaves "
                    "them out)", data_path, len(rest), rest[0], UNASSIGNED)


def _require_csv(path: Path, option: str | None, *, needed: bool) -> None:
    """Raises CorpusNotFoundError: a split file the split asked (`needed`) reads is missing."""
    if needed and not path.is_file():
        raise CorpusNotFoundError(
            f"MSR-VTT 1k-A split file {path.name} not found in {path.parent} (beside MSRVTT_data.json)"
            + (f"; option {option} names another" if option else "") + "; or pass --split to load the other split")
