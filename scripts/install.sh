#!/usr/bin/env bash
# Installs everything mmdata, its tests and its benchmarks need, then prints the venv's path.
# The virtual environment is cached under ~/.cache/mmdata, keyed on the hash of the dependency
# files, so a second run with unchanged requirements only re-links the project (seconds).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

# System packages: FFmpeg (torchcodec, video), espeak-ng (real speech for audio fixtures),
# Chromium (the report test renders the HTML page headless), GNU sha256sum (checksums are compared with it).
need_apt=()
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v sha256sum >/dev/null 2>&1 || need_apt+=(coreutils)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing system packages: ${need_apt[*]}" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >&2
  else
    echo "warning: missing system packages ${need_apt[*]} (install them with apt-get)" >&2
  fi
fi

python="${PYTHON:-python3}"
key="$({ "$python" scripts/list_requirements.py; cat constraints.txt; } | sha256sum | cut -c1-16)"
venv="${MMDATA_VENV:-$HOME/.cache/mmdata/venv-$key}"
if [ ! -f "$venv/.complete" ]; then
  echo "creating $venv (first run takes a few minutes)" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip setuptools >&2
  # Dependencies only (the project itself is linked below, so the venv serves any checkout).
  "$venv/bin/pip" install -q -c constraints.txt -r <("$venv/bin/python" scripts/list_requirements.py) >&2
  touch "$venv/.complete"
fi
"$venv/bin/pip" install -q --no-deps --no-build-isolation -e . >&2
touch "$venv/.last-used"

# Cached venvs are ~7 GB each: remove those no run has used for MMDATA_VENV_KEEP_DAYS days
# (default 7; requirements changed since), and links to venvs that are gone.
if [ -z "${MMDATA_VENV:-}" ]; then
  keep_days="${MMDATA_VENV_KEEP_DAYS:-7}"
  for old in "$HOME"/.cache/mmdata/venv-*; do
    [ "$old" = "$venv" ] && continue
    if [ -L "$old" ]; then
      [ -e "$old" ] || rm -f "$old"
    elif [ -d "$old" ] && [ -z "$(find "$old" -maxdepth 1 -name .last-used -mtime "-$keep_days")" ] \
         && [ -z "$(find "$old" -maxdepth 1 -name .complete -mtime "-$keep_days")" ]; then
      echo "removing $old (unused for $keep_days days)" >&2
      rm -rf "$old"
    fi
  done
fi
echo "$venv"
