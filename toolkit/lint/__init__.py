"""amygdala lint: the corpus style rules as a linter (see ``amygdala rules``).

The entry point is :func:`lint_corpus`; this package imports neither spaCy nor numpy until
a file misses the cache.
"""

from toolkit.lint.engine import LintResult, lint_cache_dir, lint_corpus
from toolkit.lint.model import Rule
from toolkit.lint.rules import BY_CODE, BY_NAME, RULES

__all__ = ["BY_CODE", "BY_NAME", "RULES", "LintResult", "Rule", "lint_cache_dir", "lint_corpus"]
