"""A tiny randomly initialised CLIP checkpoint, written offline as transformers saves a real one.

    <dir>/config.json, model.safetensors            CLIPModel(config).save_pretrained (by default 2 layers, width 32,
                                                    patch 32 on 224 px, 16-d projection, 77 text positions)
    <dir>/preprocessor_config.json                  CLIPImageProcessor() (OpenAI CLIP's preprocessing)
    <dir>/vocab.json, merges.txt, tokenizer*.json   a byte-level BPE with CLIP's '</w>' word ends: every
                                                    byte with and without '</w>', merges trained on `TEXTS`
"""
from __future__ import annotations

import json
from pathlib import Path

TEXTS = [
    "a photo of an astronaut", "a cat sitting on a table", "a cup of coffee on a saucer", "a dog runs on the grass",
    "two cats sleep on a red sofa", "a man rides a bike down the street", "a plate of food with broccoli",
    "a rocket on the launch pad", "stars and galaxies in the deep field", "a person on a bicycle in a city",
]
PROJECTION_DIM = 16
MAX_TOKENS = 77


def write_bpe_files(model_dir: Path, texts: list[str] = TEXTS, *, vocab_size: int = 400) -> None:
    """vocab.json and merges.txt of a small CLIP-style BPE learned from `texts` with the `tokenizers` trainer
    (`vocab_size` tokens at most, before the bytes alone and as word ends are added)."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(end_of_word_suffix="</w>", continuing_subword_prefix=""))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                                                 normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""),
                             behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False)])
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=alphabet, end_of_word_suffix="</w>",
                                  show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    learned = json.loads(tokenizer.to_str())["model"]
    # Every byte alone and as a word's end, so that any text tokenizes without an unknown token.
    vocab: dict[str, int] = {}
    for token in [*alphabet, *(f"{c}</w>" for c in alphabet), *sorted(learned["vocab"], key=learned["vocab"].get),
                  "<|startoftext|>", "<|endoftext|>"]:
        vocab.setdefault(token, len(vocab))
    merges = [" ".join(m) if isinstance(m, list) else m for m in learned["merges"]]
    (model_dir / "vocab.json").write_text(json.dumps(vocab))
    (model_dir / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")


def write_tiny_clip(model_dir: Path, seed: int = 0, *, width: int = 32, layers: int = 2) -> Path:
    """A CLIP checkpoint directory with random weights initialised under `seed` (towers of `layers`
    layers, `width` wide, 4 attention heads)."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    model_dir.mkdir(parents=True, exist_ok=True)
    write_bpe_files(model_dir)
    tokenizer = CLIPTokenizer.from_pretrained(str(model_dir), model_max_length=MAX_TOKENS)
    tokenizer.save_pretrained(str(model_dir))
    small = {"hidden_size": width, "intermediate_size": width + 5, "num_hidden_layers": layers, "num_attention_heads": 4}
    config = CLIPConfig(
        text_config={**small, "vocab_size": len(tokenizer), "max_position_embeddings": MAX_TOKENS,
                     "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
                     "pad_token_id": tokenizer.pad_token_id},
        vision_config={**small, "image_size": 224, "patch_size": 32},
        projection_dim=PROJECTION_DIM)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        CLIPModel(config).eval().save_pretrained(str(model_dir))
    CLIPImageProcessor().save_pretrained(str(model_dir))
    return model_dir
