"""Where RAVDESS's files are, for the `ravdess` loader (`ravdess.py`): the `Actor_NN` folders of the root and of
its folders named as the zips unpack (`Audio_Speech_Actors_01-24/Actor_01/`), however the zips were unpacked, and
their files listed and read by name (`ravdess_names`): hidden files skipped, links whose target is missing and
second copies of a file named, and the refusals of a root holding no file, only such links, or no file named as
RAVDESS names them.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

from mmdata.corpora.base import REPEATED_ENTRY, LoadProblem
from mmdata.corpora.media_captions import folder_entries, holds_file_with_suffix, most_common_kind, subfolder_names
from mmdata.corpora.ravdess_names import MODALITIES, _File, _parse_name, _Rejected
from mmdata.errors import CorpusFormatError, CorpusNotFoundError

#: An actor's folder, and a folder as a zip unpacks (`Audio_Speech_Actors_01-24`, `Video_Song_Actor_07`).
ACTOR_DIR = re.compile(r"Actor_(\d\d)", re.IGNORECASE | re.ASCII)
ZIP_DIR = re.compile(r"(Audio|Video)_(Speech|Song)_Actors?_\d\d(-\d\d)?", re.IGNORECASE | re.ASCII)
ZIP_DIRS = "Audio_Speech_Actors_01-24/, Audio_Song_Actors_01-24/, Video_Speech_Actor_NN/, Video_Song_Actor_NN/"


def _actor_folders(corpus_dir: Path) -> list[tuple[str, int]]:
    """(folder relative to the root, its actor) of each `Actor_NN` folder in the root or in a folder of it named as
    a zip unpacks (`Audio_Speech_Actors_01-24/`), in name order, the root's first."""
    found = []
    for name in subfolder_names(corpus_dir):
        if ACTOR_DIR.fullmatch(name):
            found.append((name, int(name[-2:])))
        elif ZIP_DIR.fullmatch(name):
            found += [(f"{name}/{sub}", int(sub[-2:])) for sub in subfolder_names(corpus_dir / name)
                      if ACTOR_DIR.fullmatch(sub)]
    found.sort(key=lambda folder: ("/" in folder[0], folder[0]))
    return found


def _no_file_found(corpus_dir: Path, folders: list[tuple[str, int]]) -> CorpusNotFoundError:
    """The refusal of a root without a file in an `Actor_NN` folder, naming the root and the folders looked for."""
    what = f"only empty Actor_NN folders ({', '.join(f'{f}/' for f, _ in folders[:3])}...)" if folders else \
        "no Actor_NN folder"
    loose = _loose_mp4s(corpus_dir)
    return CorpusNotFoundError(f"no RAVDESS file in {corpus_dir}: {what}; expected the Actor_01/ to Actor_24/ folders "
                               f"the zips unpack (files named as 03-01-06-01-02-01-12.wav) in it, or in folders of it "
                               f"named as the zips ({ZIP_DIRS}); pass the folder the zips were unpacked into as the "
                               f"corpus root{f'; {loose}' if loose else ''}")


def _loose_mp4s(corpus_dir: Path) -> str:
    """Where the root's zip-named folders hold MP4s themselves, outside any `Actor_NN` folder (no deeper look: one
    listing each, up to its first MP4), the loader not reading them, and where they belong ("" for none)."""
    loose = [f"{name}/" for name in subfolder_names(corpus_dir)
             if ZIP_DIR.fullmatch(name) and _holds_mp4(corpus_dir / name)]
    if not loose:
        return ""
    return (f"the MP4s in {', '.join(loose[:3])}{' ...' if len(loose) > 3 else ''} are outside any Actor_NN folder, "
            "where the loader does not look; expected them in its Actor_NN/ folder, as the Video_*_Actor_NN zips "
            "unpack (Video_Speech_Actor_01/Actor_01/01-01-01-01-01-01-01.mp4)")


def _holds_mp4(folder: Path) -> bool:
    try:
        return holds_file_with_suffix(folder, (".mp4",))
    except OSError:
        return False


def _visible_files(folder: Path) -> tuple[list[str], list[str]]:
    """The names of the regular files (links followed) of `folder` and of its links whose target is missing (a
    git-annex or DataLad copy whose content was not fetched), each sorted, hidden ones (`.DS_Store`, AppleDouble
    `._*`) left out; none where `folder` cannot be listed. One `os.scandir` (`folder_entries`)."""
    files, dangling = [], []
    for entry in folder_entries(folder):
        if entry.name.startswith("."):
            continue
        if entry.is_file:
            files.append(entry.name)
        elif entry.is_link and not os.path.exists(folder / entry.name):
            dangling.append(entry.name)
    return files, dangling


def _read_file_names(corpus_dir: Path, folders: list[tuple[str, int]], problems: list[LoadProblem]) -> list[_File]:
    """The files of the actor folders whose names pass their checks, the first copy of an utterance's file of one
    modality, in the folders' order; the others are problems named by path: a link whose target is missing, a name
    that fails, a second copy of another size (`REPEATED_ENTRY`). Second copies of the first's name and size are the
    same files (Kaggle's copy holds the Actor_NN folders twice): one problem per folder names them all.

    Raises:
        CorpusNotFoundError: no file in those folders, naming the root and the folders looked for (or the links
            whose targets are missing, where only such links are there).
        CorpusFormatError: files none of which passes, naming the most common reason and its first file.
    """
    files, first_at, rejected, links, named = [], {}, [], [], 0
    same: Counter[tuple[str, str]] = Counter()  # (folder, the first copies' folder) -> same files repeated
    for folder, actor in folders:
        names, dangling = _visible_files(corpus_dir / folder)
        for name in dangling:
            links.append(_dangling_link_problem(corpus_dir, folder, actor, name))
        for name in names:
            named += 1
            where = str(corpus_dir / folder / name)
            file = _parse_name(name, actor, folder, where)
            if isinstance(file, _Rejected):
                rejected.append((file.kind, where, file.reason))
                problems.append(LoadProblem(file.sample_id, where, f"{name}: {file.reason}; file left out"))
                continue
            first = first_at.setdefault((file.utterance, file.modality), file)
            if first is file:
                files.append(file)
            elif _same_file(first, file):
                same[(folder, first.folder)] += 1
            else:
                problems.append(LoadProblem(file.utterance.sample_id, file.where, (
                    f"{name}: utterance {file.utterance.sample_id}'s {MODALITIES[file.modality][0]} file is also "
                    f"{first.where}; expected one copy of each file (a zip unpacked twice?); this copy left out"),
                    REPEATED_ENTRY))
    problems += links
    problems += [LoadProblem(None, str(corpus_dir / folder), (
        f"{count} files of {folder}/ repeat {other}/'s (same names and sizes): each read once from {other}/"),
        REPEATED_ENTRY) for (folder, other), count in same.items()]
    if not named:
        raise _no_link_target(corpus_dir, links) if links else _no_file_found(corpus_dir, folders)
    if not files:
        raise CorpusFormatError(_no_file_message(corpus_dir, named, rejected))
    return files


def _same_file(first: _File, copy: _File) -> bool:
    """Whether `copy` is `first` again: the same name and the same size in bytes (both sizes read)."""
    if first.name != copy.name:
        return False
    try:
        return os.stat(first.where).st_size == os.stat(copy.where).st_size
    except OSError:
        return False


def _dangling_link_problem(corpus_dir: Path, folder: str, actor: int, name: str) -> LoadProblem:
    """The problem of the link `name` of an actor's folder whose target is missing, with its utterance's sample id
    where its name is one RAVDESS gives its files."""
    where = str(corpus_dir / folder / name)
    file = _parse_name(name, actor, folder, where)
    return LoadProblem(file.utterance.sample_id if isinstance(file, _File) else None, where,
                       f"{name}: a link whose target is missing; expected the file's content there: fetch it "
                       "(`git annex get` or `datalad get` in a git-annex or DataLad copy); file left out")


def _no_link_target(corpus_dir: Path, links: list[LoadProblem]) -> CorpusNotFoundError:
    """The refusal of actor folders holding only links whose targets are missing."""
    return CorpusNotFoundError(f"no RAVDESS file in {corpus_dir}: the {len(links)} files in its Actor_NN folders are "
                               f"links whose targets are missing (first {links[0].path}): the content was not "
                               "fetched; fetch it (`git annex get .` or `datalad get .` in the root of a git-annex or "
                               "DataLad copy), or copy the files themselves")


def _no_file_message(corpus_dir: Path, named: int, rejected: list[tuple[str, str, str]]) -> str:
    """Why no file of the actor folders is a RAVDESS file: the most common kind of reason (`rejected`: (kind, path,
    reason) of each file), at its first file."""
    (_, path, reason), count = most_common_kind(rejected, lambda r: r[0])
    return (f"none of the {named} files in the Actor_NN folders of {corpus_dir} is named as RAVDESS names them; the "
            f"most common reason ({count} of {named} files), first {path}: {reason}")
