"""Imports every command module so that each registers itself on the app (explicit list)."""
from mmdata.cli import demo, extract, info  # noqa: F401
from mmdata.cli import check  # noqa: F401
from mmdata.cli import align, export_csd  # noqa: F401
from mmdata.cli import segment  # noqa: F401
from mmdata.cli import merge  # noqa: F401
from mmdata.cli import fuse  # noqa: F401
from mmdata.cli import share, verify, checksum  # noqa: F401
from mmdata.cli import report  # noqa: F401
from mmdata.cli import train  # noqa: F401
