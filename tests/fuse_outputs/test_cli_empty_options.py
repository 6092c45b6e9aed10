"""`--tables ""` (a script's unset variable) must not mean "every table"."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mmdata.cli import app


@pytest.mark.parametrize("option", ["--tables", "--stats-split"])
@pytest.mark.parametrize("value", ["", " , "])
def test_an_option_given_empty_is_refused(tmp_path, option, value):
    result = CliRunner().invoke(app, ["fuse", str(tmp_path / "ds"), str(tmp_path / "out"), option, value])
    assert result.exit_code == 2
    assert f"{option} was given but names nothing" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()
