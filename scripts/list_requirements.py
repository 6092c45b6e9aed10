"""Print every requirement of pyproject.toml (core and all extras) one per line, for pip -r."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
requirements = list(project["dependencies"])
for extra in project.get("optional-dependencies", {}).values():
    requirements += [r for r in extra if not re.match(r"^mmdata\[", r)]
print("\n".join(dict.fromkeys(requirements)))
