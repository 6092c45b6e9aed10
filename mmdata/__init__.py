"""mmdata: multimodal corpora to aligned, validated, self-describing Arrow feature tables."""
from __future__ import annotations

from mmdata.environment import prefer_jemalloc_arrow_pool

prefer_jemalloc_arrow_pool()  # before anything imports pyarrow

__version__ = "0.1.0"
