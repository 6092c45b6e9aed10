"""On the same fake corpus, torchvision's CocoCaptions (pycocotools) and Flickr30k yield exactly the
(image file, captions) pairs our loaders give; torchvision's Flickr30k parser breaks on `#10`, ours not."""
from __future__ import annotations

from pathlib import Path

import pytest
from torchvision.datasets import CocoCaptions, Flickr30k

from mmdata.corpora import load_corpus
from tests.fakes.imagetext import write_fake_coco, write_fake_flickr30k


def our_pairs(kind: str, root: Path, **kwargs) -> dict[str, list[str]]:
    """image file (absolute) -> captions."""
    return {str(root / s.image): list(s.captions) for s in load_corpus(kind, root, **kwargs).samples}


@pytest.mark.parametrize("uncaptioned", [0, 1])
def test_coco_matches_torchvision_coco_captions(tmp_path, uncaptioned):
    fake = write_fake_coco(tmp_path, captions_per_image=(5, 6, 7), uncaptioned=uncaptioned)
    dataset = CocoCaptions(root=str(fake.root / "val2017"), annFile=str(fake.annotation_file))
    theirs = {}
    for index, image_id in enumerate(dataset.ids):
        file_name = dataset.coco.loadImgs(image_id)[0]["file_name"]
        image, captions = dataset[index]
        assert image.size == (10, 10)  # a real JPEG, decoded
        theirs[str(fake.root / "val2017" / file_name)] = captions
    # torchvision keeps caption-less images (with []), as our loader does with the explicit option.
    ours = our_pairs("coco", fake.root, split="val2017", options={"keep_images_without_captions": "true"})
    assert ours == theirs
    assert len(theirs) == 3 + uncaptioned


def test_flickr30k_matches_torchvision_flickr30k(tmp_path):
    fake = write_fake_flickr30k(tmp_path, "token", num_images=4, captions_per_image=5)
    dataset = Flickr30k(root=str(fake.root / "flickr30k-images"), ann_file=str(fake.annotation_file))
    theirs = {}
    for index, name in enumerate(dataset.ids):
        image, captions = dataset[index]
        assert image.size == (10, 10)
        theirs[str(fake.root / "flickr30k-images" / name)] = captions
    assert our_pairs("flickr30k", fake.root) == theirs
    assert len(theirs) == 4


def test_two_digit_caption_index_works_here_and_breaks_torchvision(tmp_path):
    fake = write_fake_flickr30k(tmp_path, "token", num_images=2, captions_per_image=12)
    ours = our_pairs("flickr30k", fake.root)
    assert [len(c) for c in ours.values()] == [12, 12]
    assert ours == {str(fake.root / e.image): list(e.captions) for e in fake.expected.values()}
    dataset = Flickr30k(root=str(fake.root / "flickr30k-images"), ann_file=str(fake.annotation_file))
    # `img_id[:-2]` turns "<name>#10" into "<name>#": bogus ids, and the 10th+ captions are lost.
    assert sorted(dataset.ids) == sorted([*(Path(i).name for i in ours), *(f"{Path(i).name}#" for i in ours)])
    good = dataset.ids.index(Path(next(iter(ours))).name)
    assert len(dataset[good][1]) == 10
    with pytest.raises(FileNotFoundError):
        dataset[dataset.ids.index(f"{Path(next(iter(ours))).name}#")]
