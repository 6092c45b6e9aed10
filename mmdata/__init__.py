"""mmdata: multimodal corpora to aligned, validated, self-describing Arrow feature tables."""
from __future__ import annotations

__version__ = "0.1.0"
