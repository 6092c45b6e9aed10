"""Deterministic demo corpora with known structure, written in native formats.

- `mosi_demo.write_mosi_demo`: a CMU-MOSI-style raw corpus (`mosi-raw`, layout "cmu") whose sentiment
  label is the sum of a text cue, a prosody cue and a visual cue;
- `shapes_demo.write_shapes_demo`: a COCO-captions corpus of drawn shapes whose captions describe them.

The same seed writes byte-identical annotation files and identical media.
"""
