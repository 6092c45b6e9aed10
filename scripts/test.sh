#!/usr/bin/env bash
# Installs everything (cached venv) and runs the whole test suite. A skipped test fails the run:
# every optional dependency is installed here, so nothing the project claims may go untested.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/store -x`.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
venv="$(bash scripts/install.sh)"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONHASHSEED=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
"$venv/bin/python" -m pytest -rs "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  exit "$status"
fi
if grep -qE "^SKIPPED|[0-9]+ skipped" <(grep -E "^SKIPPED|^=* ?[0-9]+ (passed|failed|skipped)" "$log"); then
  echo "error: tests were skipped; every dependency is installed here, so a skip is a failure" >&2
  exit 1
fi
