"""Feature extractors: one family per module, all behind one registry (see `base.py`)."""
from mmdata.features.base import (
    Extractor,
    available_extractors,
    create_extractor,
    get_extractor_class,
    register_extractor,
)

__all__ = ["Extractor", "available_extractors", "create_extractor", "get_extractor_class", "register_extractor"]
