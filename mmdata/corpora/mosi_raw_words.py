"""Word timings of `mosi-raw` segments in any layout: `words.csv` (`segment_id,word,start,end`, seconds
of the segment's media file) read into `extra.words`, and the transcripts made from those words for
segments.csv rows without a text column.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdata.corpora.base import LoadProblem, LoadResult, expect, parse_number, read_csv_rows
from mmdata.corpora.mosi_raw_segments import _Segment
from mmdata.errors import CorpusNotFoundError
from mmdata.records import spoken_transcript

if TYPE_CHECKING:
    from mmdata.corpora.mosi_raw import MosiRawOptions

WORDS_FILE = "words.csv"


def _attach_words(corpus_dir: Path, options: MosiRawOptions, segments: dict[str, _Segment], result: LoadResult) -> bool:
    """`extra.words` of each segment from the word timings file; whether there is such a file."""
    path = corpus_dir / (options.words_file or WORDS_FILE)
    if not path.is_file():
        if options.words_file:
            raise CorpusNotFoundError(f"word timings file not found: {path}")
        return False
    header, rows = read_csv_rows(path)
    expect({"segment_id", "word", "start", "end"} <= set(header), f"{path}:1",
           f"expected a header with segment_id,word,start,end, got {','.join(header)!r}")
    words: dict[str, list[list[Any]]] = {}
    outside: dict[str, list[tuple[str, list[Any]]]] = {}  # segment -> (where, word) of its words outside it
    for line, row in rows:
        where = f"{path}:{line}"
        start = parse_number(row["start"], where, "start", required=True)
        end = parse_number(row["end"], where, "end", required=True)
        expect(0 <= start <= end, where, f"word start {start}, end {end}; expected 0 <= start <= end (seconds)")
        seg = segments.get(row["segment_id"])
        if seg is None:
            result.problems.append(LoadProblem(row["segment_id"], where, "word timing for an unknown segment; ignored"))
            continue
        if _outside_segment(seg, start, end):
            outside.setdefault(row["segment_id"], []).append((where, [row["word"], start, end]))
            continue
        words.setdefault(row["segment_id"], []).append([row["word"], start, end])
    for sample_id, entries in words.items():
        segments[sample_id].extra["words"] = sorted(entries, key=lambda w: w[1])
    for sample_id, misplaced in outside.items():
        result.problems.append(_words_outside(sample_id, segments[sample_id], misplaced))
    return True


#: Seconds a word may lie outside its segment and still belong to it (rounded times).
WORD_SLACK = 0.05


def _outside_segment(seg: _Segment, start: float, end: float) -> bool:
    """Whether a word timed [start, end] lies wholly outside the segment cut from its recording."""
    return ((seg.start is not None and end < seg.start - WORD_SLACK)
            or (seg.end is not None and start > seg.end + WORD_SLACK))


def _words_outside(sample_id: str, seg: _Segment, misplaced: list[tuple[str, list[Any]]]) -> LoadProblem:
    where, (word, start, end) = misplaced[0]
    span = f"[{seg.start or 0:g}, {'end' if seg.end is None else format(seg.end, 'g')}]"
    return LoadProblem(sample_id, where, (
        f"{len(misplaced)} word timing(s) of segment {sample_id!r} lie outside it ({span} s of "
        f"its recording; first: {word!r} at [{start:g}, {end:g}]); ignored; word times are seconds of the media "
        "file, the whole recording here: add the segment start to times measured from the segment's beginning"))


def _transcripts_from_words(segments: dict[str, _Segment]) -> None:
    """Each segment's transcript from its timed words (`words.csv`), pause tokens (`sp`, ...) left
    out, for a segments.csv without a text column: the words are what was said, and `check` expects
    a transcript per segment. A segment words.csv gives no word was silent (a label segment lying in
    a pause): it gets an empty word list and no transcript, as `mmdata segment` makes such a
    segment, and `check` tells it from a lost transcript by that list."""
    for seg in segments.values():
        if seg.transcript_from_words:
            words = seg.extra.setdefault("words", [])
            seg.transcript = spoken_transcript(words)
