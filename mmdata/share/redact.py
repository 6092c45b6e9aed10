"""What a share publishes in place of the absolute paths of the producer's machine.

A dataset records paths of the machine it was made on: media outside the corpus root (a manifest's
absolute paths with `allow_outside_root`, the target of a link out of the root), the sample ids and
group ids a manifest derives from them, error reasons naming a file or a model. A share publishes
none of them. A path under the corpus root becomes relative to it; any other absolute path keeps its
last component behind the marker `<outside corpus>`, which names no file anywhere:

    /data/coco/val2017/1.jpg              (corpus root /data/coco)  ->  val2017/1.jpg
    /home/me/photos/cat.jpg                                         ->  <outside corpus>/cat.jpg
    /home/me/photos/cat           (a sample id made from that path) ->  <outside corpus>/cat
    "cannot open /opt/models/r18.pth: ..."          (a text)        ->  "cannot open <outside corpus>/r18.pth: ..."

Ids must stay unique and a file keep one name: where two different paths the share holds (`known`)
would be published alike (`/a/cat.jpg`, `/b/cat.jpg`), the second and later ones, in sorted order, get
a numbered marker (`<outside corpus 2>/cat.jpg`). Absolute paths are POSIX (`/...`), the home
folder's (`~/...`) and Windows ones (`C:\\...`, `C:/...`).
"""
from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from pathlib import PurePath, PurePosixPath, PureWindowsPath

#: What stands for the folders of a path outside the corpus root.
OUTSIDE_MARKER = "<outside corpus>"
#: A whole value that is an absolute path (checked at its start).
_ABSOLUTE = re.compile(r"/|~/|[A-Za-z]:[\\/]")
#: Arrow regex (RE2) form of `_ABSOLUTE`, anchored: which cells of a column need a look.
ABSOLUTE_CELL = r"^(/|~/|[A-Za-z]:[\\/])"
#: Arrow regex of a cell that may name an absolute path somewhere in its text.
PATH_HINT = r"(/|~/|[A-Za-z]:\\)"
#: Characters that end a path inside a text (spaces, quotes, brackets, separators of lists).
_PATH_END = r"\s'\"`()\[\]{}<>,;|"
#: What may not stand right before a path in a text: `a/b`, `1/2`, `./x`, `https://x` and the marker
#: `<outside corpus>/x` hold a slash that starts no absolute path.
_NOT_BEFORE = r"(?<![\w./\\>~:])"
#: An absolute path inside a text: `/x/y`, `~/x`, `C:\x`, `C:/x`, up to a space, a quote or a bracket.
_PATH_IN_TEXT = re.compile(rf"{_NOT_BEFORE}(?:~/|[A-Za-z]:[\\/]|/)[^{_PATH_END}]+")
#: Punctuation that ends a sentence rather than a path (`cannot open /x/y.jpg: ...`).
_TRAILING = ".:!?"
#: What may follow a path found whole in a text: the end of the path (and of a sentence), not more of it.
_PATH_ENDS_HERE = rf"(?=[{re.escape(_TRAILING)}]*(?:[{_PATH_END}]|$))"
#: A key of an aligned table's row: `<sample_id>[<step>]`.
_KEY = re.compile(r"(.+)(\[\d+\])")


def is_absolute_path(value: str) -> bool:
    """Whether the whole `value` is an absolute path (POSIX, `~/`, or a Windows drive's)."""
    return _ABSOLUTE.match(value) is not None


def redact_text(text: str, corpus_root: str | None) -> str:
    """`PathRedactor(corpus_root).text(text)`, for a text that may name no path (most do not: they pass as
    they are, at the cost of one search)."""
    return PathRedactor(corpus_root).text(text) if _PATH_IN_TEXT.search(text) else text


class PathRedactor:
    """The published form of every absolute path of one share.

    `corpus_root` is the root the dataset records (its resolved form counts too: a link to the corpus);
    `known` are the absolute values the share publishes as data (media paths, group and sample ids),
    given up front so that two of them are never published alike.

    Example:
        >>> redactor = PathRedactor("/data/coco", ["/a/cat.jpg", "/b/cat.jpg"])
        >>> redactor.value("/data/coco/val2017/1.jpg"), redactor.value("/b/cat.jpg")
        ('val2017/1.jpg', '<outside corpus 2>/cat.jpg')
        >>> redactor.text("cannot open /a/cat.jpg: truncated")
        'cannot open <outside corpus>/cat.jpg: truncated'
    """

    def __init__(self, corpus_root: str | None, known: Iterable[str] = ()):
        self.roots = _roots(corpus_root)
        # the root followed by a separator (what follows is relative to it), or the root alone
        root_end = rf"(?:(?P<tail>[/\\])|{_PATH_ENDS_HERE})"
        self._root_patterns = [(re.compile(_NOT_BEFORE + re.escape(str(root)) + root_end), root) for root in self.roots]
        self._known = _numbered({value: self._plain(value) for value in set(known) if is_absolute_path(value)})

    def value(self, value: str) -> str:
        """A whole value: an absolute path published as the module docstring says; anything else as it is."""
        if not is_absolute_path(value):
            return value
        published = self._known.get(value)
        return published if published is not None else self._plain(value)

    def key(self, key: str) -> str:
        """A key of an aligned table's row, `<sample_id>[<step>]`, with its sample id as `value` publishes it."""
        if not is_absolute_path(key):
            return key
        match = _KEY.fullmatch(key)
        return self.value(key) if match is None else self.value(match[1]) + match[2]

    def text(self, text: str, known: Iterable[str] = ()) -> str:
        """A text (an error reason, a check's message) with each absolute path in it published as `value`
        does. The corpus root and the paths `known` (the row's own `path`) are found whole, spaces and all;
        other paths end at a space, a quote or a bracket."""
        for path in sorted({p for p in known if p and is_absolute_path(p)}, key=len, reverse=True):
            text = re.sub(_NOT_BEFORE + re.escape(path) + _PATH_ENDS_HERE, lambda _, p=path: self.value(p), text)
        for pattern, root in self._root_patterns:
            text = pattern.sub(lambda m, r=root: "" if m["tail"] else (r.name or "."), text)
        return _PATH_IN_TEXT.sub(self._published_match, text)

    def _published_match(self, match: re.Match[str]) -> str:
        path = match[0]
        stripped = path.rstrip(_TRAILING)
        return self.value(stripped) + path[len(stripped):] if stripped else path

    def _plain(self, value: str) -> str:
        """`value` relative to the corpus root when under it, else its last component behind the marker."""
        path = _pure(value)
        for root in self.roots:
            if type(root) is type(path) and path.is_relative_to(root):
                return path.relative_to(root).as_posix() if path != root else (root.name or ".")
        return f"{OUTSIDE_MARKER}/{path.name}" if path.name else OUTSIDE_MARKER


def _numbered(published: dict[str, str]) -> dict[str, str]:
    """`published` with the second and later (sorted) paths of each shared outside form numbered."""
    by_form: dict[str, list[str]] = {}
    for original in sorted(published):
        by_form.setdefault(published[original], []).append(original)
    for form, originals in by_form.items():
        if not form.startswith(OUTSIDE_MARKER + "/"):
            continue
        name = form[len(OUTSIDE_MARKER):]
        for number, original in enumerate(originals[1:], start=2):
            published[original] = f"{OUTSIDE_MARKER[:-1]} {number}>{name}"
    return published


def _pure(value: str) -> PurePath:
    """The path `value` names, `..` resolved as text (`/data/coco/../x.jpg` is not under `/data/coco`)."""
    if re.match(r"[A-Za-z]:[\\/]", value):
        return PureWindowsPath(value)
    return PurePosixPath(posixpath.normpath(value))


def _roots(corpus_root: str | None) -> list[PurePath]:
    """The recorded corpus root and, where it is a link, the folder it names, longest first; none for a
    root recorded by name only (a shared dataset) or a corpus at the top of a file system."""
    if not corpus_root or not is_absolute_path(str(corpus_root)) or str(corpus_root).startswith("~"):
        return []
    roots = {_pure(str(corpus_root))}
    if not re.match(r"[A-Za-z]:", str(corpus_root)) and os.path.exists(corpus_root):
        roots.add(_pure(os.path.realpath(corpus_root)))
    return sorted((root for root in roots if root.parent != root), key=lambda root: len(str(root)), reverse=True)
