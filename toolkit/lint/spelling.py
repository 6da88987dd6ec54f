"""The dictionary behind SP001: pyspellchecker's English word list, widened with spaCy's.

pyspellchecker ships an English word-frequency list (about 160,000 words) and suggests the
most frequent known words one edit away. It spells the American way,
so a word also counts as known when spaCy's spelling table gives it an American form it
knows ("colour", "harbour", "realised"), when WordNet's word lists (the lemma index of
spacy-lookups-data) hold it, or when its lemma is known ("nappies"). Loaded once per
process, only when a file has to be analysed.
"""

from __future__ import annotations

import functools
_SUGGESTIONS = 3


class Speller:
    def __init__(self) -> None:
        from spellchecker import SpellChecker

        from toolkit.lint.nlp import language, lookup_tables

        self._checker = SpellChecker(distance=1)
        self._known = self._checker.word_frequency.dictionary
        tables = lookup_tables()
        self._wordnet = tables.words
        self._spellings = tables.spellings
        self._lemma = language().get_pipe("amygdala_lemmatizer").lookups.get_table("lemma_lookup")

    def _in_dictionary(self, word: str) -> bool:
        return word in self._known or word in self._wordnet

    def known(self, word: str) -> bool:
        """Whether ``word`` (lowercase) is an English word: as spelt, in its other spelling, or by its lemma."""
        if self._in_dictionary(word):
            return True
        if any(self._in_dictionary(variant) for variant in self._spellings.get(word, ())):
            return True
        lemma = self._lemma.get(word)
        return lemma is not None and lemma != word and self.known(lemma)

    @functools.lru_cache(maxsize=4096)
    def suggestions(self, word: str) -> tuple[str, ...]:
        """Up to three known words one edit away (a letter added, dropped, changed or two swapped),
        the most frequent first. Two edits away would cost a second per word; most typos are one."""
        candidates = self._checker.known(self._checker.edit_distance_1(word))
        candidates.discard(word)
        ranked = sorted(candidates, key=lambda w: (-self._checker.word_usage_frequency(w), w))
        return tuple(ranked[:_SUGGESTIONS])


@functools.lru_cache(maxsize=1)
def speller() -> Speller:
    return Speller()
