#!/usr/bin/env bash
# Installs everything (cached venv) and runs the main job on the embedded sample corpora:
# COCO and Flickr30K samples -> samples table + per-modality feature tables in out/demo/.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
venv="$(bash scripts/install.sh)"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$venv/bin/mmdata" demo "${1:-out/demo}"
echo "outputs: $(cd "${1:-out/demo}" && pwd)"
