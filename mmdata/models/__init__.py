"""Models that train on mmdata's exports, and the recipes that run them.

- `trainer`: seeding and a small early-stopping training loop;
- `sentiment`: regression models over per-modality vectors (unimodal MLP, early, late, intermediate and
  tensor fusion), registered by name;
- `retrieval`: image-text alignment models (MSE projection, CCA, InfoNCE projection), registered by name;
- `sentiment_recipe` / `retrieval_recipe`: read an export, train every model, evaluate with
  `mmdata.metrics`, write the metrics as JSON.

Submodules import torch; this package module does not.
"""
