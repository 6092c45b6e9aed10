"""Splits of corpora cut into numbered parts, one held out as `test` and maybe one as `val`, the others `train`:
ESC-50's folds, IEMOCAP's sessions (run each part as the test one for the cross-validation protocol).

    check_held_out("fold", FOLDS, test=1, val=None, protocol="the 5-fold protocol")   # in an options' __post_init__
    wanted = wanted_split(split, "ESC-50", "fold", test=1, val=None, splits=SPLITS)
    split = held_out_split(clip.fold, test=1, val=None)                                    # "test", "val" or "train"
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from mmdata.corpora.media_captions import check_split
from mmdata.errors import ConfigError


def check_held_out(part: str, parts: Sequence[int], *, test: int, val: int | None, protocol: str) -> None:
    """Refuse options test_<part>/val_<part> that are no part, or the same one (a ValueError, as options refuse).

    `protocol` says what running every part as the test one is (`the 5-fold protocol`, `leave-one-session-out`)."""
    if test not in parts:
        raise ValueError(f"option test_{part}={test!r}: expected a {part} of {list(parts)} (the {part} held out as "
                         f"split 'test'; run each of {parts[0]} to {parts[-1]} for {protocol})")
    if val is not None and (val not in parts or val == test):
        raise ValueError(f"option val_{part}={val!r}: expected a {part} of {list(parts)} other than test_{part}={test} "
                         f"(the {part} held out as split 'val'), or none for no 'val'")


def wanted_split(split: str | None, corpus: str, part: str, *, test: int, val: int | None, splits: Sequence[str],
                 aliases: Mapping[str, str] | None = None) -> str | None:
    """The split asked (None for every split); `val`, or a name of it among `aliases`, only where val_<part> names
    its part.

    Raises:
        ConfigError: an unknown split (`check_split`), or `val` without val_<part>.
    """
    aliases = aliases or {}
    if val is None and (split == "val" or aliases.get(split or "") == "val"):
        asked = "'val'" if split == "val" else f"'val' (asked as {split!r})"
        raise ConfigError(f"{corpus} has no split {asked} unless -o val_{part}=N names the {part} held out for it "
                          f"(another {part} than test_{part}={test}); expected one of ['all', 'train', 'test']")
    return check_split(split, splits, dict(aliases), corpus)


def held_out_split(number: int, *, test: int, val: int | None) -> str:
    """`test` for the part held out as test, `val` for val's, else `train`."""
    if number == test:
        return "test"
    return "val" if number == val else "train"
