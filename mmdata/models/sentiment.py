"""Sentiment regression over per-modality vectors: unimodal, early, late, intermediate and tensor fusion.

Every model takes `inputs: dict[modality, Tensor (batch, dim)]` and returns a `(batch,)` prediction.
The fusion strategies (the usual early/late/intermediate taxonomy, and TFN, Zadeh et al. 2017):

- `unimodal` / `early`: concatenate the vectors of the modalities it is given (one for unimodal), then an
  MLP: the representation model;
- `late`: one MLP per modality, each predicting the label, then a learned linear fusion of their outputs;
- `intermediate`: one encoder per modality, fused by concatenation at a hidden layer, then an MLP head;
- `tensor`: one encoder per modality to a small vector, [h; 1] of every modality combined by outer
  product (all unimodal, bimodal and trimodal interactions), then an MLP head.

    model = create_sentiment_model("late", {"text": 384, "audio": 40, "video": 12})
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import nn

from mmdata.errors import ConfigError, UnknownNameError

SentimentModelName = Literal["unimodal", "early", "late", "intermediate", "tensor"]
FusionKind = Literal["unimodal", "multimodal"]


@dataclass(frozen=True)
class SentimentModelConfig:
    """Sizes shared by the sentiment models."""

    hidden: int = 64
    dropout: float = 0.1
    #: Per-modality vector size before the outer product of `tensor` fusion ((h+1)^n grows fast).
    tensor_hidden: int = 8
    #: Weight of the per-modality losses that keep the branches of `late` fusion predictive.
    late_aux_weight: float = 0.5

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.tensor_hidden < 1:
            raise ValueError(f"hidden sizes must be >= 1, got {self.hidden} and {self.tensor_hidden}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


def mlp(in_dim: int, hidden: int, out_dim: int, dropout: float) -> nn.Sequential:
    """Linear -> ReLU -> Dropout -> Linear."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out_dim))


class SentimentModel(nn.Module):
    """Base: the ordered modalities a model reads and how it is classified in reports."""

    name: ClassVar[str]
    kind: ClassVar[FusionKind] = "multimodal"

    def __init__(self, dims: Mapping[str, int]):
        super().__init__()
        if not dims:
            raise ConfigError(f"sentiment model {self.name!r} needs at least one modality, got none")
        self.modalities = tuple(sorted(dims))
        self.dims = {m: int(dims[m]) for m in self.modalities}

    def auxiliary_loss(self, inputs: Mapping[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor | None:
        """An extra training loss some models add (None: none)."""
        return None


class EarlyFusion(SentimentModel):
    """Concatenate the modality vectors, then an MLP (with one modality: the unimodal baseline)."""

    name = "early"

    def __init__(self, dims: Mapping[str, int], config: SentimentModelConfig):
        super().__init__(dims)
        self.net = mlp(sum(self.dims.values()), config.hidden, 1, config.dropout)

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.net(torch.cat([inputs[m] for m in self.modalities], dim=1)).squeeze(1)


class Unimodal(EarlyFusion):
    """The MLP on one modality alone."""

    name = "unimodal"
    kind = "unimodal"

    def __init__(self, dims: Mapping[str, int], config: SentimentModelConfig):
        if len(dims) != 1:
            raise ConfigError(f"the unimodal model reads exactly one modality, got {sorted(dims)}")
        super().__init__(dims, config)


class LateFusion(SentimentModel):
    """One predictor per modality; a linear layer fuses their predictions."""

    name = "late"

    def __init__(self, dims: Mapping[str, int], config: SentimentModelConfig):
        super().__init__(dims)
        self.branches = nn.ModuleDict({m: mlp(d, config.hidden, 1, config.dropout) for m, d in self.dims.items()})
        self.fusion = nn.Linear(len(self.modalities), 1)
        nn.init.constant_(self.fusion.weight, 1.0 / len(self.modalities))
        nn.init.zeros_(self.fusion.bias)
        self.aux_weight = config.late_aux_weight

    def branch_outputs(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """(batch, n_modalities) per-modality predictions."""
        return torch.cat([self.branches[m](inputs[m]) for m in self.modalities], dim=1)

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.fusion(self.branch_outputs(inputs)).squeeze(1)

    def auxiliary_loss(self, inputs: Mapping[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor | None:
        if self.aux_weight == 0:
            return None
        outputs = self.branch_outputs(inputs)
        return self.aux_weight * torch.abs(outputs - target[:, None]).mean()


class IntermediateFusion(SentimentModel):
    """Per-modality encoders, concatenated at a hidden layer, then an MLP head."""

    name = "intermediate"

    def __init__(self, dims: Mapping[str, int], config: SentimentModelConfig):
        super().__init__(dims)
        self.encoders = nn.ModuleDict(
            {m: nn.Sequential(nn.Linear(d, config.hidden), nn.ReLU(), nn.Dropout(config.dropout)) for m, d in self.dims.items()}
        )
        self.head = mlp(config.hidden * len(self.modalities), config.hidden, 1, config.dropout)

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        hidden = torch.cat([self.encoders[m](inputs[m]) for m in self.modalities], dim=1)
        return self.head(hidden).squeeze(1)


class TensorFusion(SentimentModel):
    """Tensor fusion: the outer product of every modality's [h; 1], flattened, then an MLP head."""

    name = "tensor"

    def __init__(self, dims: Mapping[str, int], config: SentimentModelConfig):
        super().__init__(dims)
        size = config.tensor_hidden
        self.encoders = nn.ModuleDict(
            {m: nn.Sequential(nn.Linear(d, size), nn.ReLU()) for m, d in self.dims.items()}
        )
        self.head = mlp((size + 1) ** len(self.modalities), config.hidden, 1, config.dropout)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        fused = None
        for m in self.modalities:
            h = self.encoders[m](inputs[m])
            h = torch.cat([h, torch.ones_like(h[:, :1])], dim=1)  # the 1 keeps lower-order terms
            fused = h if fused is None else (fused[:, :, None] * h[:, None, :]).flatten(1)
        return self.head(self.dropout(fused)).squeeze(1)


SENTIMENT_MODELS: dict[str, type[SentimentModel]] = {
    cls.name: cls for cls in (Unimodal, EarlyFusion, LateFusion, IntermediateFusion, TensorFusion)
}


def create_sentiment_model(
    name: str, dims: Mapping[str, int], config: SentimentModelConfig | None = None
) -> SentimentModel:
    """A sentiment model by registry name over the given modality dims.

    Raises:
        UnknownNameError: `name` is not one of `SENTIMENT_MODELS`.
        ConfigError: the modalities do not suit the model (e.g. unimodal with two).
    """
    try:
        cls = SENTIMENT_MODELS[name]
    except KeyError:
        raise UnknownNameError(f"unknown sentiment model {name!r}; available: {sorted(SENTIMENT_MODELS)}") from None
    return cls(dims, config or SentimentModelConfig())
