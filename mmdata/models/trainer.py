"""Seeding and a small training loop with early stopping, shared by every recipe model.

    result = fit(model, loss_fn, num_items=len(y), config=TrainConfig(epochs=50), validate=valid_mae)

`loss_fn(model, index)` gets a batch of item indices (a LongTensor) and returns the scalar loss;
`validate()` returns a number to minimise. The best state (lowest validation score) is restored at
the end, so the returned model is the early-stopped one. A training loss or validation score that is
NaN or infinite stops training at once with `TrainingDiverged` (naming the epoch), so that a recipe can
record that one model as failed and go on with the others.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmdata.errors import ConfigError, MmdataError

log = logging.getLogger(__name__)

#: The largest seed `seed_everything` accepts (NumPy's legacy global seed is 32-bit).
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (Adam with weight decay, mini-batches, early stopping).

    Raises:
        ConfigError: a setting out of range (a `ValueError` too).
    """

    epochs: int = 60
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    #: Stop after this many epochs without a better validation score (0 = never stop early).
    patience: int = 12
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if self.patience < 0:
            raise ConfigError(f"patience must be >= 0, got {self.patience}")
        if not 0 <= self.seed <= MAX_SEED:
            # NumPy's legacy seeding (`seed_everything`) takes no other value and would fail mid-run
            raise ConfigError(f"seed must be in [0, {MAX_SEED}] (2**32 - 1), got {self.seed}")

    def override(self, **values: Any) -> TrainConfig:
        """A copy with the given fields replaced; None values keep the current setting (CLI flags not given)."""
        return dataclasses.replace(self, **{k: v for k, v in values.items() if v is not None})


class TrainingDiverged(MmdataError):
    """Training produced a NaN or infinite loss (or validation score): the model diverged.

    `epoch` counts from 1; `quantity` is 'training loss' or 'validation score'. The message is
    completed by the recipe with the model's name.
    """

    def __init__(self, epoch: int, quantity: str, value: float, lr: float):
        self.epoch, self.quantity, self.value, self.lr = epoch, quantity, value, lr
        super().__init__(f"diverged at epoch {epoch} ({quantity} {value}); try a lower --lr (now {lr:g})")


@dataclass
class FitResult:
    """What training did: epochs run, the epoch whose state was kept, and per-epoch scores.

    `best_epoch` indexes `valid_score` (from 0; -1 when no validation score improved on infinity), while
    `epochs_run` counts epochs: a report for readers adds 1 to `best_epoch`.
    """

    epochs_run: int
    best_epoch: int
    best_score: float
    train_loss: list[float] = field(default_factory=list)
    valid_score: list[float] = field(default_factory=list)


@contextmanager
def limit_threads(num_threads: int | None) -> Iterator[None]:
    """Cap torch's intra-op threads and the BLAS/OpenMP pools (NumPy, scikit-learn) for the duration.

    The recipe models are small: on a shared CPU one thread per process is many times faster than
    threads that wait for each other. None leaves the settings alone.
    """
    if num_threads is None:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    saved = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        with threadpool_limits(limits=num_threads):
            yield
    finally:
        torch.set_num_threads(saved)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so a run repeats exactly on the same machine."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fit(
    model: Any,
    loss_fn: Callable[[Any, Any], Any],
    num_items: int,
    config: TrainConfig,
    validate: Callable[[], float] | None = None,
) -> FitResult:
    """Train `model` with Adam over shuffled mini-batches of item indices; keep the best validated state.

    Raises:
        TrainingDiverged: a mini-batch loss or a validation score is NaN or infinite (checked before the
            optimizer steps on it, so the error comes as soon as the model goes wrong).

    Args:
        loss_fn: `(model, index LongTensor) -> scalar loss tensor` for one mini-batch.
        num_items: how many training items the indices run over.
        validate: `() -> float`, lower is better, called after every epoch in eval mode; None keeps
            the last state and never stops early.
    """
    import torch

    if num_items < 1:
        raise ValueError("no training items; expected at least one")
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    result = FitResult(epochs_run=0, best_epoch=-1, best_score=float("inf"))
    best_state = None
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(num_items, generator=generator)
        total, batches = 0.0, 0
        for start in range(0, num_items, config.batch_size):
            loss = loss_fn(model, order[start : start + config.batch_size])
            value = float(loss.detach())
            if not np.isfinite(value):
                raise TrainingDiverged(epoch + 1, "training loss", value, config.lr)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += value
            batches += 1
        result.train_loss.append(total / batches)
        result.epochs_run = epoch + 1
        if validate is None:
            continue
        model.eval()
        with torch.no_grad():
            score = float(validate())
        if not np.isfinite(score):
            raise TrainingDiverged(epoch + 1, "validation score", score, config.lr)
        result.valid_score.append(score)
        if score < result.best_score:
            result.best_score, result.best_epoch = score, epoch
            best_state = copy.deepcopy(model.state_dict())
        elif config.patience and epoch - result.best_epoch >= config.patience:
            log.debug("early stop at epoch %d (best %d: %.4f)", epoch, result.best_epoch, result.best_score)
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result
