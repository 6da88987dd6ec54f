"""The three vector methods and denoising, on activations with planted structure."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from base.errors import AmygdalaError
from trainer.vectors import concept_vectors, neutral_components, project_out, trainable_concepts

H = 16


@dataclass
class R:
    kind: str
    concept: str | None
    scenario: str | None = None


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_diffmean_is_positives_minus_other_stories_and_baselines():
    rng = np.random.default_rng(0)
    rows = [R("story", "a"), R("story", "a"), R("story", "b"), R("story", "c"), R("baseline", None, "s"),
            R("variant", "a", "s"), R("variant", "b", "s")]
    acts = rng.normal(size=(2, len(rows), H)).astype(np.float32)
    got = concept_vectors(acts, rows, ["a", "b", "c"], "diffmean")
    pos_a, neg_a = acts[:, [0, 1, 5]].mean(1), acts[:, [2, 3, 4]].mean(1)
    np.testing.assert_allclose(got[:, 0], unit(pos_a - neg_a), atol=1e-6)
    pos_b, neg_b = acts[:, [2, 6]].mean(1), acts[:, [0, 1, 3, 4]].mean(1)
    np.testing.assert_allclose(got[:, 1], unit(pos_b - neg_b), atol=1e-6)


def test_diffmean_ignores_other_concepts_variants():
    rows = [R("story", "a"), R("story", "b"), R("baseline", None, "s"), R("variant", "b", "s")]
    acts = np.random.default_rng(1).normal(size=(1, 4, H)).astype(np.float32)
    moved = acts.copy()
    moved[:, 3] += 100.0  # b's variant: not a negative of a
    np.testing.assert_allclose(
        concept_vectors(acts, rows, ["a"], "diffmean"), concept_vectors(moved, rows, ["a"], "diffmean"), atol=1e-6
    )


def test_paired_recovers_the_planted_shift_whatever_the_scenario():
    rng = np.random.default_rng(2)
    shift = {"joy": rng.normal(size=H), "fear": rng.normal(size=H)}
    rows, acts = [], []
    for s in range(4):
        base = rng.normal(size=H) * 10  # scenario content dwarfs the emotion
        rows.append(R("baseline", None, f"s{s}"))
        acts.append(base)
        for concept in ("joy", "fear"):
            rows.append(R("variant", concept, f"s{s}"))
            acts.append(base + shift[concept])
    rows.append(R("story", "joy"))  # stories do not enter the paired method
    acts.append(rng.normal(size=H) * 50)
    got = concept_vectors(np.array(acts, dtype=np.float32)[None], rows, ["joy", "fear"], "paired")
    np.testing.assert_allclose(got[0, 0], unit(shift["joy"]), atol=1e-5)
    np.testing.assert_allclose(got[0, 1], unit(shift["fear"]), atol=1e-5)


def test_paired_trains_only_concepts_with_a_variant_beside_a_baseline():
    rows = [R("baseline", None, "s"), R("variant", "joy", "s"), R("variant", "fear", "orphan"), R("story", "calm")]
    assert trainable_concepts("paired", rows, ["calm", "fear", "joy"]) == ["joy"]
    assert trainable_concepts("diffmean", rows, ["calm", "fear", "joy", "awe"]) == ["calm", "fear", "joy"]


def test_centered_is_concept_mean_minus_the_mean_of_concept_means():
    rng = np.random.default_rng(3)
    rows = [R("story", "a"), R("story", "a"), R("story", "a"), R("story", "b"), R("variant", "c", "s"), R("baseline", None, "s")]
    acts = rng.normal(size=(2, 6, H)).astype(np.float32)
    means = np.stack([acts[:, :3].mean(1), acts[:, 3], acts[:, 4]], axis=1)
    expected = unit(means - means.mean(1, keepdims=True))
    np.testing.assert_allclose(concept_vectors(acts, rows, ["a", "b", "c"], "centered"), expected, atol=1e-6)


def test_neutral_components_explain_the_requested_variance_and_are_projected_out():
    rng = np.random.default_rng(4)
    loud, quiet = unit(rng.normal(size=H)), rng.normal(size=(200, H)) * 0.1
    neutral = (rng.normal(size=(200, 1)) * 10 * loud + quiet)[None]
    (components,) = neutral_components(neutral, 0.5)
    assert components.shape == (1, H)
    assert abs(abs(components[0] @ loud) - 1) < 1e-3
    assert neutral_components(neutral, 0.999)[0].shape[0] > 1
    vectors = (unit(rng.normal(size=(3, H))) + 5 * loud)[None]
    cleaned = project_out(vectors, [components])
    assert np.abs(cleaned[0] @ loud).max() < 1e-2
    rows = [R("story", "a"), R("story", "b"), R("story", "c")]
    denoised = concept_vectors(vectors, rows, ["a", "b", "c"], "centered", neutral=[components])
    np.testing.assert_allclose(np.linalg.norm(denoised, axis=-1), 1.0, atol=1e-6)
    assert np.abs(denoised[0] @ loud).max() < 1e-2


@pytest.mark.parametrize("method", ["diffmean", "paired", "centered"])
def test_every_vector_has_unit_length(method):
    rng = np.random.default_rng(5)
    rows = [R("baseline", None, "s"), R("variant", "a", "s"), R("variant", "b", "s"), R("story", "a"), R("story", "b")]
    got = concept_vectors(rng.normal(size=(3, 5, H)).astype(np.float32), rows, ["a", "b"], method)
    np.testing.assert_allclose(np.linalg.norm(got, axis=-1), 1.0, atol=1e-6)


def test_a_zero_vector_names_the_concept_and_layer():
    rows = [R("baseline", None, "s"), R("variant", "a", "s")]
    acts = np.ones((2, 2, H), dtype=np.float32)
    with pytest.raises(AmygdalaError, match="'a' is zero at layer 7"):
        concept_vectors(acts, rows, ["a"], "paired", layers=[7, 8])


def test_diffmean_without_any_negative_is_refused():
    rows = [R("story", "a"), R("story", "a")]
    with pytest.raises(AmygdalaError, match="nothing to contrast 'a' with"):
        concept_vectors(np.ones((1, 2, H), dtype=np.float32), rows, ["a"], "diffmean")


@pytest.mark.parametrize("method", ["diffmean", "paired", "centered"])
def test_streamed_group_sums_equal_the_whole_matrix_product(method):
    """Texts fed in shuffled batches give the vectors of W @ activations, the methods' definition."""
    from trainer.vectors import WEIGHTS, GroupSums, unit_vectors

    rng = np.random.default_rng(7)
    rows = [R("story", c) for c in "aabbbcd"] + [R("baseline", None, "s"), R("variant", "a", "s"), R("variant", "c", "s"),
                                                 R("baseline", None, "t"), R("variant", "a", "t"), R("variant", "d", "t")]
    concepts = ["a", "c", "d"]
    acts = rng.normal(size=(3, len(rows), H))
    dense = unit_vectors(np.matmul(WEIGHTS[method](rows, concepts)[None], acts), concepts, [1, 2, 3])
    sums = GroupSums(rows, 3, H)
    order = rng.permutation(len(rows))
    for batch in np.array_split(order, 4):
        sums.add(batch, acts[:, batch])
    np.testing.assert_allclose(sums.vectors(concepts, method, [1, 2, 3]), dense, atol=1e-6)
    np.testing.assert_allclose(sums.mean_norm(), np.linalg.norm(acts, axis=-1).mean(-1), rtol=1e-12)


def test_group_sums_refuse_a_missing_or_repeated_text():
    from trainer.vectors import GroupSums

    rows = [R("story", "a"), R("story", "b")]
    sums = GroupSums(rows, 1, H)
    sums.add([0], np.ones((1, 1, H)))
    with pytest.raises(ValueError, match="twice"):
        sums.add([0], np.ones((1, 1, H)))
    with pytest.raises(ValueError, match="never added"):
        sums.vectors(["a", "b"], "diffmean", [1])
