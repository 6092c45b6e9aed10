"""The corpus loaders that ship with mmdata. Importing a module registers its loader."""
from mmdata.corpora import coco  # noqa: F401
from mmdata.corpora import karpathy  # noqa: F401
from mmdata.corpora import flickr8k, flickr30k  # noqa: F401
from mmdata.corpora import img2dataset  # noqa: F401
from mmdata.corpora import activitynet_captions, audiocaps, charades_sta, clotho, msrvtt  # noqa: F401
from mmdata.corpora import vggsound  # noqa: F401
from mmdata.corpora import kinetics  # noqa: F401
from mmdata.corpora import meld  # noqa: F401
from mmdata.corpora import iemocap  # noqa: F401
from mmdata.corpora import ravdess  # noqa: F401
from mmdata.corpora import crema_d  # noqa: F401
from mmdata.corpora import audioset  # noqa: F401
from mmdata.corpora import esc50  # noqa: F401
from mmdata.corpora import desed  # noqa: F401
from mmdata.corpora import wavcaps  # noqa: F401
from mmdata.corpora import vatex  # noqa: F401
from mmdata.corpora import didemo  # noqa: F401
from mmdata.corpora import youcook2  # noqa: F401
from mmdata.corpora import manifest  # noqa: F401
from mmdata.corpora import mmsa_raw, mosi_raw  # noqa: F401
from mmdata.corpora import csd, mmsa  # noqa: F401
