"""The extractors that ship with mmdata. Importing a module registers its extractors."""
from mmdata.features import image_stats  # noqa: F401
from mmdata.features import image_models, text  # noqa: F401
from mmdata.features import audio, audio_opensmile, audio_prosody, video, words  # noqa: F401
