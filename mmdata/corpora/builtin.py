"""The corpus loaders that ship with mmdata. Importing a module registers its loader."""
from mmdata.corpora import coco  # noqa: F401
