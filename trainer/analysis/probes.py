"""Grouped cross-validated linear probes with a concept-level permutation null.

Folds (no leak across them):
- cluster probe: whole concepts are assigned to folds (in random order, each to the fold with the
  fewest texts; blind to the labels, so the permutation test stays exact), and a fold's training set
  is *purged* of every text that shares a paired scenario with one of its test texts. No concept and
  no scenario is on both sides.
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
whether concept identity is decodable at all is not in doubt; it reports chance and a CI, on the
pre-declared layers only (validation passes them).

Uncertainty: bootstrap over the groups (concepts / scenarios), held-out predictions fixed, plus the
standard deviation of the ridge accuracy over ``cv_seeds`` fold assignments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from schemas.analysis import ProbeHeadline, ProbeLayer, ProbeResult, ProbeSettings
from trainer.stats import bootstrap_interval, grouped_bootstrap, label_permutations, max_statistic_p, permutation_p

PERMUTATION_CHUNK = 250


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


def assign_folds(data: ProbeData, folds: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """([F, n] train masks purged of shared scenarios, [n] test fold of each text).

    Groups go to folds in a random order, each to the fold with the fewest texts so far. The
    assignment never looks at the labels: folds stratified on the observed labels would suit them
    better than any permutation of them, and the permutation test would no longer be exact.
    """
    n = len(data.unit)
    names, group = np.unique(data.fold_group, return_inverse=True)
    sizes = np.bincount(group, minlength=len(names))
    order = np.random.default_rng(seed).permutation(len(names))
    load = np.zeros(folds, np.int64)
    fold_of_group = np.empty(len(names), np.int64)
    for g in order:
        f = int(np.argmin(load))
        fold_of_group[g] = f
        load[f] += sizes[g]
    test_fold = fold_of_group[group]
    train = test_fold[None, :] != np.arange(folds)[:, None]
    scenarios = np.array([s or "" for s in data.scenario])
    for f in range(folds):
        shared = set(scenarios[test_fold == f]) - {""}
        if shared:
            train[f] &= ~np.isin(scenarios, list(shared))
    return train, test_fold


class RidgeLayer:
    """One layer's standardised states, shared by every fold's ridge fit (its Gram matrix computed once)."""

    def __init__(self, X: np.ndarray):
        # float32 is enough: the ridge term (one per training text) keeps every system well conditioned
        self.X = np.ascontiguousarray(X, dtype=np.float32)
        self.total = self.X.sum(axis=0)
        self._gram: np.ndarray | None = None

    @property
    def gram(self) -> np.ndarray:
        if self._gram is None:
            self._gram = self.X.T @ self.X  # BLAS syrk, once per layer
        return self._gram

    def scores(self, unit: np.ndarray, n_units: int, train: np.ndarray, test: np.ndarray, ridge: float) -> np.ndarray:
        """Held-out ridge-classifier scores per unit: G [n_test, U] such that scores = G @ Z for unit labels Z [U, K].

        The intercept is unpenalised (features centred on the training mean); the targets are the
        units' one-hot rows, so any relabelling of units is a product with G, no refit. With more
        training texts than features the primal system (the layer's Gram minus the rows left out) is
        solved, otherwise the dual (kernel) one: the same solution, the smaller matrix.
        """
        from scipy.linalg import cho_factor, cho_solve

        X = self.X
        n_t, d = int(train.sum()), X.shape[1]
        counts = np.bincount(unit[train], minlength=n_units).astype(float)
        if n_t > d:
            out = np.ascontiguousarray(X[~train])
            mean = (self.total - out.sum(axis=0)) / n_t
            A = self.gram - out.T @ out - n_t * np.outer(mean, mean)
            A[np.diag_indices_from(A)] += ridge * n_t
            sums = np.eye(n_units, dtype=np.float32)[unit[train]].T @ X[train]
            B = (sums - counts[:, None] * mean).T  # Xcᵀ E: [d, U]
            coef = cho_solve(cho_factor(A, check_finite=False), B, check_finite=False)
            G = (X[test] - mean) @ coef
        else:
            Xt = X[train]
            mean = Xt.mean(axis=0)
            Xc = Xt - mean
            K = Xc @ Xc.T
            K[np.diag_indices_from(K)] += ridge * n_t
            E = np.eye(n_units, dtype=np.float32)[unit[train]]
            G = ((X[test] - mean) @ Xc.T) @ cho_solve(cho_factor(K, check_finite=False), E, check_finite=False)
        return (G + counts / n_t).astype(np.float32)


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

    headline_layers = [x for x in config.headline_layers if x in layers] or [layers[-1]]
    headline_idx = [layers.index(x) for x in headline_layers]
    prepared = [RidgeLayer(X[li]) for li in range(len(layers))]
    seed_accuracy = []  # the spread over fold seeds, at the headline layers (a refit per seed)
    correct = np.zeros((n, len(layers)), bool)
    null_hits = np.zeros((len(layers), P), np.int64)
    for s in range(config.cv_seeds):
        train, test_fold = assign_folds(data, config.folds, config.seed + s)
        which = range(len(layers)) if s == 0 else headline_idx
        hits = np.zeros(len(layers))
        for f in range(config.folds):
            test = test_fold == f
            if not test.any():
                continue
            units = data.unit[test]
            for li in which:
                G = prepared[li].scores(data.unit, U, train[f], test, config.ridge)  # [n_s, U]
                sets = labelings if s == 0 else labelings[:1]
                for start in range(0, len(sets), PERMUTATION_CHUNK):
                    chunk = sets[start : start + PERMUTATION_CHUNK]  # [p, U]
                    Z = np.eye(K, dtype=np.float32)[chunk].transpose(1, 0, 2).reshape(U, -1)  # [U, p*K]
                    scores = (G @ Z).reshape(len(units), len(chunk), K)
                    hit = scores.argmax(axis=2) == chunk[:, units].T  # [n_s, p]
                    if s == 0:
                        null_hits[li, start : start + len(chunk)] += hit.sum(axis=0)
                        if start == 0:
                            correct[test, li] = hit[:, 0]
                    else:
                        hits[li] += hit[:, 0].sum()
        seed_accuracy.append(null_hits[:, 0] / n if s == 0 else hits / n)
    accuracy = null_hits / n  # [L, 1+P]
    observed, null = accuracy[:, 0], accuracy[:, 1:]
    spread = np.full(len(layers), np.nan)
    if config.cv_seeds > 1:
        spread[headline_idx] = np.std(np.stack(seed_accuracy), axis=0)[headline_idx]
    low, high = bootstrap_interval(grouped_bootstrap(correct, data.unit if permute else data.fold_group, config.bootstrap, rng))
    chance = float(np.bincount(y, minlength=K).max() / n)
    has_null = null.shape[1] > 0
    if has_null:
        p_layer = permutation_p(observed, null)
        p_family = max_statistic_p(observed, null)
        null_mean, null_high = null.mean(axis=1), np.percentile(null, 95, axis=1)

    def r(x: float) -> float:
        return round(float(x), 5)

    rows = [
        ProbeLayer(
            layer=layer,
            accuracy=r(observed[i]),
            ci_low=r(low[i]),
            ci_high=r(high[i]),
            cv_seed_sd=None if np.isnan(spread[i]) else r(spread[i]),
            chance=r(chance),
            null_mean=r(null_mean[i]) if has_null else None,
            null_95=r(null_high[i]) if has_null else None,
            p_value=r(p_layer[i]) if has_null else None,
            p_family=r(p_family[i]) if has_null else None,
        )
        for i, layer in enumerate(layers)
    ]
    best = int(np.argmax(observed))
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
                "folds by concept (random, balanced by texts, blind to labels), training purged of texts sharing a paired scenario with the test fold"
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
        p = float(permutation_p(over[0], over[1:]))
    if not config.logistic:
        return None, "logistic regression not run (disabled)"
    if len(data.classes) > config.headline_max_classes:
        return None, (
            f"{len(data.classes)} classes: logistic regression would take ~{len(data.classes) // 80 + 1} s per fold and layer; "
            "the ridge accuracy stands instead"
        )
    train, test_fold = assign_folds(data, config.folds, config.seed)
    one_class = [f for f in range(config.folds) if (test_fold == f).any() and len(np.unique(y[train[f]])) < 2]
    if one_class:  # the purge can leave a small corpus's fold with texts of one class only: nothing to fit
        return None, (
            f"not enough {'concepts' if accuracy is not None else 'texts'} outside the test fold's paired scenarios to fit logistic regression: "
            f"{len(one_class)} of {config.folds} folds train on one class only; the ridge accuracy and its null stand instead"
        )
    correct = np.stack([_logistic_correct(states[i], y, train, test_fold, config.C) for i in idx], axis=1)
    boot = grouped_bootstrap(correct, data.unit if accuracy is not None else data.fold_group, config.bootstrap, rng)
    low, high = bootstrap_interval(boot.mean(axis=1))
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
