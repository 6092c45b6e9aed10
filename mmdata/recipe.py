"""Extraction recipes: a TOML file naming a corpus kind and the extractors per modality.

A recipe looks like this (every key shown; recipes/*.toml are working ones):
    [corpus]
    kind = "coco"
    split = "val2017"            # optional
    [corpus.options]             # optional, the loader's options (as `-o KEY=VALUE`; a list is `a+b`)
    keep_images_without_captions = false
    [extract]                    # optional; without extractors, the defaults for the corpus's modalities
    modules = ["my_extractors"]  # optional: modules to import first, which register extractors of your own
    image = ["resnet50"]
    text = ["minilm", "minilm:level=caption"]
    batch_size = 64              # optional: batch_size, num_workers, on_error, shard_size, table_format

Every key is checked when the recipe is read: bad TOML (its line), an unknown section or key (its line,
and the closest key or the section it belongs in), a value of the wrong type, an unknown extractor or
option, an empty extractor list or two extractors writing one table is a `ConfigError` naming the file
and the key (`mmdata.recipe_checks`). Paths in `[corpus.options]` are read as `-o KEY=VALUE`'s are, from
the corpus root (not the recipe's folder); `$NAME` there and in extractor specs is the environment
variable, and a leading `~` the home folder, as a shell would expand them on the command line. `modules` are imported
before the extractors are looked up (from sys.path, else from the recipe's folder, which is added to
sys.path so that decode workers, and the Ray workers mmdata starts, import them too; `mmdata.features.base`
says how to write one).
Flags given with a recipe override it: `--image` etc. replace that modality's list, `--split` the
split, `-o KEY=VALUE` one loader option, `--batch-size` etc. the run setting. `extract_recipe` is that
run from Python, with `extract`'s keyword arguments as the flags (the CLI calls it):
    extract_recipe("recipes/coco-colorhist-minilm.toml", "/data/coco", "out/coco", split="val2017")
"""
from __future__ import annotations

import importlib
import json
import sys
import tomllib
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdata.corpora.base import get_corpus_kind, short_repr
from mmdata.errors import ConfigError, MmdataError
from mmdata.features.base import Extractor, create_extractor
from mmdata.options import build_options, did_you_mean, key_value_mapping, option_text, path_argument, spec_list
from mmdata.pipeline import ON_ERROR_CHOICES, ExtractReport, extract
from mmdata.progress import ProgressSink, progress_sink
from mmdata.recipe_checks import (
    CORPUS_KEYS,
    MODULES_KEY,
    RUN_KEYS,
    expand_variables,
    loader_option_names,
    read_recipe_text,
    refuse_unknown_keys,
    refuse_unknown_sections,
    toml_syntax_error,
)
from mmdata.records import MODALITIES
from mmdata.store.layout import TABLE_FORMATS


@dataclass
class Recipe:
    kind: str
    split: str | None = None
    corpus_options: dict[str, Any] = field(default_factory=dict)
    extractors: dict[str, list[str]] = field(default_factory=dict)  # modality -> extractor specs
    modules: list[str] = field(default_factory=list)  # imported when read: they register extractors
    run: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def extractor_specs(self) -> list[str]:
        return [spec for modality in MODALITIES for spec in self.extractors.get(modality, [])]


def is_recipe_path(value: str) -> bool:
    return value.lower().endswith(".toml")


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe (corpus kind and extractor names must be registered).

    `$NAME`/`${NAME}` in `[corpus.options]` values and extractor specs are replaced by the environment
    variable, and a `[corpus.options]` value starting with `~` is under the home folder, as a shell
    does for `-o KEY=VALUE`; other relative paths are read as `-o`'s are (from the corpus root).

    Raises:
        CorpusNotFoundError: the file does not exist.
        ConfigError: bad TOML (its line and column), unknown sections or keys (the closest one, or
            where a key belongs, suggested), or unknown corpus kind / extractor, naming the file.
    """
    path = Path(path)
    text = read_recipe_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(toml_syntax_error(path, text, e)) from e
    refuse_unknown_sections(data, path, text)
    corpus = _table(data, "corpus", path, "[corpus]")
    refuse_unknown_keys(corpus, CORPUS_KEYS, "corpus", path, text, loader_option_names(corpus.get("kind")))
    if "kind" not in corpus:
        raise ConfigError(f"{path}: [corpus] needs kind = \"coco\" (or another corpus kind)")
    with _naming(path, "[corpus] kind"):
        kind = get_corpus_kind(_text(corpus["kind"]))
    if corpus.get("split") is not None:
        with _naming(path, "[corpus] split"):
            _text(corpus["split"])
    options = {}
    for key, value in _table(corpus, "options", path, "[corpus.options]").items():
        with _naming(path, f"[corpus.options] {key}"):
            options[key] = option_text(expand_variables(value, home=True))
    with _naming(path, "[corpus.options]"):
        build_options(kind.options_type, options, owner=f"corpus {kind.name!r}")  # names, types, values
    extract = _table(data, "extract", path, "[extract]")
    refuse_unknown_keys(extract, (MODULES_KEY, *MODALITIES, *RUN_KEYS), "extract", path, text,
                         loader_option_names(kind.name))
    modules = _text_list(extract.get(MODULES_KEY, []), path, f"[extract] {MODULES_KEY}", "module names")
    import_extractor_modules(modules, path)
    extractors = {modality: _extractor_specs(extract, modality, path) for modality in MODALITIES if modality in extract}
    for key in RUN_KEYS:
        if key in extract:
            with _naming(path, f"[extract] {key}"):
                _check_run_value(key, extract[key])
    return Recipe(
        kind=kind.name,
        split=corpus.get("split"),
        corpus_options=options,
        extractors=extractors,
        modules=modules,
        run={k: extract[k] for k in RUN_KEYS if k in extract},
        path=path,
    )


def extract_recipe(
    recipe: str | Path | Recipe,
    corpus_dir: str | Path,
    output_dir: str | Path,
    *,
    extractors: Sequence[str | Extractor] | str | None = None,
    split: str | None = None,
    corpus_options: dict[str, Any] | str | None = None,
    batch_size: int | None = None,
    num_workers: int | None = None,
    on_error: str | None = None,
    shard_size: int | None = None,
    table_format: str | None = None,
    progress: ProgressSink | bool | None = None,
    **options: Any,
) -> ExtractReport:
    """`extract` with a recipe's corpus kind, split, loader options, extractors and run settings, as
    `mmdata extract RECIPE.toml CORPUS OUT` runs it: a keyword argument given (not None) overrides the
    recipe as the command's flag does (`recipe_arguments`); the rest (`executor`, `ray_address`, `force`,
    `update`) go to `extract` as they are. `progress=True` draws bars (`mmdata.progress.RichProgress`).

    Args:
        recipe: the recipe's TOML file, or a `Recipe` (`load_recipe`).
        corpus_dir: the corpus folder, in the layout of the recipe's corpus kind.
        output_dir: the dataset directory to write (as `extract`'s).
        extractors, split, corpus_options, batch_size, num_workers, on_error, shard_size, table_format,
            progress: override the recipe's value when not None, as `extract` takes them.
        **options: `executor`, `ray_address`, `force`, `update`, passed to `extract`.

    Returns:
        `extract`'s `ExtractReport`.

    Raises:
        CorpusNotFoundError, ConfigError: as `load_recipe` (naming the recipe file and the key).
        Whatever `extract` raises (a value it does not take, naming the argument).
    """
    _check_passed_options(options)
    recipe = recipe if isinstance(recipe, Recipe) else load_recipe(
        path_argument(recipe, argument="recipe", what="a recipe TOML file (str or Path) or a Recipe"))
    arguments = recipe_arguments(recipe, extractors=extractors, split=split, corpus_options=corpus_options, run=dict(
        batch_size=batch_size, num_workers=num_workers, on_error=on_error, shard_size=shard_size,
        table_format=table_format))
    return extract(recipe.kind, corpus_dir, output_dir, progress=progress_sink(progress), **arguments, **options)


#: The keyword arguments `extract_recipe` passes to `extract` as they are.
PASSED_OPTIONS = ("executor", "ray_address", "force", "update")


def _check_passed_options(options: dict[str, Any]) -> None:
    """Refuse a keyword `extract_recipe` does not take, by its own name (not `extract`'s)."""
    for name in options:
        if name not in PASSED_OPTIONS:
            known = [*PASSED_OPTIONS, "extractors", "split", "corpus_options", "batch_size", "num_workers", "on_error",
                     "shard_size", "table_format", "progress"]
            raise ConfigError(f"extract_recipe() got an unknown keyword argument {name!r}{did_you_mean(name, known)}; "
                              f"it takes {', '.join(known)}")


def recipe_arguments(
    recipe: Recipe,
    *,
    extractors: Sequence[str | Extractor] | str | None = None,
    split: str | None = None,
    corpus_options: dict[str, Any] | str | None = None,
    run: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`extract`'s keyword arguments for a recipe, overridden as the command's flags override it.

    The extractors given for a modality replace the recipe's list for that modality, the others keep
    the recipe's (none anywhere: `extract`'s defaults for the corpus); `split` replaces the recipe's;
    `corpus_options` and `run` (batch_size, num_workers, on_error, shard_size, table_format) replace
    it key by key. None, "" or [] overrides nothing. Values are taken as `extract` takes them (specs as
    a comma-separated string, options as "key=value,..." text) and checked by it.

    Raises:
        UnknownExtractorError, ConfigError: an extractor spec that names no extractor, or a bad option.
    """
    given = [e if isinstance(e, Extractor) else create_extractor(e)
             for e in spec_list(extractors or [], argument="extractors", item_types=(str, Extractor))]
    chosen = []
    for modality in MODALITIES:
        chosen += [e for e in given if e.modality == modality] or recipe.extractors.get(modality, [])
    settings = {key: value for key, value in (run or {}).items() if value is not None}
    return dict(
        extractors=chosen or None,
        split=split or recipe.split,
        corpus_options={**recipe.corpus_options, **key_value_mapping(corpus_options, argument="corpus_options")},
        **{**recipe.run, **settings},
    )


def import_extractor_modules(names: list[str], recipe: Path) -> None:
    """Import the modules a recipe names, so that the extractors they register can be named in it.

    A module is looked up on sys.path, then in the recipe's folder, which is appended to sys.path for
    the rest of the process: decode workers start with this process's sys.path and import an
    extractor's module to receive it, and the Ray executor puts the folder on the PYTHONPATH of the
    Ray workers it starts (`mmdata.ray_worker_imports.worker_runtime_env`; where the program started Ray
    itself, it says how to pass the folder on). A module that is found but fails to import (a missing
    dependency, a syntax error, an exception at its top level) is one line naming the module, the
    file and line where it failed, and the error; the exception is chained for a caller's traceback.

    Raises:
        ConfigError: a name that is a file name, a module found in neither place, or one that fails.
    """
    folder = str(recipe.resolve().parent)
    for name in names:
        where = f"{recipe}: [extract] {MODULES_KEY}"
        if not name.strip():
            raise ConfigError(f"{where}: expected module names, got an empty one")
        if name.endswith(".py") or "/" in name or "\\" in name:
            module = Path(name).with_suffix("").name
            raise ConfigError(f"{where}: {name!r} is a file; name the module instead ({module!r}), "
                              f"found on sys.path or in the recipe's folder {folder}")
        if folder not in sys.path:
            sys.path.append(folder)
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name is None or not (name == e.name or name.startswith(e.name + ".")):
                raise ConfigError(f"{where}: importing {name!r} failed{_raised_at(e)}: no module named {e.name!r}; "
                                  f"install the package that provides it into this Python ({sys.executable})") from e
            raise ConfigError(f"{where}: no module {name!r} on sys.path or in the recipe's folder {folder}; put "
                              f"{name.replace('.', '/')}.py there or install the package that has it") from e
        except SyntaxError as e:
            raise ConfigError(f"{where}: module {name!r} has a syntax error at {e.filename}:{e.lineno}: {e.msg}; "
                              "fix the module") from e
        except MmdataError as e:
            raise type(e)(f"{where}: importing {name!r}: {e}") from e
        except (Exception, SystemExit) as e:
            raise ConfigError(f"{where}: importing {name!r} raised {type(e).__name__}: {e}{_raised_at(e)}; fix the "
                              f"module (`python -c 'import {name}'` in {folder} shows the traceback)") from e


def _raised_at(error: BaseException) -> str:
    """' at FILE:LINE': the first frame of the imported module's own code in the error's traceback
    (import machinery and this module skipped), or "" when there is none."""
    machinery = (str(Path(importlib.__file__).parent), __file__)
    for frame in traceback.extract_tb(error.__traceback__):
        if not frame.filename.startswith("<") and not frame.filename.startswith(machinery):
            return f" at {frame.filename}:{frame.lineno}"
    return ""


def _extractor_specs(extract: dict[str, Any], modality: str, path: Path) -> list[str]:
    """A modality's extractor specs from [extract], each checked (name, modality, options), and
    refused when the list is empty or two of them write the same table."""
    key = f"[extract] {modality}"
    raw = extract[modality]
    specs = _text_list(raw, path, key, "extractor specs (\"NAME\" or \"NAME:KEY=VALUE,...\")")
    if not specs:
        raise ConfigError(f"{path}: {key}: expected at least one extractor spec, got []; leave the key out (to "
                          f"extract no {modality}, name the other modalities' extractors: only those named run)")
    tables: dict[str, str] = {}  # table name -> the spec writing it
    for spec in specs:
        with _naming(path, key):
            spec = expand_variables(spec, home=False)
            try:
                table = create_extractor(spec, modality=modality).table_name
            except MmdataError as e:
                if isinstance(raw, str) and "," in raw:  # a list written as one string
                    raise type(e)(f"{e}; several extractors are a list: {modality} = "
                                  f"{json.dumps(spec_list(raw, argument=key))}") from e
                raise
            if table in tables:
                raise ConfigError(f"{tables[table]!r} and {spec!r} both write table {table!r}; expected one "
                                  "extractor per table: keep one (extract the other config into another OUTPUT_DIR)")
            tables[table] = spec
    return list(tables.values())


def _text_list(value: Any, path: Path, key: str, what: str) -> list[str]:
    """A recipe value that is a string or a list of strings, as a list."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{path}: {key}: expected a list of {what}, got {short_repr(value)}")
    return values


def _table(data: dict[str, Any], key: str, path: Path, name: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected {name} to be a table, got {key} = {short_repr(value)}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"expected a non-empty string, got {short_repr(value)}")
    return value


def _check_run_value(key: str, value: Any) -> None:
    if key in ("batch_size", "shard_size", "num_workers"):
        least = 0 if key == "num_workers" else 1
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ConfigError(f"expected an integer >= {least}, got {short_repr(value)}")
    elif key == "on_error" and value not in ON_ERROR_CHOICES:
        raise ConfigError(f"expected \"skip\" or \"fail\", got {short_repr(value)}")
    elif key == "table_format" and value not in TABLE_FORMATS:
        raise ConfigError(f"expected one of {sorted(TABLE_FORMATS)}, got {short_repr(value)}")


@contextmanager
def _naming(path: Path, key: str) -> Iterator[None]:
    """Errors about a recipe's value name the recipe file and the key (the same error type)."""
    try:
        yield
    except MmdataError as e:
        raise type(e)(f"{path}: {key}: {e}") from e
