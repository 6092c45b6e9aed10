"""Image-text alignment models: MSE projection, CCA and an InfoNCE (contrastive) projection.

"Image" below is the media side: image, video or audio vectors alike (the recipe's media tables); the
models see vectors only, so their messages name the media generically.

Each model learns from (image vector, caption vector) pairs (every caption of an image is a pair) and
then maps both sides into one space where the score of an (image, caption) pair is their cosine:

- `mse`: similarity-based. An MLP maps the image vector into the (L2-normalised) caption space, trained
  to minimise the mean squared error to the image's captions. Only the image side moves, because
  projecting both sides under MSE alone collapses them onto one point;
- `cca`: correlation-based. Canonical correlation analysis finds the linear projections of both sides
  that are maximally correlated (closed form by SVD, or scikit-learn's CCA); scores are cosines of the
  canonical variates;
- `infonce`: two linear projections into a shared space trained with the symmetric InfoNCE loss (CLIP's
  objective): in a batch of images, each image's caption must score above every other image's caption,
  and vice versa.

    model = create_retrieval_model("infonce")
    model.fit(train_images, train_texts, caption_image, config)
    scores = model.scores(test_images, test_texts)          # (n_images, n_captions)
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from mmdata.errors import SchemaMismatchError, UnknownNameError
from mmdata.models.trainer import FitResult, TrainConfig, fit

log = logging.getLogger(__name__)
CcaSolver = Literal["svd", "sklearn"]


@dataclass(frozen=True)
class RetrievalModelConfig:
    """Sizes of the alignment models."""

    #: Shared-space size of `infonce` and the hidden size of `mse`'s MLP.
    dim: int = 64
    #: Canonical components of `cca` (capped by the smaller input dim, the pair count, the image count - 1
    #: and, with the 'svd' solver, the number of non-zero canonical correlations).
    cca_components: int = 16
    #: 'svd': closed-form CCA (whiten each side, SVD of the cross-covariance), ridge-regularised;
    #: 'sklearn': `sklearn.cross_decomposition.CCA` (iterative NIPALS) after PCA to `cca_pca` dims.
    cca_solver: CcaSolver = "svd"
    #: Ridge added to each covariance's diagonal, relative to its mean variance ('svd').
    cca_regularization: float = 1e-3
    #: 'sklearn' only: each side is first reduced by PCA to at most this many dims (0: no PCA); NIPALS
    #: on raw 384-1024-d inputs takes minutes and overfits.
    cca_pca: int = 32
    #: Softmax temperature of `infonce`.
    temperature: float = 0.07

    def __post_init__(self) -> None:
        if self.dim < 1 or self.cca_components < 1:
            raise ValueError(f"dim and cca_components must be >= 1, got {self.dim} and {self.cca_components}")
        if self.cca_pca < 0 or self.cca_regularization < 0:
            raise ValueError(f"cca_pca and cca_regularization must be >= 0, got {self.cca_pca}, {self.cca_regularization}")
        if self.cca_solver not in ("svd", "sklearn"):
            raise ValueError(f"cca_solver must be 'svd' or 'sklearn', got {self.cca_solver!r}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")


def cosine_scores(images: np.ndarray, texts: np.ndarray) -> np.ndarray:
    """(n_images, n_captions) cosine similarity of row vectors (zero rows score 0)."""
    return normalize_rows(images) @ normalize_rows(texts).T


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, in float64; zero rows stay zero."""
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class RetrievalModel(ABC):
    """Learns projections from (image, caption) pairs; scores pairs by cosine in the shared space."""

    name: ClassVar[str]

    def __init__(self, config: RetrievalModelConfig | None = None):
        self.config = config or RetrievalModelConfig()
        self.fit_result: FitResult | None = None

    @abstractmethod
    def fit(self, images: np.ndarray, texts: np.ndarray, caption_image: np.ndarray, train: TrainConfig) -> None:
        """Learn from `images` (n_images, d_i) and `texts` (n_captions, d_t); caption j shows image caption_image[j]."""

    @abstractmethod
    def encode_images(self, images: np.ndarray) -> np.ndarray:
        """Image vectors in the shared space."""

    @abstractmethod
    def encode_texts(self, texts: np.ndarray) -> np.ndarray:
        """Caption vectors in the shared space."""

    def scores(self, images: np.ndarray, texts: np.ndarray) -> np.ndarray:
        """(n_images, n_captions) cosine scores in the shared space."""
        return cosine_scores(self.encode_images(images), self.encode_texts(texts))


class MseProjection(RetrievalModel):
    """An MLP from image vectors to the normalised caption space, trained with MSE."""

    name = "mse"

    def fit(self, images: np.ndarray, texts: np.ndarray, caption_image: np.ndarray, train: TrainConfig) -> None:
        import torch
        from torch import nn

        images_t, texts_t, pairs = _tensors(images, texts, caption_image)
        targets = torch.as_tensor(normalize_rows(texts), dtype=torch.float32)
        self.net = nn.Sequential(nn.Linear(images_t.shape[1], self.config.dim), nn.ReLU(),
                                 nn.Linear(self.config.dim, texts_t.shape[1]))

        def loss_fn(net, index):
            return ((net(images_t[pairs[index]]) - targets[index]) ** 2).sum(dim=1).mean()

        self.fit_result = fit(self.net, loss_fn, len(pairs), train)

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.net(torch.as_tensor(images, dtype=torch.float32)).numpy()

    def encode_texts(self, texts: np.ndarray) -> np.ndarray:
        return normalize_rows(texts)


class CcaProjection(RetrievalModel):
    """Canonical correlation analysis between image and caption vectors; scored in canonical space.

    The default solver is the textbook closed form: with covariances Cxx, Cyy (ridge-regularised) and
    Cxy, the projections are Cxx^-1/2 U and Cyy^-1/2 V for the SVD U S V' = Cxx^-1/2 Cxy Cyy^-1/2, and S
    holds the canonical correlations. `cca_solver='sklearn'` uses scikit-learn's iterative CCA instead
    (after PCA); on the shapes demo it was ~500x slower and retrieved worse.
    """

    name = "cca"

    def fit(self, images: np.ndarray, texts: np.ndarray, caption_image: np.ndarray, train: TrainConfig) -> None:
        _check_pairs(images, texts, caption_image)
        pair_images = np.asarray(images, dtype=np.float64)[caption_image]
        texts = np.asarray(texts, dtype=np.float64)
        # The image side varies only between distinct images: n images span at most n - 1 directions.
        components = max(1, min(self.config.cca_components, pair_images.shape[1], texts.shape[1], len(texts) - 1,
                                len(images) - 1))
        if self.config.cca_solver == "sklearn":
            self._fit_sklearn(pair_images, texts, components, train.seed)
            self.components = int(self.cca.n_components)
            return
        self.image_mean, self.text_mean = pair_images.mean(axis=0), texts.mean(axis=0)
        x, y = pair_images - self.image_mean, texts - self.text_mean
        whiten_x = _inverse_sqrt(x.T @ x / len(x), self.config.cca_regularization)
        whiten_y = _inverse_sqrt(y.T @ y / len(y), self.config.cca_regularization)
        u, correlations, vt = np.linalg.svd(whiten_x @ (x.T @ y / len(x)) @ whiten_y)
        components = min(components, _correlated_components(correlations))
        self.image_weights = whiten_x @ u[:, :components]
        self.text_weights = whiten_y @ vt.T[:, :components]
        self.correlations = correlations[:components]
        #: Canonical components scored: with one, cosines are all +1 or -1 and tie (the recipe says so).
        self.components = components

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float64)
        if self.config.cca_solver == "sklearn":
            return self.cca.transform(self._reduce(self.image_pca, images))
        return (images - self.image_mean) @ self.image_weights

    def encode_texts(self, texts: np.ndarray) -> np.ndarray:
        texts = np.asarray(texts, dtype=np.float64)
        if self.config.cca_solver == "sklearn":
            # transform(X, Y) returns both views; X only sets the row count here.
            reduced = self._reduce(self.text_pca, texts)
            return self.cca.transform(np.zeros((len(reduced), self.cca.n_features_in_)), reduced)[1]
        return (texts - self.text_mean) @ self.text_weights

    def _fit_sklearn(self, pair_images: np.ndarray, texts: np.ndarray, components: int, seed: int) -> None:
        from sklearn.cross_decomposition import CCA

        self.image_pca = self._pca(pair_images, seed)
        self.text_pca = self._pca(texts, seed)
        x, y = self._reduce(self.image_pca, pair_images), self._reduce(self.text_pca, texts)
        self.cca = CCA(n_components=min(components, x.shape[1], y.shape[1]), max_iter=500, scale=True)
        self.cca.fit(x, y)

    def _pca(self, x: np.ndarray, seed: int):
        from sklearn.decomposition import PCA

        size = min(self.config.cca_pca, x.shape[1], len(x) - 1)
        if self.config.cca_pca == 0 or size >= x.shape[1]:
            return None
        return PCA(n_components=size, random_state=seed).fit(x)

    @staticmethod
    def _reduce(pca, x: np.ndarray) -> np.ndarray:
        return x if pca is None else pca.transform(x)


class InfoNceProjection(RetrievalModel):
    """Linear image and text projections to a shared space, trained with the symmetric InfoNCE loss."""

    name = "infonce"

    def fit(self, images: np.ndarray, texts: np.ndarray, caption_image: np.ndarray, train: TrainConfig) -> None:
        import torch
        from torch import nn

        images_t, texts_t, pairs = _tensors(images, texts, caption_image)
        captions_of = [np.flatnonzero(pairs.numpy() == i) for i in range(len(images_t))]
        if any(len(c) == 0 for c in captions_of):
            raise SchemaMismatchError("every training image (video, audio clip: the media side) needs at least one "
                                      "caption for InfoNCE")
        self.image_proj = nn.Linear(images_t.shape[1], self.config.dim)
        self.text_proj = nn.Linear(texts_t.shape[1], self.config.dim)
        model = nn.ModuleDict({"image": self.image_proj, "text": self.text_proj})
        rng = np.random.default_rng(train.seed)
        temperature = self.config.temperature

        def loss_fn(net, index):
            # One random caption per image: the other images' captions are the negatives.
            chosen = torch.as_tensor([rng.choice(captions_of[i]) for i in index.tolist()])
            a = nn.functional.normalize(net["image"](images_t[index]), dim=1)
            b = nn.functional.normalize(net["text"](texts_t[chosen]), dim=1)
            logits = a @ b.T / temperature
            labels = torch.arange(len(index))
            return (nn.functional.cross_entropy(logits, labels) + nn.functional.cross_entropy(logits.T, labels)) / 2

        self.fit_result = fit(model, loss_fn, len(images_t), train)

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.image_proj(torch.as_tensor(images, dtype=torch.float32)).numpy()

    def encode_texts(self, texts: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.text_proj(torch.as_tensor(texts, dtype=torch.float32)).numpy()


RETRIEVAL_MODELS: dict[str, type[RetrievalModel]] = {
    cls.name: cls for cls in (MseProjection, CcaProjection, InfoNceProjection)
}


def create_retrieval_model(name: str, config: RetrievalModelConfig | None = None) -> RetrievalModel:
    """A retrieval model by registry name.

    Raises:
        UnknownNameError: `name` is not one of `RETRIEVAL_MODELS`.
    """
    try:
        cls = RETRIEVAL_MODELS[name]
    except KeyError:
        raise UnknownNameError(f"unknown retrieval model {name!r}; available: {sorted(RETRIEVAL_MODELS)}") from None
    return cls(config)


def _inverse_sqrt(covariance: np.ndarray, regularization: float) -> np.ndarray:
    """(C + r * mean variance * I)^-1/2 by eigendecomposition (C symmetric positive semi-definite)."""
    ridge = regularization * max(float(np.trace(covariance)) / len(covariance), 1e-12)
    values, vectors = np.linalg.eigh(covariance + ridge * np.eye(len(covariance)))
    return (vectors / np.sqrt(np.maximum(values, 1e-12))) @ vectors.T


def _correlated_components(correlations: np.ndarray, tolerance: float = 1e-6) -> int:
    """How many canonical pairs are correlated at all (at least 1). Singular vectors of a zero
    singular value are any basis of a null space: whatever directions the SVD happens to return
    (they change with the column order or the BLAS build), so scoring with them would add noise."""
    largest = float(correlations[0]) if len(correlations) else 0.0
    return max(1, int(np.count_nonzero(correlations > tolerance * max(largest, 1e-12))))


def _check_pairs(images: np.ndarray, texts: np.ndarray, caption_image: np.ndarray) -> None:
    if images.ndim != 2 or texts.ndim != 2 or len(caption_image) != len(texts):
        raise SchemaMismatchError(
            f"retrieval training needs media vectors (n, d) (images, videos or audio clips), texts (m, d') and m "
            "caption indices; got shapes "
            f"{images.shape}, {texts.shape} and {len(caption_image)} indices"
        )
    if len(caption_image) and (caption_image.min() < 0 or caption_image.max() >= len(images)):
        raise SchemaMismatchError(
            f"caption media indices (each caption's image, video or audio clip) span [{caption_image.min()}, "
            f"{caption_image.max()}], expected [0, {len(images) - 1}]"
        )


def _tensors(images: np.ndarray, texts: np.ndarray, caption_image: np.ndarray):
    import torch

    caption_image = np.asarray(caption_image, dtype=np.int64)
    _check_pairs(images, texts, caption_image)
    return (
        torch.as_tensor(np.asarray(images), dtype=torch.float32),
        torch.as_tensor(np.asarray(texts), dtype=torch.float32),
        torch.as_tensor(caption_image),
    )
