"""The statistics kernel (trainer.stats): properties every report relies on, on planted data where
the right answer is known, including nulls that must come out null."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from trainer.stats import (
    benjamini_hochberg,
    bootstrap_interval,
    format_adjusted_p,
    format_p,
    grouped_bootstrap,
    holm,
    hypergeometric_p,
    label_permutations,
    max_statistic_p,
    null_band,
    null_quantile,
    null_test,
    permutation_p,
    two_sided_p,
    z_score,
)
from trainer.stats.wording import bound

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
nulls = arrays(np.float64, st.integers(1, 60), elements=finite)
p_values = arrays(np.float64, st.integers(1, 40), elements=st.floats(0.0, 1.0))


@given(finite, nulls)
def test_a_permutation_p_is_never_below_its_floor_nor_above_one(observed, null):
    for side in ("above", "below"):
        p = float(permutation_p(observed, null, side))
        assert 1 / (len(null) + 1) - 1e-15 <= p <= 1.0


def test_the_p_counts_the_draws_at_least_as_extreme_plus_one():
    null = np.array([0.0, 1.0, 2.0, 3.0])
    assert permutation_p(2.5, null) == pytest.approx(2 / 5)
    assert permutation_p(2.5, null, "below") == pytest.approx(4 / 5)
    assert permutation_p(10.0, null) == pytest.approx(1 / 5)  # the floor: 1 / (P + 1), never 0
    assert permutation_p(-10.0, null) == pytest.approx(5 / 5)


def test_a_tie_counts_as_extreme_so_it_never_strengthens_a_result():
    null = np.array([1.0, 1.0, 0.0])
    assert permutation_p(1.0, null) == pytest.approx(3 / 4)
    assert permutation_p(1.0 + 1e-13, null) == pytest.approx(3 / 4)  # within the tie tolerance
    assert permutation_p(0.0, null, "below") == pytest.approx(2 / 4)


@given(nulls, finite, finite)
def test_p_above_falls_as_the_observed_value_rises(null, a, b):
    low, high = min(a, b), max(a, b)
    assert permutation_p(high, null) <= permutation_p(low, null)
    assert permutation_p(high, null, "below") >= permutation_p(low, null, "below")


def test_p_is_vectorised_over_leading_axes():
    rng = np.random.default_rng(0)
    null = rng.normal(size=(3, 4, 50))
    observed = rng.normal(size=(3, 4))
    p = permutation_p(observed, null)
    assert p.shape == (3, 4)
    assert p[1, 2] == pytest.approx(permutation_p(observed[1, 2], null[1, 2]))


def test_two_sided_p_doubles_the_smaller_tail_and_says_which_side():
    null = np.arange(99, dtype=float)  # mean 49
    p, above = two_sided_p(97.5, null)
    assert p == pytest.approx(2 * 2 / 100) and bool(above)
    p, above = two_sided_p(0.5, null)
    assert p == pytest.approx(2 * 2 / 100) and not bool(above)
    assert float(two_sided_p(49.0, null)[0]) == 1.0  # capped at one


def test_the_family_maximum_p_is_never_smaller_than_each_members_own():
    rng = np.random.default_rng(1)
    null = rng.normal(size=(6, 199))
    observed = rng.normal(size=6) + 1.0
    assert np.all(max_statistic_p(observed, null) >= permutation_p(observed, null) - 1e-12)


def test_choosing_the_best_of_many_null_layers_is_paid_for():
    """A planted null: 20 layers of pure noise. The best layer's own p is small far more often than
    alpha; its family-wise p is not."""
    rng = np.random.default_rng(2)
    own_hits = family_hits = 0
    for _ in range(200):
        draws = rng.normal(size=(20, 100))  # the first column plays the observed statistic
        observed, null = draws[:, 0], draws[:, 1:]
        best = int(np.argmax(observed))
        own_hits += permutation_p(observed[best], null[best]) < 0.05
        family_hits += max_statistic_p(observed, null)[best] < 0.05
    assert own_hits > 60  # about half the runs: the best of 20 null layers usually looks significant
    assert family_hits < 25  # about alpha x 200 = 10


@given(finite, arrays(np.float64, st.integers(2, 60), elements=st.floats(-1e3, 1e3)))
def test_z_has_the_sign_of_the_distance_from_the_null_mean(observed, null):
    z = float(z_score(observed, null))
    if null.std() == 0:
        assert z == 0.0
    else:
        assert np.sign(z) == np.sign(round(observed - null.mean(), 9)) or abs(observed - null.mean()) < 1e-9


def test_z_is_the_distance_in_null_standard_deviations():
    null = np.array([-1.0, 1.0] * 50)  # mean 0, sd 1
    assert float(z_score(3.0, null)) == pytest.approx(3.0)
    assert float(z_score(-2.0, null)) == pytest.approx(-2.0)


def test_the_band_is_the_central_95_percent():
    null = np.arange(1001, dtype=float)
    low, high = null_band(null)
    assert (float(low), float(high)) == pytest.approx((25.0, 975.0))
    inside = np.mean((null >= low) & (null <= high))
    assert inside == pytest.approx(0.95, abs=0.002)


def test_null_test_records_the_evidence_and_computes_p_on_its_side():
    null = np.arange(99, dtype=float)
    test = null_test(97.5, null)
    assert (test.p, test.permutations, test.side) == (pytest.approx(0.02), 99, "above")
    assert test.null_low < test.null_mean < test.null_high and test.z > 0
    below = null_test(0.5, null, side="below")
    assert below.p == pytest.approx(0.02) and below.z < 0
    assert null_test(0.5, null, p=0.3, p_adjusted=0.6).p_adjusted == 0.6


def test_label_permutations_keep_the_observed_labelling_first_and_every_group_size():
    codes = np.array([0, 0, 0, 1, 1, 2])
    out = label_permutations(codes, 30, np.random.default_rng(0))
    assert out.shape == (31, 6) and (out[0] == codes).all()
    assert all((np.bincount(row, minlength=3) == [3, 2, 1]).all() for row in out)
    assert len({tuple(row) for row in out[1:]}) > 5
    flags = label_permutations(np.array([True, False, False]), 4, np.random.default_rng(0))
    ratings = label_permutations(np.array([-1.0, 0.5, 1.0]), 4, np.random.default_rng(0))
    assert flags.dtype == bool and ratings.dtype == np.float64 and (np.sort(ratings, axis=1) == [-1.0, 0.5, 1.0]).all()


@given(p_values)
def test_holm_never_lowers_a_p_is_monotone_and_at_most_one(p):
    adjusted = holm(p)
    assert np.all(adjusted >= p - 1e-15) and np.all(adjusted <= 1.0)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= -1e-15)
    assert np.all(adjusted <= np.minimum(1.0, len(p) * p) + 1e-15)  # never more than Bonferroni


@given(p_values)
def test_benjamini_hochberg_is_monotone_and_never_stricter_than_holm(p):
    q = benjamini_hochberg(p)
    assert np.all(q >= p - 1e-12) and np.all(q <= 1.0 + 1e-12)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(q[order]) >= -1e-12)
    assert np.all(q <= holm(p) + 1e-12)


def test_the_corrections_on_a_known_family():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert benjamini_hochberg(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert benjamini_hochberg(np.array([])).size == 0


def test_benjamini_hochberg_controls_false_discoveries_on_a_planted_null():
    """All 200 tests null (uniform p): at q <= 0.05 at least one discovery happens in at most ~5% of runs."""
    rng = np.random.default_rng(3)
    runs_with_a_discovery = sum(bool((benjamini_hochberg(rng.random(200)) <= 0.05).any()) for _ in range(300))
    assert runs_with_a_discovery <= 30
    planted = np.concatenate([rng.random(180), rng.random(20) * 1e-4])
    assert (benjamini_hochberg(planted)[180:] <= 0.05).all()


def test_the_grouped_bootstrap_covers_the_mean_and_resamples_whole_groups():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(40), 5)
    hits = (rng.random(200) < 0.3).astype(float)
    low, high = bootstrap_interval(grouped_bootstrap(hits, groups, 2000, rng))
    assert low < hits.mean() < high and high - low < 0.3
    low, high = bootstrap_interval(grouped_bootstrap(np.ones(20), np.arange(20), 500, rng))
    assert (float(low), float(high)) == (1.0, 1.0)
    # perfectly correlated groups: the interval must be wider than for independent texts
    clumped = np.repeat(rng.random(40) < 0.3, 5).astype(float)
    wide = np.subtract(*bootstrap_interval(grouped_bootstrap(clumped, groups, 2000, rng))[::-1])
    narrow = np.subtract(*bootstrap_interval(grouped_bootstrap(clumped, np.arange(200), 2000, rng))[::-1])
    assert wide > 1.5 * narrow


def test_the_grouped_bootstrap_weights_a_group_by_its_texts():
    """Two groups, one of 1 text (value 1) and one of 9 (value 0): a resample holding each once has mean 0.1."""
    values = np.array([1.0] + [0.0] * 9)
    groups = np.array([0] + [1] * 9)
    means = grouped_bootstrap(values, groups, 400, np.random.default_rng(0))
    assert set(np.round(means, 6)) <= {0.0, 0.1, 1.0}
    assert np.mean(np.isclose(means, 0.1)) == pytest.approx(0.5, abs=0.1)


def test_the_bootstrap_keeps_columns_apart():
    values = np.stack([np.zeros(30), np.ones(30)], axis=1)
    means = grouped_bootstrap(values, np.arange(30) // 3, 50, np.random.default_rng(0))
    assert means.shape == (50, 2) and (means[:, 0] == 0).all() and (means[:, 1] == 1).all()


def test_the_interval_is_the_central_share_of_the_resamples():
    resampled = np.arange(1001, dtype=float)
    assert tuple(map(float, bootstrap_interval(resampled))) == pytest.approx((25.0, 975.0))
    assert tuple(map(float, bootstrap_interval(resampled, 0.9))) == pytest.approx((50.0, 950.0))


def test_format_p_marks_the_permutation_floor():
    assert format_p(0.001, 999) == "p ≤ 0.001"
    assert format_p(0.0011, 999) == "p = 0.0011"
    assert format_p(0.0123) == "p = 0.0123"
    assert format_p(0.5, 999, label=False) == "0.5"
    assert format_p(0.001, 999, label=False) == "≤ 0.001"
    assert format_p(None) == "–"


@settings(max_examples=50)
@given(st.integers(1, 5000))
def test_format_p_at_the_floor_of_any_permutation_count(permutations):
    assert format_p(1 / (permutations + 1), permutations).startswith("p ≤")
    above = format_p(3 / (permutations + 1), permutations)
    assert above.startswith("p =") or above == "p < 0.001"  # below 0.001 only with more than 2,000 draws
    assert format_p(round(1 / (permutations + 1), 5), permutations).startswith("p ≤")  # as stored in the JSON


def test_a_two_sided_p_has_twice_the_floor():
    assert format_p(2 / 1000, 999, sides=2) == "p ≤ 0.002"
    assert format_p(2 / 1000, 999) == "p = 0.002"  # one-sided, 0.002 is two draws above the floor
    assert format_p(4 / 1000, 999, sides=2) == "p = 0.004"


def test_a_p_without_a_floor_below_a_thousandth_reads_as_a_bound():
    assert format_p(3e-7) == "p < 0.001" and format_p(3e-7, label=False) == "< 0.001"
    assert format_p(0.001) == "p = 0.001" and format_p(0.00099) == "p < 0.001"


def test_an_adjusted_p_of_a_raw_p_at_its_floor_is_a_bound():
    assert format_adjusted_p(0.014, 0.002, 999, sides=2) == "p ≤ 0.014"
    assert format_adjusted_p(0.014, 0.004, 999, sides=2) == "p = 0.014"
    assert format_adjusted_p(0.014, 0.002, 999) == "p = 0.014"  # one-sided floor 0.001: not at it
    assert format_adjusted_p(0.014, 0.001, 999, label=False) == "≤ 0.014"
    assert format_adjusted_p(0.0004, 0.00001, 99_999) == "p ≤ 0.0004" and format_adjusted_p(0.0004, 0.0002, 99_999) == "p < 0.001"
    assert format_adjusted_p(None, 0.5, 999) == "–"


@given(st.floats(1e-9, 1.0))
def test_a_floor_is_shown_rounded_up_so_it_stays_a_bound(x):
    shown = float(bound(x))
    assert x * (1 - 1e-9) <= shown <= x * 1.1 + 1e-15


def test_floors_read_as_round_bounds():
    assert format_p(1 / 1001, 1000) == "p ≤ 0.001" and format_p(1 / 8772, 8771) == "p ≤ 0.00012"
    assert format_p(1 / 150, 149) == "p ≤ 0.0067" and format_p(0.05, 19) == "p ≤ 0.05"


def test_the_null_quantile_is_the_one_sided_bar():
    null = np.arange(101, dtype=float)
    assert float(null_quantile(null)) == pytest.approx(95.0) and float(null_quantile(null, 0.5)) == pytest.approx(50.0)
    rng = np.random.default_rng(4)
    draws = rng.normal(size=(3, 2000))
    bar = null_quantile(draws)
    assert bar.shape == (3,) and np.all(np.abs((draws <= bar[:, None]).mean(axis=1) - 0.95) < 0.002)
    # a statistic above the bar is significant at 0.05, one at it is not
    assert float(permutation_p(bar[0] + 1e-9, draws[0])) <= 0.05 + 1 / 2001


def test_the_hypergeometric_p_is_the_exact_upper_tail():
    from math import comb

    population, successes, draws = 20, 7, 5
    for hits in range(draws + 1):
        exact = sum(comb(successes, k) * comb(population - successes, draws - k) for k in range(hits, draws + 1)) / comb(population, draws)
        assert hypergeometric_p(hits, population, successes, draws) == pytest.approx(exact)
    assert hypergeometric_p(0, population, successes, draws) == pytest.approx(1.0)


def test_the_hypergeometric_p_is_null_on_random_draws():
    """Drawing 15 of 300 items at random, 40 of them marked: p < 0.05 in at most about 5% of runs."""
    rng = np.random.default_rng(5)
    marked = np.zeros(300, bool)
    marked[:40] = True
    small = sum(hypergeometric_p(int(marked[rng.choice(300, 15, replace=False)].sum()), 300, 40, 15) < 0.05 for _ in range(400))
    assert small <= 30
    assert hypergeometric_p(15, 300, 40, 15) < 1e-10  # every drawn item marked: enriched


def test_two_sided_p_calls_the_null_mean_itself_above():
    null = np.arange(99, dtype=float)  # mean 49
    assert bool(two_sided_p(49.0, null)[1]) and not bool(two_sided_p(48.9, null)[1])


def test_z_is_zero_against_a_null_without_spread():
    assert float(z_score(5.0, np.ones(10))) == 0.0 and float(z_score(-5.0, np.zeros(3))) == 0.0
    z = z_score(np.array([1.0, 2.0]), np.stack([np.ones(4), np.array([0.0, 1.0, 0.0, 1.0])]))
    assert z[0] == 0.0 and z[1] == pytest.approx(3.0)


def test_the_band_is_taken_over_the_draws_of_each_row():
    null = np.stack([np.arange(1001, dtype=float), 10 * np.arange(1001, dtype=float)])
    low, high = null_band(null)
    assert low.shape == (2,) and tuple(low) == pytest.approx((25.0, 250.0)) and tuple(high) == pytest.approx((975.0, 9750.0))


def test_null_test_rounds_for_json_and_handles_an_empty_null():
    test = null_test(1 / 3, np.array([0.0, 1 / 7, 2 / 7, 3 / 7]))
    assert (test.value, test.null_mean) == (0.33333, 0.21429) and test.z == round(test.z, 3) and test.p == 0.4
    empty = null_test(0.5, np.array([]))
    assert empty.permutations == 0 and empty.z == 0.0 and np.isnan(empty.null_mean) and empty.p == 1.0


def test_the_family_maximum_is_taken_over_the_family_not_the_draws():
    null = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 10.0, 0.0, 0.0]])  # member 1 reaches 10 in one draw
    observed = np.array([5.0, 5.0])
    assert tuple(max_statistic_p(observed, null)) == pytest.approx((2 / 5, 2 / 5))
    assert tuple(permutation_p(observed, null)) == pytest.approx((1 / 5, 2 / 5))


def test_the_grouped_bootstrap_draws_as_many_groups_as_there_are():
    """Three groups of one text each, values 0, 1, 2: a resample's mean is a multiple of 1/3, and every
    mean from 0 to 2 appears (each group drawn zero to three times)."""
    means = grouped_bootstrap(np.array([0.0, 1.0, 2.0]), np.array([0, 1, 2]), 3000, np.random.default_rng(0))
    assert set(np.round(means * 3).astype(int)) == set(range(7))
    assert np.mean(means) == pytest.approx(1.0, abs=0.05)


def test_the_edges_of_the_wording():
    assert bound(0.0) == "0"
    assert format_adjusted_p(0.001, 0.0005, 9999) == "p = 0.001"  # at a thousandth, not below it
    assert format_adjusted_p(0.014, 0.004, 999, label=False, sides=2) == "0.014"
    assert format_adjusted_p(0.0004, 0.0002, 99_999, label=False) == "< 0.001"
