"""Confounds of the concept geometry, measured: the source of a vector's texts (stories vs paired
variants), shared paired scenarios, and the narrator's grammatical person.

Pure functions over arrays and labels; the nulls permute at the concept level.
"""

from __future__ import annotations

import numpy as np

from schemas.analysis import NarratorConfound, PairCell, PersonShare, ScenarioConfound, SharedScenarioPair
from trainer.stats import null_test

PERSONS = ("first", "second", "third")
TOP = 5


def source_vectors(activations: np.ndarray, kinds: list[str], concept_of_text: np.ndarray, scenarios: list[str | None], n_concepts: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Unit concept vectors from one source of texts: {source: (vectors [L, C', hidden], concept index [C'])}.

    story: mean of the concept's stories - mean of every other concept's stories.
    paired: mean over the concept's variants of (variant - its scenario's baseline).
    Concepts without texts of that source are left out.
    """
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    kinds_arr = np.array(kinds)
    story = (kinds_arr == "story") & (concept_of_text >= 0)
    if story.any():
        members = np.zeros((n_concepts, len(kinds)), np.float32)
        members[concept_of_text[story], np.flatnonzero(story)] = 1.0
        counts = members.sum(axis=1)
        have = np.flatnonzero(counts > 0)
        if len(have) >= 2:
            pos = members[have] / counts[have, None]
            rest = (story[None, :] & (members[have] == 0)).astype(np.float32)
            rest /= np.maximum(rest.sum(axis=1, keepdims=True), 1.0)
            out["story"] = (_unit(np.einsum("cn,lnh->lch", pos - rest, activations)), have)
    baseline_of = {s: j for j, (k, s) in enumerate(zip(kinds, scenarios)) if k == "baseline" and s}
    weights = np.zeros((n_concepts, len(kinds)), np.float32)
    for j, (kind, scenario) in enumerate(zip(kinds, scenarios)):
        if kind == "variant" and concept_of_text[j] >= 0 and scenario in baseline_of:
            weights[concept_of_text[j], j] += 1.0
            weights[concept_of_text[j], baseline_of[scenario]] -= 1.0
    counts = (weights > 0).sum(axis=1)
    have = np.flatnonzero(counts > 0)
    if len(have) >= 2:
        out["paired"] = (_unit(np.einsum("cn,lnh->lch", weights[have] / counts[have, None], activations)), have)
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norm == 0, 1.0, norm)


def scenario_confound(
    gram: np.ndarray,
    shared: list[list[list[str]]],
    codes: np.ndarray,
    concepts: list[str],
    layers: list[int],
    permutations: int,
    rng: np.random.Generator,
    alpha: float = 0.05,
) -> ScenarioConfound:
    """gram [C, C] deep-third mean cosines; shared[i][j] the scenarios concepts i and j share; codes the clusters."""
    n = len(concepts)
    share = np.array([[bool(shared[i][j]) for j in range(n)] for i in range(n)])
    same = codes[:, None] == codes[None, :]
    upper = np.triu(np.ones((n, n), bool), k=1)

    def cell(mask: np.ndarray) -> PairCell:
        m = mask & upper
        return PairCell(pairs=int(m.sum()), mean_cosine=round(float(gram[m].mean()), 5) if m.any() else None)

    other = ~same & upper
    cells = dict(
        shared_same_cluster=cell(share & same),
        shared_other_cluster=cell(share & ~same),
        unshared_same_cluster=cell(~share & same),
        unshared_other_cluster=cell(~share & ~same),
    )
    pairs = sorted(
        (
            SharedScenarioPair(a=concepts[i], b=concepts[j], cosine=round(float(gram[i, j]), 5), same_cluster=bool(same[i, j]), scenarios=shared[i][j])
            for i, j in zip(*np.nonzero(share & upper))
        ),
        key=lambda p: -p.cosine,
    )[:TOP]
    if not (share & other).any() or not (~share & other).any():
        return ScenarioConfound(layers=layers, **cells, effect=None, confounded=False, top_pairs=pairs,
                                reason="no different-cluster pairs both sharing and not sharing a scenario")

    def effect(s: np.ndarray) -> np.ndarray:  # s [P, C, C] bool -> [P]
        on = s & other
        off = ~s & other
        return (gram * on).sum(axis=(1, 2)) / on.sum(axis=(1, 2)).clip(1) - (gram * off).sum(axis=(1, 2)) / off.sum(axis=(1, 2)).clip(1)

    observed = float(effect(share[None])[0])
    null = np.empty(permutations)
    for start in range(0, permutations, 100):
        perms = np.stack([rng.permutation(n) for _ in range(min(100, permutations - start))])
        null[start : start + len(perms)] = effect(share[perms[:, :, None], perms[:, None, :]])
    test = null_test(observed, null)
    return ScenarioConfound(layers=layers, **cells, effect=test, confounded=bool(test.p < alpha), top_pairs=pairs)


def narrator_confound(  # long: its statistics gain a permuted-person null in issue 24
    vectors: np.ndarray,
    activations: np.ndarray,
    persons: list[str | None],
    concept_of_text: np.ndarray,
    concepts: list[str],
    layers: list[int],
    permutations: int,
    rng: np.random.Generator,
    alpha: float = 0.05,
) -> NarratorConfound:
    """vectors [L, C, h] and activations [L, n, h] over the deep third; persons per text (None when unknown).

    decodable: each concept's majority narrator person predicted from its deep-third vector by the
    nearest class mean of the *other* concepts' vectors (leave one concept out, closed form from the
    Gram matrix); null: person labels permuted across concepts.
    share: the squared length of each unit vector inside the span of the person directions (mean
    state of each person's texts minus the mean of all texts), against rank / hidden for a random direction.
    """
    known = np.array([p in PERSONS for p in persons])
    texts_by = {p: int(sum(1 for q in persons if q == p)) for p in PERSONS}
    if not known.any():
        return NarratorConfound(layers=layers, texts_by_person=texts_by, concepts_by_person={}, decodable=None, mean_share=None,
                                random_share=None, top=[], confounded=False,
                                reason="texts.json has no narrator person (run trained before it was recorded)")
    C = len(concepts)
    person_code = np.array([PERSONS.index(p) if p in PERSONS else -1 for p in persons])
    votes = np.zeros((C, 3))
    rows = np.flatnonzero((concept_of_text >= 0) & known)
    np.add.at(votes, (concept_of_text[rows], person_code[rows]), 1.0)
    has = votes.sum(axis=1) > 0
    majority = votes.argmax(axis=1)
    by_concept = {PERSONS[k]: int(((majority == k) & has).sum()) for k in range(3)}

    # person directions, per layer: span of (mean of each person's texts - mean of all texts)
    X = activations[:, known]
    codes = person_code[known]
    present = [k for k in range(3) if (codes == k).sum() > 0]
    directions = np.stack([X[:, codes == k].mean(axis=1) - X.mean(axis=1) for k in present], axis=1)  # [L, k, h]
    basis = np.linalg.qr(np.swapaxes(directions, 1, 2))[0]  # [L, h, k]: orthonormal span (rank k - 1 up to rounding)
    rank = max(len(present) - 1, 1)
    basis = basis[:, :, :rank]
    share_l = (np.swapaxes(basis, 1, 2) @ np.swapaxes(vectors, 1, 2)) ** 2  # [L, rank, C]
    share = share_l.sum(axis=1).mean(axis=0)  # [C]
    random_share = rank / vectors.shape[-1]
    top = [PersonShare(concept=concepts[i], narrator=PERSONS[majority[i]], share=round(float(share[i]), 5))
           for i in np.argsort(-share)[:TOP] if has[i]]

    decodable = None
    reason = None
    labelled = np.flatnonzero(has)
    classes_present = len(set(majority[labelled]))
    if classes_present < 2 or len(labelled) < 4:
        reason = f"concepts' narrators: {by_concept}; needs two persons among at least four concepts to test decoding"
    else:
        gram = np.einsum("lch,ldh->cd", vectors[:, labelled], vectors[:, labelled]) / vectors.shape[0]
        y = majority[labelled]
        labelings = np.stack([y] + [rng.permutation(y) for _ in range(permutations)])  # [1+P, n]
        accuracy = _loo_centroid_accuracy(gram, labelings, 3)
        decodable = null_test(float(accuracy[0]), accuracy[1:])
    confounded = bool(decodable is not None and decodable.p < alpha)
    return NarratorConfound(layers=layers, texts_by_person=texts_by, concepts_by_person=by_concept, decodable=decodable,
                            mean_share=round(float(share[has].mean()), 5), random_share=round(random_share, 6), top=top,
                            confounded=confounded, reason=reason)


def _loo_centroid_accuracy(gram: np.ndarray, labelings: np.ndarray, K: int) -> np.ndarray:
    """Leave-one-out nearest-class-mean accuracy (dot product with the class mean) under each labelling: [P]."""
    member = np.eye(K)[labelings]  # [P, n, K]
    sums = np.einsum("ij,pjk->pik", gram, member)  # [P, n, K] sum of dot products to each class
    diag = np.diagonal(gram)
    sums -= member * diag[None, :, None]  # leave the concept itself out
    sizes = member.sum(axis=1, keepdims=True) - member  # [P, n, K]
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(sizes > 0, sums / sizes, -np.inf)
    return (score.argmax(axis=2) == labelings).mean(axis=1)


def shared_scenarios(kinds: list[str | None], scenarios: list[str | None], concept_of_text: np.ndarray, n_concepts: int) -> list[list[list[str]]]:
    """[C][C] the paired scenarios in which both concepts have a variant."""
    where: dict[str, set[int]] = {}
    for kind, scenario, ci in zip(kinds, scenarios, concept_of_text):
        if kind == "variant" and scenario and ci >= 0:
            where.setdefault(scenario, set()).add(int(ci))
    out: list[list[list[str]]] = [[[] for _ in range(n_concepts)] for _ in range(n_concepts)]
    for scenario, members in sorted(where.items()):
        for i in members:
            for j in members:
                if i != j:
                    out[i][j].append(scenario)
    return out
