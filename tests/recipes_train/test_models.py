"""Sentiment fusion models, retrieval aligners and the seeded trainer on small synthetic problems."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmdata.errors import ConfigError, SchemaMismatchError, UnknownNameError
from mmdata.metrics import retrieval_metrics
from mmdata.models.retrieval import RetrievalModelConfig, cosine_scores, create_retrieval_model
from mmdata.models.sentiment import SENTIMENT_MODELS, SentimentModelConfig, create_sentiment_model
from mmdata.models.trainer import TrainConfig, fit, limit_threads, seed_everything

DIMS = {"text": 6, "audio": 4, "video": 3}


def _inputs(n: int = 5) -> dict[str, torch.Tensor]:
    return {m: torch.randn(n, d) for m, d in DIMS.items()}


@pytest.mark.parametrize("name", ["early", "late", "intermediate", "tensor"])
def test_fusion_models_map_every_modality_to_one_prediction_per_sample(name):
    seed_everything(0)
    model = create_sentiment_model(name, DIMS)
    out = model(_inputs())
    assert out.shape == (5,) and torch.isfinite(out).all()
    assert model.modalities == ("audio", "text", "video") and model.kind == "multimodal"


def test_unimodal_model_reads_one_modality_only():
    model = create_sentiment_model("unimodal", {"audio": 4})
    assert model.kind == "unimodal" and model(_inputs()).shape == (5,)
    with pytest.raises(ConfigError, match="exactly one modality"):
        create_sentiment_model("unimodal", DIMS)


def test_tensor_fusion_holds_every_cross_modal_product():
    model = create_sentiment_model("tensor", DIMS, SentimentModelConfig(tensor_hidden=2))
    assert model.head[0].in_features == 3 ** 3  # (h + 1) per modality, multiplied


def test_late_fusion_adds_per_modality_loss_and_starts_as_the_mean_of_branches():
    model = create_sentiment_model("late", DIMS, SentimentModelConfig(late_aux_weight=0.5)).eval()
    inputs = _inputs()
    branches = model.branch_outputs(inputs)
    assert torch.allclose(model(inputs), branches.mean(dim=1), atol=1e-6)
    assert model.auxiliary_loss(inputs, torch.zeros(5)) is not None
    assert create_sentiment_model("early", DIMS).auxiliary_loss(inputs, torch.zeros(5)) is None


def test_unknown_sentiment_model_lists_the_available_ones():
    with pytest.raises(UnknownNameError, match="available: .*'tensor'"):
        create_sentiment_model("transformer", DIMS)
    assert set(SENTIMENT_MODELS) == {"unimodal", "early", "late", "intermediate", "tensor"}


def _regression_problem(seed: int = 0, n: int = 200):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -0.5, 0.0, 0.25]) + rng.normal(0, 0.05, n)).astype(np.float32)
    return torch.as_tensor(x), torch.as_tensor(y)


def _train_linear(config: TrainConfig, validate=True):
    x, y = _regression_problem()
    seed_everything(config.seed)
    model = torch.nn.Linear(4, 1)

    def loss_fn(net, index):
        return ((net(x[index]).squeeze(1) - y[index]) ** 2).mean()

    def valid():
        return float(((model(x[:50]).squeeze(1) - y[:50]) ** 2).mean())

    result = fit(model, loss_fn, len(x), config, valid if validate else None)
    return model, result


def test_trainer_learns_a_linear_map_and_is_deterministic_under_a_seed():
    config = TrainConfig(epochs=40, batch_size=32, lr=0.05, patience=0, seed=3)
    first, result = _train_linear(config)
    second, _ = _train_linear(config)
    assert torch.allclose(first.weight, torch.tensor([[1.0, -0.5, 0.0, 0.25]]), atol=0.05)
    assert torch.equal(first.weight, second.weight)
    assert result.epochs_run == 40 and result.best_score < 0.01


def test_trainer_stops_early_and_restores_the_best_state():
    x, y = _regression_problem()
    model = torch.nn.Linear(4, 1)
    scores = iter([3.0, 1.0, 2.0, 2.5, 2.0, 9.0, 9.0])
    states = []

    def loss_fn(net, index):
        return ((net(x[index]).squeeze(1) - y[index]) ** 2).mean()

    def validate():
        states.append(model.weight.detach().clone())
        return next(scores)

    result = fit(model, loss_fn, len(x), TrainConfig(epochs=7, lr=0.01, patience=3), validate)
    assert result.best_epoch == 1 and result.epochs_run == 5  # epochs 2, 3, 4 do not improve on epoch 1
    assert torch.equal(model.weight, states[1]) and not model.training


def test_train_config_rejects_bad_values_and_overrides_only_given_fields():
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        TrainConfig(epochs=0)
    config = TrainConfig(epochs=5).override(epochs=None, seed=7)
    assert config.epochs == 5 and config.seed == 7


def test_limit_threads_restores_torch_threads():
    before = torch.get_num_threads()
    with limit_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def _paired(seed: int, n_images: int = 60, per: int = 3):
    """Images in 8-d; captions are a fixed linear map of their image (12-d) plus noise."""
    rng = np.random.default_rng(seed)
    mapping = np.random.default_rng(99).normal(size=(8, 12))
    images = rng.normal(size=(n_images, 8))
    caption_image = np.repeat(np.arange(n_images), per)
    texts = images[caption_image] @ mapping + rng.normal(0, 0.3, size=(n_images * per, 12))
    return images.astype(np.float32), texts.astype(np.float32), caption_image


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name,config", [
    ("mse", RetrievalModelConfig()),
    ("cca", RetrievalModelConfig(cca_components=8)),
    ("cca", RetrievalModelConfig(cca_components=8, cca_solver="sklearn", cca_pca=0)),
    ("infonce", RetrievalModelConfig(dim=16, temperature=0.1)),
])
def test_retrieval_models_align_a_linear_pairing_far_above_chance(name, config):
    train = _paired(0)
    test = _paired(1, n_images=30)
    seed_everything(0)
    model = create_retrieval_model(name, config)
    model.fit(*train, TrainConfig(epochs=60, batch_size=32, lr=1e-2, patience=0))
    scores = model.scores(test[0], test[1])
    assert scores.shape == (30, 90)
    metrics = retrieval_metrics(scores, test[2])
    assert metrics["i2t_r1"] > 60 and metrics["t2i_r5"] > 60  # chance: 10% and 17%


def test_cca_finds_the_shared_direction_with_correlation_near_one():
    rng = np.random.default_rng(0)
    z = rng.normal(size=500)
    images = np.stack([z, rng.normal(size=500)], axis=1)
    texts = np.stack([rng.normal(size=500), 2 * z + rng.normal(0, 0.01, 500), rng.normal(size=500)], axis=1)
    model = create_retrieval_model("cca", RetrievalModelConfig(cca_components=1))
    model.fit(images, texts, np.arange(500), TrainConfig())
    assert model.correlations[0] == pytest.approx(1.0, abs=1e-3)
    assert abs(np.corrcoef(model.encode_images(images)[:, 0], model.encode_texts(texts)[:, 0])[0, 1]) > 0.999


def test_retrieval_models_reject_mismatched_pairs_and_unknown_names():
    images, texts, caption_image = _paired(0, n_images=5)
    with pytest.raises(SchemaMismatchError, match="caption indices"):
        create_retrieval_model("cca").fit(images, texts, caption_image[:-1], TrainConfig())
    with pytest.raises(UnknownNameError, match="available: \\['cca', 'infonce', 'mse'\\]"):
        create_retrieval_model("clip")


def test_cosine_scores_are_cosines():
    scores = cosine_scores(np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[3.0, 3.0], [0.0, 0.0]]))
    assert scores == pytest.approx(np.array([[np.sqrt(0.5), 0.0], [np.sqrt(0.5), 0.0]]))
