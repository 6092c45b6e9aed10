"""The extractors that ship with mmdata. Importing a module registers its extractors."""
from mmdata.features import image_stats  # noqa: F401
