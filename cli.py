"""Top-level entry of the design card: `python cli.py ...` runs the same app as the `mmdata` command."""
from mmdata.cli import app, main

__all__ = ["app"]

if __name__ == "__main__":
    main()
