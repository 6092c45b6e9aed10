"""The extractors that ship with mmdata. Importing a module registers its extractors."""
from mmdata.features import image_stats  # noqa: F401
from mmdata.features import image_models, text_minilm, text_bow, text_tokens, text  # noqa: F401
from mmdata.features import audio_librosa, audio_torchaudio, audio_kaldi, audio  # noqa: F401
from mmdata.features import audio_opensmile, audio_prosody, video, words  # noqa: F401
from mmdata.features import speech_models  # noqa: F401
from mmdata.features import video_models  # noqa: F401
from mmdata.features import clip_models, clip_text  # noqa: F401
from mmdata.features import event_targets  # noqa: F401
from mmdata.features import frame_grid  # noqa: F401
