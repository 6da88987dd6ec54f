"""The rule registry: a data list, one module per rule, in code order."""

from __future__ import annotations

from toolkit.lint.model import CorpusRule, FileRule
from toolkit.lint.rules import (
    an001_missing_anchor,
    an002_baseline_terms,
    cv001_uncovered_concept,
    du001_near_duplicate,
    kw001_own_emotion,
    kw002_explicit_label,
    kw003_other_emotion,
    ln001_story_length,
    ln002_paired_length,
    sp001_spelling,
    st001_invalid_utf8,
    st002_empty,
    st003_paragraphs,
    st004_unknown_concept,
    st005_missing_baseline,
    st006_slug_names,
    st007_unexpected_entry,
)

RULES: list[FileRule | CorpusRule] = [
    st001_invalid_utf8.RULE,
    st002_empty.RULE,
    st003_paragraphs.RULE,
    st004_unknown_concept.RULE,
    st005_missing_baseline.RULE,
    st006_slug_names.RULE,
    st007_unexpected_entry.RULE,
    ln001_story_length.RULE,
    ln002_paired_length.RULE,
    kw001_own_emotion.RULE,
    kw002_explicit_label.RULE,
    kw003_other_emotion.RULE,
    sp001_spelling.RULE,
    an001_missing_anchor.RULE,
    an002_baseline_terms.RULE,
    du001_near_duplicate.RULE,
    cv001_uncovered_concept.RULE,
]
BY_CODE: dict[str, FileRule | CorpusRule] = {rule.code: rule for rule in RULES}
BY_NAME: dict[str, FileRule | CorpusRule] = {rule.name: rule for rule in RULES}
