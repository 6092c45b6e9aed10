"""Deterministic demo corpora with known structure, written in native formats.

- `mosi_demo.write_mosi_demo`: a CMU-MOSI-style raw corpus (`mosi-raw`, layout "cmu") whose sentiment
  label is the sum of a text cue, a prosody cue and a visual cue;
- `shapes_demo.write_shapes_demo`: a COCO-captions corpus of drawn shapes whose captions describe them.

The same seed writes byte-identical annotation files and identical media.
"""
from __future__ import annotations

import importlib
from typing import Any

#: Public names and the module of this package that defines each (imported when first used).
_EXPORTS = {
    "MosiDemoConfig": "mosi_demo",
    "write_mosi_demo": "mosi_demo",
    "ShapesDemoConfig": "shapes_demo",
    "write_shapes_demo": "shapes_demo",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
