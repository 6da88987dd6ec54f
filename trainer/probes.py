"""Linear probes on the texts' pooled states: multinomial logistic regression, every layer, fold and
label permutation solved at once.

Why not one scikit-learn ``LogisticRegression`` per fit: a permutation test over 30 layers needs
layers x folds x (1 + permutations) fits; at ~10-30 ms each through scikit-learn's solver that is
minutes. The objective here is scikit-learn's (``C * sum of cross-entropy + ||W||² / 2``, intercept
unpenalised, full softmax), solved by Nesterov-accelerated gradient descent with the step from the
problem's smoothness bound, as batched matrix products (tests check it against scikit-learn).

Features: per layer, the top ``dims`` principal components of the texts' states (see
``principal_components``). PCA is fitted on all texts without labels, so no label leaks across folds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schemas.analysis import ProbeLayer, ProbeResult, ProbeSettings


WORKING_ELEMENTS = 10_000_000


@dataclass(frozen=True)
class ProbeConfig:
    folds: int = 5
    dims: int = 24
    C: float = 1.0
    iterations: int = 60
    permutations: int = 19
    bootstrap: int = 1000
    seed: int = 0


def principal_components(states: np.ndarray, dims: int) -> np.ndarray:
    """[layers, n, hidden] -> [layers, n, d] principal component scores (d <= dims, n - 1), scaled so the
    kept components average unit variance. Not whitened: equalising the components would lift noise
    directions to the level of the signal ones, which costs small probes most of their accuracy."""
    centered = (states - states.mean(axis=1, keepdims=True)).astype(np.float64)
    gram = centered @ centered.transpose(0, 2, 1)
    eig, vecs = np.linalg.eigh(gram)
    n = states.shape[1]
    d = min(dims, n - 1)
    top = vecs[:, :, ::-1][:, :, :d]
    variance = np.clip(eig[:, ::-1][:, :d], 0.0, None)  # n x the variance of each component
    scores = top * np.sqrt(variance)[:, None, :]
    scale = np.sqrt(np.maximum(variance.mean(axis=1), 1e-30) / n)
    return (scores / scale[:, None, None]).astype(np.float32)


def fit_softmax(
    features: np.ndarray,
    labels: np.ndarray,
    train_mask: np.ndarray,
    n_classes: int,
    C: float,
    iterations: int,
) -> np.ndarray:
    """Fit L2 multinomial logistic regressions for every (layer, labelling, fold) at once.

    features [L, n, d]; labels [P, n] ints (one row per labelling, e.g. the true labels and permutations);
    train_mask [F, n] bool. Returns logits for every sample under every model: [L, n, K, P, F].
    The class axis is not the innermost one: numpy reduces across slabs far faster than along short rows.
    """
    n_layers, n, d = features.shape
    n_label_sets, n_folds, K = labels.shape[0], train_mask.shape[0], n_classes
    models = n_label_sets * n_folds
    X = np.concatenate([features, np.ones((n_layers, n, 1), np.float32)], axis=2)
    Xt = X.transpose(0, 2, 1).copy()
    n_train = train_mask.sum(axis=1).astype(np.float32)  # [F]
    weight = np.broadcast_to((train_mask.T / n_train).astype(np.float32)[:, None, :], (n, n_label_sets, n_folds))
    weight = np.ascontiguousarray(weight).reshape(n, 1, models)
    onehot = np.eye(K, dtype=np.float32)[labels].transpose(1, 2, 0)[:, :, :, None]  # [n, K, P, 1]
    flat = (n_layers, d + 1, K * models)
    # The target's share of the gradient, Xᵀ(weight * onehot), does not change between iterations.
    weighted_target = (onehot * weight.reshape(n, 1, n_label_sets, n_folds)).reshape(1, n, -1)
    target_grad = Xt @ weighted_target
    lam = 1.0 / (C * n_train)  # [F]

    # Smoothness of the mean cross-entropy is at most half the top eigenvalue of the train covariance.
    weighted = X[:, None, :, :] * (train_mask / n_train[:, None]).astype(np.float32)[None, :, :, None]
    cov = np.swapaxes(weighted, -1, -2) @ X[:, None, :, :]  # [L, F, d+1, d+1]
    lipschitz = 0.5 * np.linalg.eigvalsh(cov)[..., -1] + lam  # [L, F]
    kappa = lipschitz / lam

    def per_model(values: np.ndarray) -> np.ndarray:  # [L, F] -> [L, 1, K * P * F]
        shaped = values.astype(np.float32).reshape(n_layers, 1, 1, 1, n_folds)
        return np.ascontiguousarray(np.broadcast_to(shaped, (n_layers, 1, K, n_label_sets, n_folds))).reshape(n_layers, 1, -1)

    step = per_model(1.0 / lipschitz)
    momentum = per_model((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1))
    penalty = np.broadcast_to(lam.astype(np.float32), (d + 1, K, n_label_sets, n_folds)).copy()
    penalty[d] = 0.0  # the intercept is not penalised
    penalty = penalty.reshape(1, d + 1, -1)

    W = np.zeros(flat, np.float32)
    W_prev = W
    for _ in range(iterations):
        look = W + momentum * (W - W_prev)
        probs = (X @ look).reshape(n_layers, n, K, models)
        top = probs[:, :, 0].copy()
        for k in range(1, K):
            np.maximum(top, probs[:, :, k], out=top)
        probs -= top[:, :, None]
        np.exp(probs, out=probs)
        probs *= weight / probs.sum(axis=2, keepdims=True)
        grad = Xt @ probs.reshape(n_layers, n, -1) - target_grad + penalty * look
        W_prev, W = W, look - step * grad
    return (X @ W).reshape(n_layers, n, K, n_label_sets, n_folds)


def probe(
    states: np.ndarray,
    labels: list[str],
    layers: list[int],
    level: str,
    config: ProbeConfig = ProbeConfig(),
) -> tuple[ProbeResult | None, str | None]:
    """Cross-validated probe accuracy per layer with a bootstrap CI and a permutation p-value.

    states [layers, n_texts, hidden]; labels one per text. Classes with fewer texts than folds are
    left out (and named in the result).
    """
    from sklearn.model_selection import StratifiedKFold

    names, counts = np.unique(np.array(labels), return_counts=True)
    kept = set(names[counts >= config.folds])
    dropped = sorted(str(c) for c in names[counts < config.folds])
    rows = np.array([i for i, lab in enumerate(labels) if lab in kept], dtype=np.int64)
    if len(kept) < 2:
        return None, f"fewer than two classes with at least {config.folds} texts"
    classes = sorted(kept)
    y = np.array([classes.index(labels[i]) for i in rows])
    n = len(rows)
    rng = np.random.default_rng(config.seed)

    splitter = StratifiedKFold(n_splits=config.folds, shuffle=True, random_state=config.seed)
    test_fold = np.empty(n, dtype=np.int64)
    for f, (_, test) in enumerate(splitter.split(np.zeros(n), y)):
        test_fold[test] = f
    train_mask = test_fold[None, :] != np.arange(config.folds)[:, None]
    label_sets = np.stack([y] + [rng.permutation(y) for _ in range(config.permutations)])

    features = principal_components(states[:, rows], config.dims)
    # layers in chunks so the [layers, n, K, P, F] working arrays stay near 40 MB
    per_layer = n * len(classes) * len(label_sets) * config.folds
    chunk = max(1, WORKING_ELEMENTS // per_layer)
    correct = np.empty((n, len(layers), len(label_sets)), dtype=bool)
    for start in range(0, len(layers), chunk):
        part = slice(start, start + chunk)
        logits = fit_softmax(features[part], label_sets, train_mask, len(classes), config.C, config.iterations)
        # each text is predicted by the model of the fold that held it out
        held_out = logits[:, np.arange(n), :, :, test_fold]  # [n, L, K, P] (advanced indexing moves n first)
        correct[:, part] = held_out.argmax(axis=2) == label_sets.T[:, None, :]
    accuracy = correct.mean(axis=0)  # [L, P]
    observed = accuracy[:, 0]
    p_values = (1 + (accuracy[:, 1:] >= observed[:, None]).sum(axis=1)) / (1 + config.permutations)
    resample = rng.integers(0, n, size=(config.bootstrap, n))
    boot = correct[resample, :, 0].mean(axis=1)  # [B, L]
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    chance = float(np.bincount(y).max() / n)
    result = ProbeResult(
        level=level,  # type: ignore[arg-type]
        n_texts=n,
        n_classes=len(classes),
        dropped_classes=dropped,
        settings=ProbeSettings(
            classifier="multinomial logistic regression (L2), batched Nesterov gradient descent",
            folds=config.folds,
            dims=int(features.shape[-1]),
            C=config.C,
            iterations=config.iterations,
            permutations=config.permutations,
            bootstrap=config.bootstrap,
            seed=config.seed,
        ),
        layers=[
            ProbeLayer(
                layer=layer,
                accuracy=round(float(observed[i]), 5),
                ci_low=round(float(low[i]), 5),
                ci_high=round(float(high[i]), 5),
                chance=round(chance, 5),
                p_value=round(float(p_values[i]), 5),
            )
            for i, layer in enumerate(layers)
        ],
    )
    return result, None
