"""Models that train on mmdata's exports, and the recipes that run them.

- `trainer`: seeding and a small early-stopping training loop;
- `sentiment`: regression models over per-modality vectors (unimodal MLP, early, late, intermediate and
  tensor fusion), registered by name;
- `retrieval`: image-text alignment models (MSE projection, CCA, InfoNCE projection), registered by name;
- `sentiment_recipe` / `retrieval_recipe`: read an export, train every model, evaluate with
  `mmdata.metrics`, write the metrics as JSON;
- `sentiment_splits`: the sentiment recipe's train, validation and test rows read from an export
  (a held-out validation split when it has none); `sentiment_checks`: what that recipe checks in the
  export before it trains (disjoint splits, sentiment labels) and the metrics it scores them with;
- `classify_recipe` / `classify_probe`: a linear probe (logistic regression) on an export's class ids;
  `classify_multilabel_recipe` / `classify_multilabel`: one-vs-rest probes on multi-label class targets (mAP).

Submodules import torch; this package module does not.
"""
