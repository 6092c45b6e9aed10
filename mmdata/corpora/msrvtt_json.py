"""MSR-VTT's annotation JSON, shared by both layouts of the `msrvtt` loader.

train_val_videodatainfo.json, test_videodatainfo.json and the retrieval papers' MSRVTT_data.json look like:
    {"info": {...},
     "videos": [{"id": 0, "video_id": "video0", "category": 9, "url": "https://www.youtube.com/watch?v=9lZi22qLlEo",
                 "start time": 137.72, "end time": 149.44, "split": "train"}, ...],
     "sentences": [{"caption": "a car is shown", "video_id": "video0", "sen_id": 0}, ...]}
The start and end times place the clip in its YouTube video; the clip file (`video0.mp4`) starts at 0,
so they go to `extra` (`youtube_start`, `youtube_end`), never to the sample's segment.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdata.corpora.base import (
    REPEATED_ENTRY,
    JsonLocator,
    LoadProblem,
    expect,
    expect_text,
    json_number,
    read_json,
    short_repr,
)
from mmdata.errors import CorpusFormatError

#: The `split` values of the official files and the names used here.
OFFICIAL_SPLITS = {"train": "train", "validate": "val", "test": "test"}


@dataclass
class VideoInfo:
    """One `videos` entry: the split as the file writes it (None where the file has none) and its `extra`."""

    video_id: str
    split: str | None
    #: Where the entry is: `file:line:column: videos[i]`, located when a problem names it.
    where: Callable[[], str]
    extra: dict[str, Any]


@dataclass
class Annotations:
    """The videos and captions of one or more annotation files, with the entries left out and why."""

    videos: dict[str, VideoInfo] = field(default_factory=dict)
    #: video id -> [(sen_id, caption)], in file order until `captions_of` sorts them.
    sentences: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    #: video id -> where its first sentence is (`file:line:column`, located when a problem names it).
    sentence_at: dict[str, Callable[[], str]] = field(default_factory=dict)
    problems: list[LoadProblem] = field(default_factory=list)

    def captions_of(self, video_id: str) -> tuple[tuple[str, ...], list[int]]:
        """A video's captions ordered by `sen_id`, and those ids."""
        ordered = sorted(self.sentences.get(video_id, ()))
        return tuple(text for _, text in ordered), [number for number, _ in ordered]


def read_annotations(path: Path, into: Annotations, *, videos_required: bool) -> None:
    """Add the videos and sentences of one annotation file to `into`.

    A video listed again (in this file or an earlier one), a blank caption and a repeated `sen_id` are
    recorded as problems and left out. A sentence of a video no file lists is kept when the file has no
    `videos` (MSRVTT_data.json copies without them); `unlisted_sentences` reports the others.

    Raises:
        CorpusFormatError: invalid JSON, no `sentences` (or no `videos` where `videos_required`), or an entry
            without a string `video_id`, a `caption` that is not a string, a non-integer `sen_id` or an
            unknown `split`, named `file:line:column`.
    """
    data = read_json(path)
    locate = JsonLocator(path)
    expect(isinstance(data, dict) and isinstance(data.get("sentences"), list), path,
           "expected an object with a 'sentences' list (MSR-VTT's videodatainfo JSON), got "
           + (f"keys {sorted(data)[:8]}" if isinstance(data, dict) else type(data).__name__))
    videos = data.get("videos")
    if videos is None and not videos_required:
        videos = []
    expect(isinstance(videos, list), path, f"expected a 'videos' list, got {short_repr(videos)}")
    for i, entry in enumerate(videos):
        _add_video(entry, i, locate, into)
    for i, entry in enumerate(data["sentences"]):
        _add_sentence(entry, i, locate, into)


def unlisted_sentences(annotations: Annotations) -> list[LoadProblem]:
    """A problem for each video that has sentences but no `videos` entry (its captions are left out)."""
    return [LoadProblem(video_id, annotations.sentence_at[video_id](),
                        f"{len(captions)} sentences name video {video_id!r}, which no 'videos' entry lists; left out")
            for video_id, captions in annotations.sentences.items() if video_id not in annotations.videos]


def _add_video(entry: Any, i: int, locate: JsonLocator, into: Annotations) -> None:
    where = lambda: locate.where("videos", i)  # noqa: E731 (located only on failure)
    if not isinstance(entry, dict):
        raise CorpusFormatError(f"{where()}: expected a video object, got {short_repr(entry)}")
    video_id = expect_text(entry.get("video_id"), where, "video_id")
    split = entry.get("split")
    if split is not None and split not in OFFICIAL_SPLITS:
        raise CorpusFormatError(f"{where()}: split {short_repr(split)} is not one of {list(OFFICIAL_SPLITS)}")
    if video_id in into.videos:
        into.problems.append(LoadProblem(video_id, where(), f"video {video_id!r} is listed again (first at "
                                         f"{into.videos[video_id].where()}); this entry left out", REPEATED_ENTRY))
        return
    into.videos[video_id] = VideoInfo(video_id, split, where, _video_extra(entry))


def _add_sentence(entry: Any, i: int, locate: JsonLocator, into: Annotations) -> None:
    where = lambda: locate.where("sentences", i)  # noqa: E731
    if not isinstance(entry, dict):
        raise CorpusFormatError(f"{where()}: expected a sentence object, got {short_repr(entry)}")
    video_id = expect_text(entry.get("video_id"), where, "video_id")
    caption = expect_text(entry.get("caption"), where, "caption", allow_empty=True).strip()
    sen_id = entry.get("sen_id")
    if isinstance(sen_id, bool) or not isinstance(sen_id, int):
        raise CorpusFormatError(f"{where()}: expected an integer sen_id, got {short_repr(sen_id)}")
    captions = into.sentences.setdefault(video_id, [])
    if video_id not in into.sentence_at:
        into.sentence_at[video_id] = where
    if not caption:
        into.problems.append(LoadProblem(video_id, where(), f"empty caption (sen_id {sen_id}) of {video_id}; "
                                         "that caption left out"))
    elif any(number == sen_id for number, _ in captions):
        into.problems.append(LoadProblem(video_id, where(), f"sen_id {sen_id} of {video_id} is given again; "
                                         "the later caption is left out", REPEATED_ENTRY))
    else:
        captions.append((sen_id, caption))


def _video_extra(entry: dict[str, Any]) -> dict[str, Any]:
    """The `extra` fields of a video entry: category, url, the YouTube id and the clip's times in that video."""
    extra: dict[str, Any] = {}
    if isinstance(entry.get("category"), int):
        extra["category"] = entry["category"]
    url = entry.get("url")
    if isinstance(url, str) and url:
        extra["url"] = url
        if "v=" in url:
            extra["youtube_id"] = url.split("v=", 1)[1].split("&", 1)[0]
    for key, name in (("start time", "youtube_start"), ("end time", "youtube_end")):
        value = entry.get(key)
        if json_number(value):
            extra[name] = float(value)
    return extra
