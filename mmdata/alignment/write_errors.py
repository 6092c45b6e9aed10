"""The file system's refusals of a write, named: moved to `mmdata.store.write_errors`, which every
writer of the store uses; the names stay importable from here."""
from mmdata.store.write_errors import WRITE_REFUSALS, named_write_errors

__all__ = ["WRITE_REFUSALS", "named_write_errors"]
