"""The extractor contract and registry.

An extractor = a config dataclass + a small class registered under a stable kebab-case name.
The pipeline calls `decode` once per sample (in worker processes, so keep it free of models) and
`compute` once per batch of decoded items (in the main process or a Ray actor, holding the model).

    @register_extractor
    class ColorHistogram(Extractor):
        name = "color-hist"
        modality = "image"
        config_type = ColorHistogramConfig
        def output_spec(self): return FeatureSpec(dim=3 * self.config.bins)
        def decode(self, row, corpus_root): ...      # -> one decoded item (or the feature itself)
        def compute(self, items): ...                # -> one feature per item

Extractors of your own are written the same way (`from mmdata.features import Extractor,
register_extractor`, `from mmdata.store.metadata import FeatureSpec`), at the top level of a module
file: decode workers receive an extractor by its class's module and name, so a class defined in a
notebook cell or inside a function cannot be sent to them (`extract` says so before it starts; or
decode in the main process with num_workers=0). Importing the module registers its extractors; for
the command line and recipes:

    [extract]                                     # in a recipe: modules imported first (sys.path,
    modules = ["my_extractors"]                   # then the recipe's folder)
    image = ["grey-hist:dim=16"]

    [project.entry-points."mmdata.extractors"]    # in an installed package's pyproject.toml:
    my_lab = "my_lab.extractors"                  # every mmdata process imports it when an
                                                  # extractor is looked up
"""
from __future__ import annotations

import copyreg
import dataclasses
import functools
import logging
import os
import re
from abc import ABC, ABCMeta, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from mmdata.errors import ConfigError, UnknownExtractorError, WorkersCannotStartError
from mmdata.options import build_options, did_you_mean, options_to_json, split_options
from mmdata.records import Modality
from mmdata.store.metadata import FeatureSpec
from mmdata.store.tables import INAPPLICABLE_OPTIONS

log = logging.getLogger(__name__)

_REGISTRY: dict[str, type[Extractor]] = {}
#: Entry-point group of installed packages that register extractors (`_load_plugin_extractors`).
EXTRACTOR_ENTRY_POINTS = "mmdata.extractors"
#: Plugins whose module could not be imported: entry point text -> the error, named when an
#: extractor cannot be found.
_FAILED_PLUGINS: dict[str, str] = {}
#: What an extractor's name may be: it is part of its table's folder name (features/<modality>.<name>)
#: and of recipe and CLI specs (`name:key=value`), so no '/', '\\', '..', ':', spaces or capitals.
EXTRACTOR_NAME_RULE = re.compile(r"[a-z0-9][a-z0-9._-]*")
#: The distribution of mmdata's own extractors: its version is recorded in every table anyway.
_MMDATA = "mmdata"
#: Set while mmdata's own extractors register (`_register_builtins_first`).
_LOADING_BUILTINS = False


@dataclasses.dataclass(frozen=True)
class NoConfig:
    """For extractors without options."""


class ExtractorType(ABCMeta):
    """The metaclass of extractors: pickling an extractor class by reference, as decode workers
    receive it, first checks that a worker process can import it (`_reduce_extractor_class`)."""


def _reduce_extractor_class(cls: ExtractorType) -> str:
    """Pickle `cls` by reference (its qualified name, as pickle does any class) when a worker process
    can import it; else stop with what to do instead.

    Without this check a class defined in a notebook pickles fine here, every worker would die
    unpickling it, and each item would be recorded as a crash of its decoder.

    Raises:
        WorkersCannotStartError: the class is defined in a function or in an interactive `__main__`.
    """
    where = _why_workers_cannot_import(cls)
    if where is not None:
        extractor = f"extractor {cls.name!r} (class {cls.__qualname__})" if isinstance(getattr(cls, "name", None), str) \
            else f"class {cls.__qualname__}"
        raise WorkersCannotStartError(
            f"{extractor} cannot be sent to decode worker processes: it is defined {where}, which they cannot "
            "import; define it at the top level of a module file (e.g. my_extractors.py beside the notebook or "
            "script) and import it from there, or decode in this process (num_workers=0, `-j 0`)")
    return cls.__qualname__


def _why_workers_cannot_import(cls: type) -> str | None:
    """Where `cls` is defined when a worker process cannot import it by module and name, else None."""
    if "<locals>" in cls.__qualname__:
        return f"inside a function ({cls.__qualname__})"
    if cls.__module__ == "__main__" and not _main_module_runs_in_workers():
        return "in an interactive session's __main__ (a notebook, `python -c` or standard input)"
    return None


def _main_module_runs_in_workers() -> bool:
    """Whether processes multiprocessing starts (the fork server's workers) run this process's main
    module first, as they do a script's or a `python -m` module's (so that its classes exist there):
    multiprocessing's own test, `spawn.get_preparation_data`."""
    from multiprocessing import spawn

    data = spawn.get_preparation_data("main-module-check")
    name = data.get("init_main_from_name")
    if name is not None:
        return name != "__main__" and not name.endswith(".__main__")  # a package's __main__ is not run again
    path = data.get("init_main_from_path")
    return path is not None and os.path.isfile(path)


copyreg.pickle(ExtractorType, _reduce_extractor_class)


class Extractor(ABC, metaclass=ExtractorType):
    """Turns samples of one modality into one feature table."""

    name: ClassVar[str]
    modality: ClassVar[Modality]
    config_type: ClassVar[type] = NoConfig
    #: False when decode is trivial (text): the pipeline then skips the worker pool.
    decode_in_workers: ClassVar[bool] = True
    #: decode cannot crash the process whatever the file (`decodes_safely_here`).
    safe_decoder: ClassVar[bool] = False
    #: Distributions whose installed versions go into the table's provenance (`versions`), beside
    #: mmdata's and that of the package providing the class: a resume after one of them is upgraded
    #: is refused rather than mixing rows both versions computed.
    libraries: ClassVar[tuple[str, ...]] = ("numpy",)
    #: The version of this extractor's computation, for one that no installed package's version
    #: tracks (a module of your own): recorded in `versions` as "extractor:<name>"; change it when
    #: the features change. None records nothing.
    version: ClassVar[str | None] = None

    def __init__(self, config: Any = None):
        if config is None:
            config = self.config_type()
        elif isinstance(config, dict):
            config = build_options(self.config_type, config, owner=f"extractor {self.name!r}")
        if not isinstance(config, self.config_type):
            raise ConfigError(f"extractor {self.name!r} takes a {self.config_type.__name__}, got {type(config).__name__}")
        self.config = config

    def check_ready(self) -> None:
        """Raise now what would stop this extractor before its first item (a weights file that is not
        there), so that a run fails before it writes anything. Reads nothing large; by default nothing."""

    def decodes_safely_here(self, rows: list[dict[str, Any]]) -> bool:
        """Whether decoding `rows` cannot bring the process down (pure Python, or libraries hardened
        against bad files), so that the executor's auto mode may decode them in the main process.

        By default `safe_decoder`. Decoders not known to be safe (FFmpeg's, unknown ones) decode in
        worker processes, where a decoder that crashes costs one item, recorded as failed."""
        return self.safe_decoder

    @property
    def table_name(self) -> str:
        """`<modality>.<name>`, plus a suffix when the config changes what a row holds."""
        return f"{self.modality}.{self.name}"

    @abstractmethod
    def output_spec(self) -> FeatureSpec:
        """Dim, dtype, pooled or sequence (and frame rate) of what `compute` returns."""

    @abstractmethod
    def decode(self, row: dict[str, Any], corpus_root: Path) -> Any:
        """Read and decode one sample's media (a samples-table row as a dict). Raise MediaError on bad input."""

    @abstractmethod
    def compute(self, items: list[Any]) -> list[Any]:
        """Features for a batch of decoded items: one array per item, or (features, intervals) for
        sequences with intervals."""

    def decode_pixels(self, image: Any, sample_id: str) -> Any:
        """Optional, for image extractors: what `decode` returns for a picture that is already decoded
        (`image`: an RGB PIL image, e.g. a video frame; `sample_id` names it in errors). `video-frames`
        hands frames here when an extractor defines it, and to `decode` as temporary PNG files when
        not; both ways must give the same item for the same pixels."""
        raise NotImplementedError(f"extractor {self.name!r} decodes files only")

    def inapplicable_options(self) -> frozenset[str]:
        """Options of the config that do not apply under its other options (`word-embeddings`' `dim`,
        the width of method=hashed's vectors, when method=minilm). By default none.

        They are left out of the table's recorded config (and listed under `INAPPLICABLE_OPTIONS`), so
        that the config shows only what made the rows, and a resume is not refused for an option that
        changes nothing; a table an earlier version recorded with them is the same config
        (`mmdata.store.tables.same_config`)."""
        return frozenset()

    def provenance(self) -> dict[str, Any]:
        """What goes into the table's schema metadata and the manifest."""
        skipped = self._checked_inapplicable_options()
        out = {
            "table": self.table_name,
            "modality": self.modality,
            "extractor": self.name,
            "config": {key: value for key, value in options_to_json(self.config).items() if key not in skipped},
            "spec": self.output_spec().to_json(),
            "versions": {**library_versions(("mmdata", *self.libraries)), **self._own_versions()},
        }
        if skipped:
            out[INAPPLICABLE_OPTIONS] = sorted(skipped)
        return out

    def _checked_inapplicable_options(self) -> frozenset[str]:
        """`inapplicable_options()`, each one an option of the config.

        Raises:
            ConfigError: a name that is no field of the config (a misspelt option would be recorded).
        """
        skipped = frozenset(self.inapplicable_options())
        fields = {f.name for f in dataclasses.fields(self.config)}
        unknown = sorted(skipped - fields)
        if unknown:
            raise ConfigError(f"extractor {self.name!r}: inapplicable_options() names {unknown}, which are not options "
                              f"of {type(self.config).__name__}; expected some of {sorted(fields)}")
        return skipped

    def _own_versions(self) -> dict[str, str]:
        """The versions of this extractor itself: the distribution providing its class (a plugin
        package, not mmdata's), and `version` as "extractor:<name>" when set."""
        out = dict(_providing_distribution_versions(type(self).__module__))
        if self.version is not None:
            out[f"extractor:{self.name}"] = str(self.version)
        return out

    def __getstate__(self) -> dict[str, Any]:
        # Loaded models stay in the process that loaded them; workers get only the config.
        return {"config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"])


def takes_decoded_pictures(extractor: Extractor) -> bool:
    """Whether `extractor` defines `decode_pixels` (decoded pictures in, no file round trip)."""
    return type(extractor).decode_pixels is not Extractor.decode_pixels


def register_extractor(cls: type[Extractor]) -> type[Extractor]:
    """Class decorator: register an extractor under its `name`.

    mmdata's own extractors are registered first, whatever was imported before, so a name one of
    them has is refused on the class registering it later, never on theirs.

    Raises:
        ConfigError: the name does not follow `EXTRACTOR_NAME_RULE`, or another class has it
            (naming both classes).
    """
    if not _is_mmdata_module(cls.__module__):
        _register_builtins_first()
    name = _checked_extractor_name(cls)
    taken = _REGISTRY.get(name)
    if taken is not None and taken is not cls:
        raise ConfigError(f"extractor name {name!r} is already registered by {_class_name(taken)}, so {_class_name(cls)} "
                          "cannot have it too: choose another name for it (a name is unique: it names the table)")
    _REGISTRY[name] = cls
    return cls


def _checked_extractor_name(cls: type) -> str:
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not EXTRACTOR_NAME_RULE.fullmatch(name) or ".." in name:
        raise ConfigError(
            f"extractor {_class_name(cls)} has name {name!r}; expected lowercase letters, digits, '-', '_' and '.', "
            f"starting with a letter or digit (pattern {EXTRACTOR_NAME_RULE.pattern}, no '..'), e.g. 'grey-hist': "
            "the name is part of its table's folder name")
    return name


def _class_name(cls: type) -> str:
    return f"{cls.__qualname__} ({cls.__module__})"


def _is_mmdata_module(module: str) -> bool:
    return module.partition(".")[0] == _MMDATA


def _register_builtins_first() -> None:
    """Import mmdata's own extractors (once), unless they are being imported now: they register
    through `register_extractor` too."""
    global _LOADING_BUILTINS
    if _LOADING_BUILTINS:
        return
    _LOADING_BUILTINS = True
    try:
        import mmdata.features.builtin  # noqa: F401
    finally:
        _LOADING_BUILTINS = False


def available_extractors(modality: str | None = None) -> list[str]:
    """Names of the registered extractors (of `modality` when given): mmdata's, those of installed
    plugins (entry points `mmdata.extractors`) and of modules imported so far."""
    _load_builtin_extractors()
    return sorted(n for n, c in _REGISTRY.items() if modality is None or c.modality == modality)


def get_extractor_class(name: str) -> type[Extractor]:
    _load_builtin_extractors()
    try:
        return _REGISTRY[name]
    except KeyError:
        failed = "".join(f"; plugin {plugin} could not be imported ({error})" for plugin, error in _FAILED_PLUGINS.items())
        hint = did_you_mean(name, _REGISTRY) or (
            "; an extractor of your own is registered by importing its module (in a recipe: [extract] modules = "
            f"[\"my_extractors\"]; for an installed package: an entry point in the group {EXTRACTOR_ENTRY_POINTS!r})")
        raise UnknownExtractorError(f"unknown extractor {name!r}; available: {available_extractors()}{failed}{hint}") from None


def create_extractor(spec: str, *, modality: str | None = None) -> Extractor:
    """Build an extractor from `name` or `name:key=value,key=value` (the CLI and recipe syntax).

    Options are read as `mmdata.options.split_options` reads them: spaces around separators are
    ignored, a value may hold commas (`weights=/models/a,b.pth`) or be quoted, and each value is
    converted to its config field's type. The order of the options does not matter, and an option
    given at its default value is the same as one left out: such specs build equal configs.

    Raises:
        UnknownExtractorError: no extractor has that name (the closest one is suggested).
        ConfigError: the extractor is for another modality, or an option is unknown, given twice,
            or has a value its config rejects (one line naming the extractor and the option).

    Example:
        >>> create_extractor("color-hist:bins=8").output_spec().dim
        24
    """
    name, _, options = spec.partition(":")
    cls = get_extractor_class(name.strip())
    if modality is not None and cls.modality != modality:
        raise ConfigError(
            f"extractor {cls.name!r} is for {cls.modality}, not {modality}; "
            f"{modality} extractors: {available_extractors(modality)}"
        )
    return cls(split_options(options, owner=f"extractor {cls.name!r}"))


def library_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of the distributions `names` (those installed), looked up once per process."""
    return dict(_library_versions(tuple(names)))


@functools.lru_cache(maxsize=64)
def _library_versions(names: tuple[str, ...]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in dict.fromkeys(names):
        if name == _MMDATA:  # the running code's own version: an editable install's metadata keeps the
            from mmdata import __version__  # version it was installed at until it is installed again

            out[name] = __version__
            continue
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def _providing_distribution_versions(module: str) -> dict[str, str]:
    """{distribution: version} of the installed package providing `module` ({"labplug": "1.1.0"}),
    or {} for mmdata's own modules and for modules no installed distribution provides (a script,
    a module on sys.path)."""
    if _is_mmdata_module(module):
        return {}
    return library_versions(_providing_distributions(module))


@functools.lru_cache(maxsize=None)
def _providing_distributions(module: str) -> tuple[str, ...]:
    """The distributions that install `module`: those importlib.metadata names for its top-level
    package (scanned once per process) and whose file list holds the module. Several distributions
    may install one top-level name (audmath and opensmile each ship a `tests` package), and none of
    them then provides a `tests` module of your own."""
    from importlib.metadata import PackageNotFoundError, distribution

    top = module.partition(".")[0]
    found = []
    for name in dict.fromkeys(_packages_distributions().get(top, ())):
        try:
            files = distribution(name).files
        except PackageNotFoundError:
            continue
        if _files_hold_module(files, module):
            found.append(name)
    return tuple(found)


def _files_hold_module(files: list[Any] | None, module: str) -> bool:
    """Whether a distribution's RECORD (`files`) lists `module` (as a .py, compiled or package file).
    A distribution listing nothing under the module's top-level folder (no RECORD, or an editable
    install listing its import hook) is taken at its word (top_level.txt)."""
    top, path = module.partition(".")[0], module.replace(".", "/")
    under_top = [f.as_posix() for f in files or () if f.parts and f.parts[0] == top]
    return not under_top or any(f.startswith(f"{path}.") or f == f"{path}/__init__.py" for f in under_top)


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    from importlib.metadata import packages_distributions

    return packages_distributions()


def _load_builtin_extractors() -> None:
    # Importing the modules registers their extractors (explicit list, no star-imports).
    import mmdata.features.builtin  # noqa: F401

    _load_plugin_extractors()


@functools.cache
def _load_plugin_extractors() -> None:
    """Import the modules installed packages name in the entry-point group `mmdata.extractors`
    (once per process, workers included), which register their extractors. A plugin that cannot be
    imported is logged and named when an extractor is not found; the others stay usable."""
    from importlib.metadata import entry_points

    for entry in entry_points(group=EXTRACTOR_ENTRY_POINTS):
        try:
            entry.load()
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as e:  # noqa: BLE001 - a plugin calling sys.exit must not end every command
            plugin = f"{entry.name!r} ({entry.value})"
            _FAILED_PLUGINS[plugin] = f"{type(e).__name__}: {e}"
            log.warning("extractor plugin %s could not be imported, its extractors are unavailable: %s: %s",
                        plugin, type(e).__name__, e)
