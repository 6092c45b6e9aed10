"""The errors mmdata raises for expected, user-facing failures.

Only the CLI entry point turns these into one-line messages; any other exception is a bug and
keeps its traceback. Each subclasses the builtin a caller would naturally catch.
"""
from __future__ import annotations


class MmdataError(Exception):
    """Expected, user-facing failure: what failed, the offending value, what was expected, a hint."""


class CorpusNotFoundError(MmdataError, FileNotFoundError):
    """A corpus root or an annotation file does not exist."""


class CorpusFormatError(MmdataError, ValueError):
    """An annotation file does not have the expected format (message carries `file:line`)."""


class MediaError(MmdataError, ValueError):
    """A media file is missing, truncated or cannot be decoded."""


class SchemaMismatchError(MmdataError, ValueError):
    """A table's shape, dtype or metadata disagrees with what was declared."""


class UnknownNameError(MmdataError, LookupError):
    """A registry lookup (extractor, corpus kind, option) named something that does not exist."""


class UnknownExtractorError(UnknownNameError):
    """An extractor name is not registered."""


class UnknownCorpusError(UnknownNameError):
    """A corpus kind is not registered."""


class MissingWeightsError(MmdataError, FileNotFoundError):
    """Model weights are not available locally; nothing is downloaded silently."""


class DatasetError(MmdataError, ValueError):
    """An output directory is not a valid mmdata dataset (missing manifest, wrong layout version)."""


class DatasetNotFoundError(DatasetError, CorpusNotFoundError):
    """A dataset directory does not exist (`open_dataset`). Also a CorpusNotFoundError, as it was
    before it had a class of its own, so callers catching either (or FileNotFoundError) see it."""


class ChecksFailedError(DatasetError):
    """A dataset fails its checks and the caller did not allow it (`mmdata share`, `mmdata report`)."""


class DatasetBusyError(DatasetError):
    """Another process is writing to the dataset directory (`mmdata.store.lock.writing`)."""


class ShardReadError(DatasetError):
    """A shard file of a table cannot be read: truncated, corrupt, or not the format its name says."""


class ConfigError(MmdataError, ValueError):
    """An extractor or loader option has a wrong name or value."""


class ArgumentTypeError(ConfigError, TypeError):
    """An argument of the Python API has a type it does not take (None or a number for a path, a list
    where one table or split name is taken, a float index). Also a TypeError, as Python raises for a
    wrong type, so `except TypeError` and `except MmdataError` both catch it."""


class ExtractionError(MmdataError, RuntimeError):
    """A sample failed during extraction with on_error='fail'."""


class WorkersCannotStartError(MmdataError, RuntimeError):
    """Decode worker processes die before they run anything, so no item can be blamed."""
