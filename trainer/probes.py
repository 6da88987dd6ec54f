"""Grouped cross-validated linear probes with a concept-level permutation null.

Folds (no leak across them):
- cluster probe: whole concepts are assigned to folds (scikit-learn's ``StratifiedGroupKFold``,
  groups = concepts, stratified by cluster), and a fold's training set is *purged* of every text that
  shares a paired scenario with one of its test texts. No concept and no scenario is on both sides.
- concept probe: groups = a paired scenario's texts together, each story alone; the concept is
  necessarily on both sides (that is the question), no scenario is.

Two classifiers on the same folds, both on standardised full hidden states (no PCA):
- the headline: scikit-learn's ``LogisticRegression`` (L2, ``C``) in a ``StandardScaler`` pipeline
  fitted per fold, the number readers compare across tools and papers; run on the pre-declared
  headline layers only (one fit costs 0.1-2 s);
- every layer and every permutation: a ridge classifier (one-hot targets, closed form). Its held-out
  scores are ``G @ Z``, with ``G`` [test texts, concepts] fixed per fold and ``Z`` the concepts' one-hot
  labels, so relabelling concepts costs one matrix product and no refit. The permutation p-values
  are exact tests of the ridge classifier's accuracy; the headline reads as "logistic regression
  reaches a, the ridge classifier on the same folds reaches b, p against the null".

Null (cluster probe): cluster labels permuted across concepts, cluster sizes kept; ``permutations``
draws; p = (1 + #null >= observed) / (1 + P), floor 1 / (P + 1). Family-wise over layers: each
draw's maximum accuracy over all layers is the null of every layer (the best layer's p is honest).
The concept probe has no permutation test: concept labels have no coarser exchangeable unit, and
whether concept identity is decodable at all is not in doubt; it reports chance and a CI.

Uncertainty: bootstrap over the groups (concepts / scenarios), held-out predictions fixed, plus the
standard deviation of the ridge accuracy over ``cv_seeds`` fold assignments.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from schemas.analysis import ProbeHeadline, ProbeLayer, ProbeResult, ProbeSettings
from trainer.nulls import label_permutations

PERMUTATION_CHUNK = 50


@dataclass(frozen=True)
class ProbeConfig:
    folds: int = 5
    C: float = 1.0  # logistic regression, scikit-learn's convention
    ridge: float = 1.0  # ridge penalty per training text (alpha = ridge * n_train) on standardised features
    permutations: int = 999
    bootstrap: int = 1000
    cv_seeds: int = 3
    seed: int = 0
    headline_layers: tuple[int, ...] = ()  # empty: the caller's report layer
    headline_max_classes: int = 40  # logistic regression above this many classes costs too much (see docs)
    logistic: bool = True


@dataclass
class ProbeData:
    """What a probe needs about its texts: units (the exchangeable groups) and their classes."""

    unit: np.ndarray  # [n] index of each text's unit (a concept, for the cluster probe)
    unit_class: np.ndarray  # [U] class code of each unit
    classes: list[str]
    fold_group: np.ndarray  # [n] group for fold assignment
    scenario: list[str | None]  # [n] paired scenario, purged across folds
    dropped: list[str] = field(default_factory=list)


def standardise(states: np.ndarray) -> np.ndarray:
    """[L, n, d] -> zero mean, unit variance per feature over all texts (label-free, as the PCA it replaces)."""
    mean = states.mean(axis=1, keepdims=True, dtype=np.float64)
    sd = states.std(axis=1, keepdims=True, dtype=np.float64)
    return ((states - mean) / np.where(sd > 0, sd, 1.0)).astype(np.float32)


def assign_folds(data: ProbeData, folds: int, seed: int) -> np.ndarray:
    """[F, n] train masks (purged of shared scenarios) and the test fold of each text, as (train, test_fold)."""
    from sklearn.model_selection import StratifiedGroupKFold

    n = len(data.unit)
    y = data.unit_class[data.unit]
    test_fold = np.empty(n, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "the least populated class has fewer members than n_splits"
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        for f, (_, test) in enumerate(splitter.split(np.zeros(n), y, data.fold_group)):
            test_fold[test] = f
    train = test_fold[None, :] != np.arange(folds)[:, None]
    scenarios = np.array([s or "" for s in data.scenario])
    for f in range(folds):
        shared = set(scenarios[test_fold == f]) - {""}
        if shared:
            train[f] &= ~np.isin(scenarios, list(shared))
    return train, test_fold


def ridge_scores(X: np.ndarray, unit: np.ndarray, n_units: int, train: np.ndarray, test: np.ndarray, ridge: float) -> np.ndarray:
    """Held-out ridge-classifier scores per unit: G [L, n_test, U] such that scores = G @ Z for unit labels Z [U, K].

    The intercept is unpenalised (features centred on the training mean); the targets are the
    units' one-hot rows, so any relabelling of units is a product with G, no refit.
    """
    Xt, Xs = X[:, train], X[:, test]
    n_t = Xt.shape[1]
    mean = Xt.mean(axis=1, keepdims=True)
    Xc = Xt - mean
    A = np.swapaxes(Xc, 1, 2) @ Xc
    d = A.shape[-1]
    A[:, np.arange(d), np.arange(d)] += ridge * n_t
    E = np.zeros((n_t, n_units), np.float32)
    E[np.arange(n_t), unit[train]] = 1.0
    B = np.swapaxes(Xc, 1, 2) @ E  # [L, d, U]
    coef = np.linalg.solve(A, B)
    share = E.mean(axis=0)  # the intercept: each unit's share of the training texts
    return (Xs - mean) @ coef + share


def _logistic_correct(X: np.ndarray, y: np.ndarray, train: np.ndarray, test_fold: np.ndarray, C: float) -> np.ndarray:
    """[n] held-out correctness of scikit-learn's standardised L2 logistic regression on one layer."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    correct = np.zeros(len(y), bool)
    for f in range(train.shape[0]):
        test = test_fold == f
        if not test.any():
            continue
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
        model.fit(X[train[f]], y[train[f]])
        correct[test] = model.predict(X[test]) == y[test]
    return correct


def group_bootstrap(correct: np.ndarray, group: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """correct [n, L] -> [draws, L] accuracies with groups resampled with replacement."""
    codes = np.unique(group, return_inverse=True)[1]
    G = codes.max() + 1
    sums = np.zeros((G, correct.shape[1]))
    np.add.at(sums, codes, correct)
    sizes = np.bincount(codes, minlength=G).astype(float)
    counts = rng.multinomial(G, np.full(G, 1.0 / G), size=draws).astype(float)
    return (counts @ sums) / (counts @ sizes)[:, None]


def probe(
    states: np.ndarray,
    data: ProbeData,
    layers: list[int],
    level: str,
    config: ProbeConfig = ProbeConfig(),
    *,
    permute: bool = True,
) -> ProbeResult:
    """Grouped CV accuracy per layer (ridge), its concept-level null, and the logistic headline.

    states [L, n, hidden] for the texts described by ``data``.
    """
    rng = np.random.default_rng(config.seed)
    X = standardise(states)
    n, U, K = X.shape[1], len(data.unit_class), len(data.classes)
    y = data.unit_class[data.unit]
    labelings = label_permutations(data.unit_class, config.permutations if permute else 0, rng)  # [1+P, U]
    P = labelings.shape[0]

    seed_accuracy = []
    correct = null_hits = None
    for s in range(config.cv_seeds):
        train, test_fold = assign_folds(data, config.folds, config.seed + s)
        hits = np.zeros((len(layers), P if s == 0 else 1), np.int64)
        obs_correct = np.zeros((n, len(layers)), bool)
        for f in range(config.folds):
            test = test_fold == f
            if not test.any():
                continue
            G = ridge_scores(X, data.unit, U, train[f], test, config.ridge)  # [L, n_s, U]
            units = data.unit[test]
            sets = labelings if s == 0 else labelings[:1]
            for start in range(0, len(sets), PERMUTATION_CHUNK):
                chunk = sets[start : start + PERMUTATION_CHUNK]  # [p, U]
                Z = np.eye(K, dtype=np.float32)[chunk].transpose(1, 0, 2).reshape(U, -1)  # [U, p*K]
                scores = (G @ Z).reshape(len(layers), len(units), len(chunk), K)
                hit = scores.argmax(axis=3) == chunk[:, units].T[None]  # [L, n_s, p]
                hits[:, start : start + len(chunk)] += hit.sum(axis=1)
                if start == 0:
                    obs_correct[test] = hit[:, :, 0].T
        seed_accuracy.append(hits[:, 0] / n)
        if s == 0:
            correct, null_hits = obs_correct, hits
    assert correct is not None and null_hits is not None
    accuracy = null_hits / n  # [L, 1+P]
    observed, null = accuracy[:, 0], accuracy[:, 1:]
    spread = np.std(np.stack(seed_accuracy), axis=0) if config.cv_seeds > 1 else np.zeros(len(layers))
    boot = group_bootstrap(correct, data.unit if permute else data.fold_group, config.bootstrap, rng)
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    chance = float(np.bincount(y, minlength=K).max() / n)
    has_null = null.shape[1] > 0
    if has_null:
        p_layer = (1 + (null >= observed[:, None]).sum(axis=1)) / (1 + null.shape[1])
        family_max = null.max(axis=0)
        p_family = (1 + (family_max[None, :] >= observed[:, None]).sum(axis=1)) / (1 + null.shape[1])
        null_mean, null_high = null.mean(axis=1), np.percentile(null, 95, axis=1)

    def r(x: float) -> float:
        return round(float(x), 5)

    rows = [
        ProbeLayer(
            layer=layer,
            accuracy=r(observed[i]),
            ci_low=r(low[i]),
            ci_high=r(high[i]),
            cv_seed_sd=r(spread[i]),
            chance=r(chance),
            null_mean=r(null_mean[i]) if has_null else None,
            null_95=r(null_high[i]) if has_null else None,
            p_value=r(p_layer[i]) if has_null else None,
            p_family=r(p_family[i]) if has_null else None,
        )
        for i, layer in enumerate(layers)
    ]
    best = int(np.argmax(observed))
    headline_layers = [x for x in config.headline_layers if x in layers] or [layers[-1]]
    headline, headline_reason = _headline(
        states, data, y, layers, headline_layers, config, correct, accuracy if has_null else None, rng
    )
    return ProbeResult(
        level=level,  # type: ignore[arg-type]
        n_texts=n,
        n_classes=K,
        n_groups=int(len(np.unique(data.fold_group))),
        n_units=U,
        dropped_classes=data.dropped,
        settings=ProbeSettings(
            classifier="ridge classifier (one-hot targets, closed form) on standardised hidden states; "
            "headline: scikit-learn LogisticRegression",
            grouping=(
                "folds by concept (StratifiedGroupKFold), training purged of texts sharing a paired scenario with the test fold"
                if permute
                else "folds by paired scenario (its texts together) or single story; concepts on both sides by design"
            ),
            permutation_unit="cluster labels permuted across concepts, sizes kept" if permute else None,
            folds=config.folds,
            C=config.C,
            ridge=config.ridge,
            permutations=config.permutations if permute else 0,
            bootstrap=config.bootstrap,
            bootstrap_unit="concept" if permute else "fold group",
            cv_seeds=config.cv_seeds,
            seed=config.seed,
            headline_layers=headline_layers,
        ),
        layers=rows,
        best_layer=layers[best],
        best_p_family=rows[best].p_family,
        headline=headline,
        headline_reason=headline_reason,
    )


def _headline(
    states: np.ndarray,
    data: ProbeData,
    y: np.ndarray,
    layers: list[int],
    headline_layers: list[int],
    config: ProbeConfig,
    ridge_correct: np.ndarray,
    accuracy: np.ndarray | None,
    rng: np.random.Generator,
) -> tuple[ProbeHeadline | None, str | None]:
    idx = [layers.index(x) for x in headline_layers]
    ridge_acc = float(ridge_correct[:, idx].mean())
    p = None
    if accuracy is not None:  # the null of the ridge accuracy averaged over the headline layers
        over = accuracy[idx].mean(axis=0)
        p = float((1 + (over[1:] >= over[0]).sum()) / len(over))
    if not config.logistic:
        return None, "logistic regression not run (disabled)"
    if len(data.classes) > config.headline_max_classes:
        return None, (
            f"{len(data.classes)} classes: logistic regression would take ~{len(data.classes) // 80 + 1} s per fold and layer; "
            "the ridge accuracy stands instead"
        )
    train, test_fold = assign_folds(data, config.folds, config.seed)
    correct = np.stack([_logistic_correct(states[i], y, train, test_fold, config.C) for i in idx], axis=1)
    boot = group_bootstrap(correct, data.unit if accuracy is not None else data.fold_group, config.bootstrap, rng)
    low, high = np.percentile(boot.mean(axis=1), [2.5, 97.5])
    return (
        ProbeHeadline(
            layers=headline_layers,
            accuracy=round(float(correct.mean()), 5),
            ci_low=round(float(low), 5),
            ci_high=round(float(high), 5),
            ridge_accuracy=round(ridge_acc, 5),
            p_ridge=None if p is None else round(p, 5),
        ),
        None,
    )
