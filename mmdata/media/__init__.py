"""Decoding media files: images, audio, video. Torch-free at import time (used in worker processes)."""
