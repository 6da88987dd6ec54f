"""The statistics kernel: every p-value, z, null band, bootstrap interval and multiple-testing
correction of a report comes from here, so each rule (the p floor, what counts as a tie, the
band, the resampling unit) is written once.

- ``permutation``: p against a drawn null (floor 1 / (P + 1), ties count as extreme), z against
  it, its central 95% band and its 95th percentile, label permutations that keep group sizes,
  and the ``NullTest`` record.
- ``bootstrap``: a percentile bootstrap that resamples whole groups (concepts, scenarios).
- ``correction``: Holm (family-wise) and Benjamini-Hochberg (false discovery rate).
- ``exact``: the hypergeometric tail (an enrichment p with no draws).
- ``wording``: how a p-value (raw or adjusted) reads, at the permutation floor and above it.

Pure numpy (and SciPy for Benjamini-Hochberg and the hypergeometric tail); no project imports but ``schemas``.
"""

from trainer.stats.bootstrap import bootstrap_interval, grouped_bootstrap
from trainer.stats.correction import benjamini_hochberg, holm
from trainer.stats.exact import hypergeometric_p
from trainer.stats.permutation import (
    label_permutations,
    max_statistic_p,
    null_band,
    null_quantile,
    null_test,
    permutation_p,
    two_sided_p,
    z_score,
)
from trainer.stats.wording import at_floor, format_adjusted_p, format_p

__all__ = [
    "at_floor",
    "benjamini_hochberg",
    "bootstrap_interval",
    "format_adjusted_p",
    "format_p",
    "grouped_bootstrap",
    "holm",
    "hypergeometric_p",
    "label_permutations",
    "max_statistic_p",
    "null_band",
    "null_quantile",
    "null_test",
    "permutation_p",
    "two_sided_p",
    "z_score",
]
