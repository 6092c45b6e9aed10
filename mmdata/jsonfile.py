"""Reading a JSON file mmdata wrote (a dataset's manifest, a fused export's metadata) that may have been
damaged or edited since: every way it can be unreadable is a DatasetError naming the file."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmdata.errors import DatasetError


def read_json_object(path: Path, what: str, expected: str, hint: str) -> dict[str, Any]:
    """The JSON object in `path`.

    Raises:
        DatasetError: the file is not UTF-8, not JSON (with its line), or holds something other than
            an object; the message names `path` and `what` it is, says `expected`, and ends with `hint`.
    """
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path}: {what} is not UTF-8 text (byte {e.start} is {e.object[e.start]:#04x}); {hint}") from e
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}:{e.lineno}: {what} is not valid JSON ({e.msg}); {hint}") from e
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: {what} holds {json_kind(data)}, expected {expected}; {hint}")
    return data


def json_kind(value: Any) -> str:
    """'a JSON array', 'JSON null', ... for a message."""
    if value is None:
        return "JSON null"
    kinds = {list: "array", str: "string", bool: "boolean", int: "number", float: "number", dict: "object"}
    return f"a JSON {kinds.get(type(value), 'value')}"


__all__ = ["json_kind", "read_json_object"]
