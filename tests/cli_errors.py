"""What the command line shows for a command refused before any work."""
from __future__ import annotations


def one_line_error(result) -> str:
    """The one-line error of a command refused before any work (exit 2, no traceback)."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]
