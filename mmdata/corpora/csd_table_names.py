"""What each file of a `.csd` folder is called as a table (`modality.name`), for the `csd` loader.

The option `tables` (FILE_STEM=modality.name) first, else the name `export-csd` recorded in the
file (`TABLE_IDENTITY_KEY`), else one guessed from the file and root names (CMU_MOSI_COVAREP ->
audio.covarep, CMU_MOSI_Visual_Facet_41 -> video.facet-41). An aligned name `X@REF` whose
reference does not come back from the folder is read as a plain name, with a warning.
"""
from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from mmdata.errors import ConfigError, CorpusFormatError
from mmdata.formats.csd_folder import TABLE_IDENTITY_KEY
from mmdata.records import MODALITIES

if TYPE_CHECKING:
    from mmdata.corpora.csd import CsdOptions, _FileInfo

log = logging.getLogger(__name__)

#: What joins an aligned table's name to its reference's (`X@REF`, as `mmdata align` names it).
ALIGNED_MARK = "@"
# A corpus prefix of a file stem, left out of the table name (CMU_MOSI_COVAREP -> covarep).
_PREFIX = re.compile(r"^(cmu_)?(mosi|mosei|sims|pom|iemocap)_+", re.IGNORECASE)
_MODALITY_WORDS = re.compile(r"^(visual|acoustic|audio|language|text|video|vision)[-_ ]+", re.IGNORECASE)
_MODALITY_HINTS = (
    ("audio", ("covarep", "coavarep", "opensmile", "smile", "acoustic", "audio", "mfcc", "egemaps", "is09",
               "eb10", "emobase", "wav2vec", "prosody")),
    ("video", ("facet", "openface", "visual", "vision", "video", "face")),
    ("text", ("glove", "bert", "word", "phone", "text", "language", "vectors")),
)


def _table_names(infos: list[_FileInfo], options: CsdOptions) -> dict[str, str]:
    """{file name: table name}: the option `tables`, else the name `export-csd` recorded in the file,
    else one guessed from the file and root names; an aligned name `X@REF` whose reference does not
    come back too becomes a plain name (`_unlinked_name`), with a warning."""
    overrides = _table_overrides(options)
    chosen = {info.path.name: overrides.get(info.path.stem) or _recorded_name(info) or _guess_name(info)
              for info in infos}
    coming_back = set(chosen.values())
    names: dict[str, str] = {}
    for info in infos:
        name = chosen[info.path.name]
        if info.path.stem not in overrides:
            name = _linked_or_plain(info, name, coming_back)
        clash = next((f for f, n in names.items() if n == name), None)
        if clash:
            raise CorpusFormatError(f"{info.path.name} and {clash} would both become table {name!r}; "
                                    f"name them with the option tables={info.path.stem}=<modality>.<name>")
        names[info.path.name] = name
    return names


def _table_overrides(options: CsdOptions) -> dict[str, str]:
    """{file stem: table name} from the option `tables` (FILE_STEM=modality.name)."""
    overrides = {}
    for item in options.tables:
        stem, sep, name = item.partition("=")
        if not sep or name.split(".", 1)[0] not in MODALITIES or "." not in name:
            raise ConfigError(f"option tables: expected FILE_STEM=modality.name with modality in {list(MODALITIES)}, got {item!r}")
        overrides[stem.strip()] = name.strip()
    return overrides


def _recorded_identity(info: _FileInfo) -> dict[str, Any]:
    """What `export-csd` recorded of the table a file holds (`TABLE_IDENTITY_KEY`); {} for other files."""
    identity = info.metadata.get(TABLE_IDENTITY_KEY)
    return identity if isinstance(identity, dict) else {}


def _recorded_name(info: _FileInfo) -> str | None:
    """The table name `export-csd` recorded (a usable `modality.name`), so that the table comes back
    under the name it was exported from; None for files without one (the SDK's own: guessed)."""
    name = _recorded_identity(info).get("name")
    if isinstance(name, str) and "." in name and name.split(".", 1)[0] in MODALITIES and "/" not in name:
        return name
    return None


def _linked_or_plain(info: _FileInfo, name: str, coming_back: set[str]) -> str:
    """`name` as it is, unless it is an aligned `X@REF` whose reference comes back under no name (neither
    REF nor REF@REF among the tables read): then a plain name, since `check` and `fuse` would look for
    a reference the dataset lacks."""
    if ALIGNED_MARK not in name:
        return name
    reference = _recorded_identity(info).get("reference")
    if not isinstance(reference, str) or not name.endswith(ALIGNED_MARK + reference):
        reference = name.rpartition(ALIGNED_MARK)[2]
    if reference in coming_back or f"{reference}{ALIGNED_MARK}{reference}" in coming_back:
        return name
    plain = _unlinked_name(name)
    log.warning("%s: table %r is aligned to %r, which is not in the folder (no file holds table %r or %r); read as "
                "%r instead, unaligned; export the reference with it to keep the link", info.path, name, reference,
                reference, f"{reference}{ALIGNED_MARK}{reference}", plain)
    return plain


def _unlinked_name(name: str) -> str:
    """An aligned name as a plain one: `audio.prosody@text.words` -> `audio.prosody-text-words`."""
    modality, _, rest = name.partition(".")
    return f"{modality}.{re.sub(r'[^a-z0-9]+', '-', rest.lower()).strip('-') or 'features'}"


def _guess_name(info: _FileInfo) -> str:
    """A table name from the file and root names (CMU_MOSI_COVAREP -> audio.covarep), for files that
    record none."""
    if info.is_text:
        return "text.phones" if "phone" in info.names else "text.words"
    modality = next((m for m, hints in _MODALITY_HINTS if any(h in info.names for h in hints)), None)
    if modality is None:
        raise CorpusFormatError(f"{info.path}: cannot tell the modality of root {info.root_name!r}; name its table "
                                f"with the option tables={info.path.stem}=audio.<name> (or video./text.)")
    slug = _MODALITY_WORDS.sub("", _PREFIX.sub("", info.path.stem))
    return f"{modality}.{re.sub(r'[^a-z0-9]+', '-', slug.lower()).strip('-') or 'features'}"
