"""Output paths given on the command line, checked before any work starts.

The rules are the library's (`mmdata.store.output_files`), which every writer of a user-named file
applies too; here they run first, so a bad path is a one-line error naming the option (`--out`,
`--json`, `OUTPUT_DIR`) before a check, a report or an export has begun.
"""
from __future__ import annotations

from mmdata.store.output_files import (
    DATASET_FILES,
    DATASET_FOLDERS,
    REPORT_MARKER,
    OutputPathError,
    check_report_file,
    checksums_file,
    output_dir,
    output_file,
    report_file,
)

__all__ = ["DATASET_FILES", "DATASET_FOLDERS", "REPORT_MARKER", "OutputPathError", "check_report_file",
           "checksums_file", "output_dir", "output_file", "report_file"]
