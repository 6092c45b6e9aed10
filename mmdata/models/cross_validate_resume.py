"""Resuming a cross-validation: what a rerun reads back of an earlier one in the same output folder.

    key = _resume_key(dataset, config, folds_digest)                  -> sha256 of what the folds' results depend on
    finished = _prepare_output(output_dir, dataset.root, config, key, force)   -> fold -> `_fold_record`
    metrics = _finished_fold(export, val, finished.get(fold))          -> the fold's metrics, or None: fit it again

The resume key digests the dataset (its path and manifest), every sample's fold, the classes file's and the class
map's bytes and the options (`CrossValidateConfig.result_options`: which folds are run aside). The same key reads
back the folds `cross-validate.json` lists as finished whose fused.json and metrics still have the digests it
recorded (`_finished_fold`, `_fold_record`); other options are refused unless forced, naming what differs
(`_result_options`, `_differences`; an option of `OPTIONAL_SINCE` an earlier release did not record counts as
unset); the same options on a dataset changed since redo every fold.

`mmdata.models.cross_validate` runs the folds with these (and re-exports their names).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdata.errors import DatasetError
from mmdata.fusion.class_map import class_map_bytes

if TYPE_CHECKING:
    from mmdata.models.cross_validate import CrossValidateConfig

#: The summary file, and the marker of a cross-validation output folder.
CROSS_VALIDATE_FILE = "cross-validate.json"
#: Each fold's metrics, inside its export (as `train classify` names them).
FOLD_METRICS = "classify-metrics.json"
#: Fuse options newer than the saved config of 0.5.9 (class_map: 0.5.10; normalize_by: 0.5.11): recorded only
#: when set, so that an earlier run's config and resume key (which lack them) match an unchanged rerun's.
OPTIONAL_SINCE = ("class_map", "normalize_by")


def _resume_key(dataset: Any, config: CrossValidateConfig, folds_digest: str) -> str:
    """A digest of what every fold's result depends on: the dataset's manifest (its tables, extractors, versions,
    samples), every sample's fold, the classes file's and the class map's bytes, and the options (which folds are
    run aside)."""
    import hashlib

    from mmdata.store.layout import MANIFEST_NAME

    digest = hashlib.sha256()
    for part in (str(dataset.root.resolve()).encode(), (dataset.root / MANIFEST_NAME).read_bytes(),
                 folds_digest.encode(), json.dumps(config.result_options(), sort_keys=True).encode()):
        digest.update(hashlib.sha256(part).digest())
    classes_file = config.fuse.classes_file
    if classes_file is not None and Path(classes_file).is_file():
        digest.update(hashlib.sha256(Path(classes_file).read_bytes()).digest())
    class_map = None if config.fuse.class_map is None else class_map_bytes(config.fuse.class_map)
    if class_map is not None:  # a built-in's too: another release's map is another run
        digest.update(hashlib.sha256(class_map).digest())
    return digest.hexdigest()


def _prepare_output(output_dir: Path, dataset_root: Path, config: CrossValidateConfig, key: str,
                    force: bool) -> dict[str, dict[str, Any]]:
    """The folds an earlier run in `output_dir` finished that may be read back (`_fold_record`s by fold); {} for a
    new folder, with `force`, or after the dataset changed (the earlier folds are removed then).

    Raises:
        DatasetError: a file, a non-empty folder that is no cross-validation output, one inside the dataset's
            tables, or an earlier cross-validation of other options (without `force`)."""
    from mmdata.store.output_dirs import check_replaceable

    check_replaceable(output_dir, [dataset_root], force=True, marker=CROSS_VALIDATE_FILE, what="cross-validate")
    summary = output_dir / CROSS_VALIDATE_FILE
    if not summary.is_file():
        folds = sorted(p.name for p in output_dir.glob("fold-*")) if output_dir.is_dir() else []
        if folds:
            raise DatasetError(f"output directory {output_dir} holds {folds[0]} but no {CROSS_VALIDATE_FILE}; choose "
                               "another path, or remove it yourself")
        return {}
    try:
        earlier = json.loads(summary.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise DatasetError(f"{summary} is not JSON ({e}); remove {output_dir} or choose another path") from e
    finished = earlier.get("finished")
    if not force and earlier.get("resume_key") == key and isinstance(finished, dict):
        return finished
    same_options = (earlier.get("dataset") == str(dataset_root.resolve())
                    and _result_options(earlier.get("config")) == config.result_options())
    if not force and not same_options:
        differences = _differences(earlier.get("config"), config)
        raise DatasetError(f"output directory {output_dir} holds a cross-validation of {earlier.get('dataset')} with "
                           f"other options ({differences}); pass --force (force=True) to run this one there instead, "
                           "or choose another path")
    # forced, or the same options on a dataset changed since (extracted again): nothing earlier is read back
    for export in output_dir.glob("fold-*"):
        if export.is_dir():
            shutil.rmtree(export)
    return {}


def _result_options(earlier: Any) -> Any:
    """An earlier run's recorded options without `folds` (as `CrossValidateConfig.result_options`), an option of
    `OPTIONAL_SINCE` recorded as null left out as it is now."""
    if not isinstance(earlier, dict):
        return earlier
    options = {k: v for k, v in earlier.items() if k != "folds"}
    if isinstance(options.get("fuse"), dict):
        options["fuse"] = {k: v for k, v in options["fuse"].items() if not (k in OPTIONAL_SINCE and v is None)}
    return options


def _differences(earlier: Any, config: CrossValidateConfig) -> str:
    """The options that differ from an earlier run's, for the refusal."""
    now = config.result_options()
    if not isinstance(earlier, dict):
        return "unreadable config"
    earlier = _result_options(earlier)
    flat_now = {**{k: v for k, v in now.items() if k != "fuse"}, **now["fuse"]}
    flat_then = {**{k: v for k, v in earlier.items() if k != "fuse"}, **(earlier.get("fuse") or {})}
    keys = [k for k in dict.fromkeys([*flat_now, *flat_then]) if flat_now.get(k) != flat_then.get(k)]
    return ", ".join(f"{k}: {flat_then.get(k)!r} then, {flat_now.get(k)!r} now" for k in keys[:3]) or "another dataset"


def _finished_fold(export: Path, val: str | None, entry: Any) -> dict[str, Any] | None:
    """The metrics of a fold an earlier run of the same resume key finished: `entry`, its record in
    cross-validate.json, is this val fold's with the digests of the fold's fused.json and metrics as they are
    now; None otherwise (a fold not finished, or replaced since)."""
    if not isinstance(entry, dict) or entry != _fold_record(export, val) or entry.get("metrics_sha256") is None:
        return None
    try:
        metrics = json.loads((export / FOLD_METRICS).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return metrics if isinstance(metrics, dict) and metrics.get("recipe") == "classify" else None


def _fold_record(export: Path, val: str | None) -> dict[str, Any]:
    """What cross-validate.json records of a finished fold: its val fold and the sha256 of its fused.json and
    metrics (None where one is missing)."""
    import hashlib

    def digest(path: Path) -> str | None:
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return None

    return {"val": val, "fused_sha256": digest(export / "fused.json"), "metrics_sha256": digest(export / FOLD_METRICS)}
