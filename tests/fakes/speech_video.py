"""A tiny manifest corpus for the model extractors' executor and resume tests: real espeak-ng speech and
tones (16 kHz WAVs) for the speech models, textured MPEG-4 clips for the clip models, and files that fail.

    manifest.jsonl   one row per sample (`id`, `audio`, `video`, `text`, optional `start`/`end`), ids sorted
    *.wav, *.mp4     the media; broken.wav has no data chunk, cut.wav stops halfway through its data,
                     cut.mp4 is the first third of a clip (no index: nothing decodes)
"""
from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.av import speech, tone, write_truncated_wav, write_wav

#: Samples whose media fail to decode, with a word of each reason, per modality.
FAILING = {"audio": {"c-broken": "no 'data' chunk"}, "video": {"c-broken": "cannot decode video"}}


def write_speech_video_corpus(root: Path, copies: int = 1) -> Path:
    """Write the corpus under `root` (made when missing); `copies` > 1 repeats the good samples under
    new ids, for runs long enough to interrupt."""
    # The clip models' own test clips (imported here: `load_fake_modules` imports this module, and that
    # test module imports torch).
    from tests.video_clips.test_video_clip_models import write_textured_clip

    root.mkdir(parents=True, exist_ok=True)
    write_wav(root / "hello.wav", speech("hello world"))
    write_wav(root / "tone.wav", tone(220, 1.5))
    write_truncated_wav(root / "cut.wav", duration=1.0, keep=0.5)
    (root / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    write_textured_clip(root / "long.mp4", seconds=2.0)
    write_textured_clip(root / "short.mp4", seconds=0.6, size=(40, 56), seed=1)
    whole = (root / "long.mp4").read_bytes()
    (root / "cut.mp4").write_bytes(whole[: len(whole) // 3])
    good = [{"id": "a-hello", "audio": "hello.wav", "video": "long.mp4", "text": "hello world"},
            {"id": "b-tone", "audio": "tone.wav", "video": "long.mp4", "text": "a tone", "start": 0.5, "end": 1.5},
            {"id": "d-cut", "audio": "cut.wav", "video": "short.mp4", "text": "a cut file"}]
    rows = [*good, {"id": "c-broken", "audio": "broken.wav", "video": "cut.mp4", "text": "broken files"}]
    rows += [{**row, "id": f"{row['id']}-{copy}"} for copy in range(1, copies) for row in good]
    rows.sort(key=lambda row: row["id"])
    (root / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root
