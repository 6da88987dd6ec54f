"""The one place the linter touches spaCy: tokens, lemmas and matchers, built once per process.

The pipeline is ``spacy.blank("en")`` with spaCy's lookup lemmatizer, its table loaded from
the installed spacy-lookups-data. The lemmatizer is subclassed to look words up in lower
case (the stock one leaves "Lonelier" at the start of a sentence unlemmatized) and to
memoize per word type, which makes it several times cheaper than the stock loop.

Keyword families are matched with two PhraseMatchers: on LOWER for every phrase as written,
and on LEMMA for the phrases made only of base forms, so "lonely" also finds "lonelier"
while "stuck" (whose lemma is "stick") finds "stuck" and not "sticks". The KW002 label
constructions are trigger phrases (matched on LEMMA) followed by an emotion phrase, with
intensifiers and emotion-noun modifiers allowed in between.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy
import spacy
from spacy.attrs import LEMMA, LOWER
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.pipeline import Lemmatizer
from spacy.tokens import Doc

from toolkit.lint import lexicon as lx
from toolkit.lint.lexicon import Lexicon

_LEMMATIZER = "amygdala_lemmatizer"


class FoldingLemmatizer(Lemmatizer):
    """The lookup lemmatizer, applied to the lowercased word and memoized per word type.

    Lemmas are read and written as hash arrays, which skips creating a Python Token per word.
    """

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        memo: dict[int, int] = self.cache
        lowers = doc.to_array(LOWER).tolist()
        lemmas = [memo.get(h) or self._lemma_of(h) for h in lowers]
        doc.from_array([LEMMA], numpy.asarray(lemmas, dtype=numpy.uint64).reshape(-1, 1))
        return doc

    def _lemma_of(self, lower: int) -> int:
        form = self.vocab.strings[lower].replace("’", "'")
        lemma = self.cache[lower] = self.vocab.strings.add(self.lookups.get_table("lemma_lookup").get(form, form))
        return lemma


@Language.factory(_LEMMATIZER, default_config={"mode": "lookup", "overwrite": True})
def _make_lemmatizer(nlp: Language, name: str, mode: str, overwrite: bool) -> FoldingLemmatizer:
    return FoldingLemmatizer(nlp.vocab, None, name, mode=mode, overwrite=overwrite)


@functools.lru_cache(maxsize=1)
def language() -> Language:
    """``spacy.blank("en")`` plus the lookup lemmatizer; built once per process."""
    nlp = spacy.blank("en")
    nlp.add_pipe(_LEMMATIZER)
    nlp.initialize()
    return nlp


@dataclass(frozen=True)
class EmotionSpan:
    """An emotion phrase found in a text: token range, character range, the phrase matched."""

    start: int
    end: int
    start_char: int
    end_char: int
    phrase: str


@dataclass(frozen=True)
class LabelSpan:
    """A KW002 construction: from its trigger to the end of the emotion it names."""

    start_char: int
    end_char: int
    emotion: EmotionSpan


@dataclass
class Analysis:
    doc: Doc
    emotions: list[EmotionSpan]
    labels: list[LabelSpan]
    _lemmas: list[str] | None = field(default=None, repr=False)

    def lemmas(self) -> list[str]:
        """Lowercase lemma of every token, apostrophes straightened."""
        if self._lemmas is None:
            strings = self.doc.vocab.strings
            self._lemmas = [strings[h] for h in self.doc.to_array(LEMMA).tolist()]
        return self._lemmas

    def word_hashes(self) -> numpy.ndarray:
        """The lowercase hash of every token, in order, for MinHash (stable across runs)."""
        return self.doc.to_array(LOWER)

    def leaned_terms(self) -> list[tuple[str, str]]:
        """What the text leans on: proper names, and nouns it repeats after "the".

        Returns ``(shown, lemma)`` pairs, e.g. ``("Mara", "mara")`` and ``("the letter", "letter")``.
        """
        doc = self.doc
        out: dict[str, str] = {}
        heads: dict[str, int] = {}
        for i, token in enumerate(doc):
            if token.is_title and token.is_alpha and len(token) > 1 and not _sentence_start(doc, i):
                if token.lower_ not in lx.NOT_SUBJECTS and token.lower_ not in lx.PERSONAL_PRONOUNS:
                    out.setdefault(token.lemma_, token.text)
            elif token.lower_ == "the":
                head = _noun_head(doc, i + 1)
                if head is not None:
                    heads[head] = heads.get(head, 0) + 1
        for head, count in heads.items():
            if count >= 2:
                out.setdefault(head, f"the {head}")
        return [(shown, lemma) for lemma, shown in out.items()]


_SENTENCE_END = frozenset(".!?…:")
_QUOTES = frozenset("\"'“”‘’«»()[]—–-")
_STOP = frozenset(
    """of and or but in on at to from with by for as into onto over under was were is are be been had
    has have that which who when while then than so if not no nor it its""".split()
)


def _sentence_start(doc: Doc, i: int) -> bool:
    j = i - 1
    while j >= 0 and doc[j].text in _QUOTES:
        j -= 1
    return j < 0 or doc[j].text[-1] in _SENTENCE_END


def _noun_head(doc: Doc, i: int) -> str | None:
    """The last word of the lowercase run after "the": "the old man was" gives "man"."""
    head = None
    for token in doc[i : i + 3]:
        if not token.is_alpha or not token.is_lower or token.lower_ in _STOP:
            break
        head = token.lemma_
    return head


class Matchers:
    """The phrase matchers over one lexicon; built once per process and manifest."""

    def __init__(self, nlp: Language, phrases: frozenset[str]) -> None:
        self.nlp = nlp
        self.by_lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.by_lemma = PhraseMatcher(nlp.vocab, attr="LEMMA")
        strings = nlp.vocab.strings
        self.phrase_of: dict[int, str] = {}
        ordered = sorted(phrases)
        for phrase, doc in zip(ordered, nlp.pipe(ordered)):
            key = strings.add(phrase)
            self.phrase_of[key] = phrase
            self.by_lower.add(phrase, [nlp.make_doc(phrase)])
            if all(t.lemma_ == t.lower_.replace("’", "'") for t in doc):
                self.by_lemma.add(phrase, [doc])

        self.triggers = PhraseMatcher(nlp.vocab, attr="LEMMA")
        self.contracted_be = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.kind_of: dict[int, str] = {}

        def add(kind: str, texts: list[str], matcher: PhraseMatcher | None = None) -> None:
            self.kind_of[strings.add(kind)] = kind
            (self.triggers if matcher is None else matcher).add(kind, list(nlp.pipe(texts)))

        add("feel", list(lx.FEEL_VERBS))
        add("copula", list(lx.COPULAS))
        contracted = [f"{p}{s}" for p in ("he", "she") for s in ("'s", "’s")]
        contracted += [f"{p}{s}" for p in ("they", "we", "you") for s in ("'re", "’re")]
        add("copula-contracted", contracted, self.contracted_be)
        add("noun-of", [f"{noun} of" for noun in lx.NOUN_OF])
        add("fill", [" ".join(words) for words in lx.FILL_WITH])
        add("make", [f"{verb} {obj}" for verb in lx.MAKE_VERBS for obj in lx.OBJECT_PRONOUNS])

    def analyze(self, doc: Doc) -> Analysis:
        found = {(s, e, k) for k, s, e in self.by_lower(doc)}
        found.update((s, e, k) for k, s, e in self.by_lemma(doc))
        emotions = []
        for start, end, key in sorted(found):
            span = doc[start:end]
            emotions.append(EmotionSpan(start, end, span.start_char, span.end_char, self.phrase_of[key]))
        labels = self._labels(doc, emotions) if emotions else []
        return Analysis(doc, emotions, labels)

    def _labels(self, doc: Doc, emotions: list[EmotionSpan]) -> list[LabelSpan]:
        longest: dict[int, EmotionSpan] = {}
        for span in emotions:
            if span.start not in longest or span.end > longest[span.start].end:
                longest[span.start] = span
        triggers = [(self.kind_of[k], s, e) for k, s, e in self.triggers(doc)]
        triggers += [(self.kind_of[k], s, e) for k, s, e in self.contracted_be(doc)]
        labels: dict[int, LabelSpan] = {}
        for kind, start, end in triggers:
            if kind == "copula" and not _personal_subject(doc, start):
                continue
            allowed = lx.INTENSIFIERS if kind in ("feel", "copula", "copula-contracted", "make") else _NOUN_SKIP
            position = _skip(doc, end, allowed)
            emotion = longest.get(position)
            if emotion is not None and kind.startswith("copula") and _physical(doc, emotion):
                continue
            if emotion is not None:
                label = LabelSpan(doc[start].idx, emotion.end_char, emotion)
                if emotion.start not in labels or label.start_char < labels[emotion.start].start_char:
                    labels[emotion.start] = label
        return sorted(labels.values(), key=lambda lab: lab.start_char)


_NOUN_SKIP = lx.INTENSIFIERS | lx.NOUN_MODIFIERS
_MAX_SKIP = 4


def _skip(doc: Doc, position: int, allowed: frozenset[str]) -> int:
    skipped = 0
    while position < len(doc) and skipped < _MAX_SKIP:
        word = doc[position].lower_
        if word in allowed:
            position += 1
        elif position + 1 < len(doc) and (word, doc[position + 1].lower_) in lx.INTENSIFIER_PHRASES:
            position += 2
        else:
            break
        skipped += 1
    return position


def _physical(doc: Doc, emotion: EmotionSpan) -> bool:
    """ "were stuck in traffic", "was hurt in the fall": a physical sense, not a label."""
    following = doc[emotion.end].lower_ if emotion.end < len(doc) else ""
    surface = doc[emotion.start : emotion.end].text.lower()
    return surface in lx.PHYSICAL_SENSES and following in lx.PLACE_WORDS


def _personal_subject(doc: Doc, verb: int) -> bool:
    """Whether the copula at ``verb`` has a pronoun or a name for subject ("she was", "Mara had been")."""
    j = verb - 1
    while j >= 0 and verb - j <= 4 and doc[j].lower_ in lx.AUXILIARIES:
        j -= 1
    if j < 0:
        return False
    subject = doc[j]
    if subject.lower_ in lx.PERSONAL_PRONOUNS:
        return True
    return subject.is_title and subject.is_alpha and subject.lower_ not in lx.NOT_SUBJECTS


@functools.lru_cache(maxsize=4)
def matchers(phrases: frozenset[str]) -> Matchers:
    """The matchers for one vocabulary (a manifest's lexicon); built once per process."""
    return Matchers(language(), phrases)


def analyze_stream(bodies: Iterable[str], lexicon: Lexicon, batch_size: int = 128) -> Iterator[Analysis]:
    """Tokenize, lemmatize and match every body, in order, one Doc alive at a time."""
    m = matchers(lexicon.phrases)
    for doc in m.nlp.pipe(bodies, batch_size=batch_size):
        yield m.analyze(doc)


def anchor_lemmas(anchor: str) -> list[str]:
    """The lemmas an anchor is matched by, without a leading article: "the back rows" -> back, row."""
    lemmas = [t.lemma_ for t in language()(anchor) if not t.is_space]
    while len(lemmas) > 1 and lemmas[0] in ("the", "a", "an"):
        lemmas = lemmas[1:]
    return lemmas
