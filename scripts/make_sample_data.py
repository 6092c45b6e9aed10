"""Regenerate the embedded sample corpora in mmdata/sample_data/ (deterministic).

Real photographs from scikit-image's bundled data, cropped and resized to small JPEGs, with
hand-written captions, written in the native COCO and Flickr30K formats. The output is committed;
run this only to change it:  python scripts/make_sample_data.py
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "mmdata" / "sample_data"

# (source image, crop box as fractions (left, top, right, bottom), captions)
PHOTOS = [
    ("astronaut", (0.0, 0.0, 1.0, 1.0), [
        "An astronaut in a white spacesuit poses in front of an American flag.",
        "A smiling woman astronaut holding a helmet.",
        "Portrait of a female astronaut with a flag behind her.",
        "A person in an orange and white space suit smiles at the camera.",
        "An official NASA portrait of an astronaut.",
    ]),
    ("chelsea", (0.0, 0.0, 1.0, 1.0), [
        "An orange tabby cat looks to the side.",
        "A ginger cat with green eyes sitting indoors.",
        "Close up of a striped cat's face.",
        "A cat with orange and white fur glances away from the camera.",
        "A tabby cat resting on a blanket.",
    ]),
    ("coffee", (0.0, 0.0, 1.0, 1.0), [
        "A cup of coffee on a saucer with a spoon.",
        "A white coffee cup filled with espresso sits on a table.",
        "Top view of a cup of coffee and a spoon.",
        "A coffee cup on a wooden table.",
        "Espresso with crema in a white porcelain cup.",
        "A hot drink served in a cup with a saucer.",
    ]),
    ("rocket", (0.0, 0.0, 1.0, 1.0), [
        "A rocket stands on the launch pad under a blue sky.",
        "A space shuttle ready for launch next to its tower.",
        "A launch vehicle on a pad with a service structure.",
        "A tall rocket waiting to lift off.",
        "The launch pad with a rocket and its gantry.",
    ]),
    ("hubble_deep_field", (0.2, 0.2, 0.8, 0.8), [
        "Distant galaxies scattered across a black sky.",
        "A deep field image of space full of galaxies.",
        "Many small colourful galaxies in the darkness of space.",
        "A telescope view of faraway galaxies.",
        "Spiral and elliptical galaxies in a dark sky.",
    ]),
    ("immunohistochemistry", (0.0, 0.0, 1.0, 1.0), [
        "A stained tissue sample seen through a microscope.",
        "Microscope image of cells with brown and blue staining.",
        "A histology slide with stained cell nuclei.",
        "Tissue under a microscope showing coloured cells.",
        "Close up of a stained biological sample.",
    ]),
    ("retina", (0.1, 0.1, 0.9, 0.9), [
        "A photograph of the back of a human eye.",
        "A retina with blood vessels spreading from the optic disc.",
        "An orange fundus image showing retinal vessels.",
        "Medical image of an eye's retina.",
        "Blood vessels branching across a retina.",
    ]),
    ("colorwheel", (0.0, 0.0, 1.0, 1.0), [
        "A circular colour wheel with a rainbow of hues.",
        "A disc showing all colours of the spectrum.",
        "A colourful wheel fading to white in the centre.",
        "Rainbow colours arranged in a circle.",
        "A hue and saturation colour chart.",
    ]),
]


def photo(name: str, box: tuple[float, float, float, float], size: tuple[int, int]) -> Image.Image:
    array = getattr(skimage.data, name)()
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    height, width = array.shape[:2]
    left, top, right, bottom = box
    crop = array[int(top * height) : int(bottom * height), int(left * width) : int(right * width), :3]
    return Image.fromarray(crop).resize(size, Image.BICUBIC)


def make_coco(root: Path) -> None:
    """COCO 2017 layout: annotations/captions_val2017.json + val2017/<12-digit id>.jpg."""
    images, annotations = [], []
    for index, (name, box, captions) in enumerate(PHOTOS):
        image_id = 100 + 7 * index
        file_name = f"{image_id:012d}.jpg"
        img = photo(name, box, (160, 120))
        img.save(root / "val2017" / file_name, quality=85)
        images.append({"id": image_id, "file_name": file_name, "width": img.width, "height": img.height,
                       "license": 1, "coco_url": "", "flickr_url": "", "date_captured": "2026-01-01 00:00:00"})
        for caption in captions:
            annotations.append({"id": 1000 + len(annotations), "image_id": image_id, "caption": caption})
    data = {
        "info": {"description": "mmdata embedded COCO-format sample (scikit-image photographs)", "version": "1.0",
                 "year": 2026, "contributor": "mmdata", "url": "", "date_created": "2026-01-01"},
        "licenses": [{"id": 1, "name": "public domain / BSD (scikit-image data)", "url": ""}],
        "images": images,
        "annotations": annotations,
    }
    (root / "annotations" / "captions_val2017.json").write_text(json.dumps(data, indent=1) + "\n")


def make_flickr30k(root: Path) -> None:
    """Flickr30K layout: results_20130124.token + flickr30k-images/<id>.jpg (portrait crops)."""
    lines = []
    for index, (name, box, captions) in enumerate(PHOTOS):
        file_name = f"{1000092795 + 1013 * index}.jpg"
        photo(name, box, (120, 160)).save(root / "flickr30k-images" / file_name, quality=85)
        # The first image has 11 captions so that `#10` is exercised.
        extended = captions + [f"{c.rstrip('.')} (another view)." for c in captions] if index == 0 else captions
        lines += [f"{file_name}#{k}\t{caption}" for k, caption in enumerate(extended[:11])]
    (root / "results_20130124.token").write_text("\n".join(lines) + "\n")


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    for folder in ("coco/annotations", "coco/val2017", "flickr30k/flickr30k-images"):
        (OUT / folder).mkdir(parents=True)
    make_coco(OUT / "coco")
    make_flickr30k(OUT / "flickr30k")
    (OUT / "__init__.py").write_text(
        '"""Embedded sample corpora (real photographs from scikit-image, hand-written captions)."""\n'
        "from __future__ import annotations\n\nfrom pathlib import Path\n\nSAMPLE_CORPORA = {\"coco\": \"coco\", \"flickr30k\": \"flickr30k\"}\n\n\n"
        "def sample_corpus_dir(kind: str) -> Path:\n"
        "    \"\"\"Folder of the embedded sample corpus of a kind ('coco' or 'flickr30k').\"\"\"\n"
        "    if kind not in SAMPLE_CORPORA:\n"
        "        from mmdata.errors import UnknownCorpusError\n\n"
        "        raise UnknownCorpusError(f\"no embedded sample corpus {kind!r}; available: {sorted(SAMPLE_CORPORA)}\")\n"
        "    return Path(__file__).resolve().parent / SAMPLE_CORPORA[kind]\n"
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
