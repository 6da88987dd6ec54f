"""The one place the linter touches spaCy: tokens, lemmas and matchers, built once per process.

The pipeline is ``spacy.blank("en")`` with spaCy's lookup lemmatizer, its table loaded from
the installed spacy-lookups-data. The lemmatizer is subclassed to look words up in lower
case (the stock one leaves "Lonelier" at the start of a sentence unlemmatized) and to
memoize per word type, which makes it several times cheaper than the stock loop.

Keyword families are matched with two PhraseMatchers: on LOWER for every phrase as written,
and on LEMMA for the phrases made only of base forms, so "lonely" also finds "lonelier"
while "stuck" (whose lemma is "stick") finds "stuck" and not "sticks". Forms derived from
the phrases (``lexicon.derive``: "warily", "fearless", "galvanised") match on LOWER and
report the phrases they come from; a hyphenated compound around a match is one span.

The KW002 label constructions are trigger phrases (matched on LEMMA) followed by an
emotion phrase, with intensifiers and emotion-noun modifiers allowed in between, plus an
emotion noun as the subject of a verb of motion or grip. There is no parser (no trained
English pipeline is installable offline here, and loading one would cost more than the
cold-run budget), so where a construction needs a subject or an object, ``_Words`` decides
from closed word lists and WordNet's word classes (the lemma index of spacy-lookups-data):
a person, a quantifier ("nobody"), a thing; an adjective before a noun; a compound noun.
"""

from __future__ import annotations

import functools
import re
import sys
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy


@contextmanager
def _torch_hidden() -> Iterator[None]:
    """Hide torch while spaCy is imported. thinc, spaCy's machine-learning library, imports torch
    whenever it is installed: 1.5 s of the linter's 2.5 s cold start, for a blank pipeline that never
    uses it. ``None`` in ``sys.modules`` makes ``import torch`` fail, which thinc takes for "not
    installed"; torch imports normally once spaCy is in."""
    if "torch" in sys.modules:
        yield
        return
    sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]


with _torch_hidden():
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
    """An emotion word found in a text: token and character range, the form matched, its stems.

    ``phrase`` is the lexicon form matched ("fearlessly", "rage"); ``stems`` are the
    manifest phrases it is or derives from ({"fear"}); a hyphenated compound is one span
    ("rage-filled").
    """

    start: int
    end: int
    start_char: int
    end_char: int
    phrase: str
    stems: frozenset[str]


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
    words: "_Words"
    _lemmas: list[str] | None = field(default=None, repr=False)
    # Where each character of the (whitespace-folded) doc came from in the body; None: the same place.
    offsets: list[int] | None = field(default=None, repr=False)

    def body_offset(self, i: int) -> int:
        """The body's character offset of the doc's character ``i`` (``token.idx``, a span's end)."""
        return i if self.offsets is None else self.offsets[i]

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
            if _capitalised(token) and not _sentence_start(doc, i):
                if token.lower_ not in lx.NOT_SUBJECTS and token.lower_ not in lx.PERSONAL_PRONOUNS:
                    # A name of several words is one term: "Mrs Okafor", "Uncle Bert", "Mara Santos".
                    first = i
                    if i > 0 and _capitalised(doc[i - 1]) and doc[i - 1].lower_ not in lx.NOT_SUBJECTS:
                        continue  # inside a name already taken
                    while first > 0 and _capitalised(doc[first - 1]) and doc[first - 1].lower_ in lx.TITLES:
                        first -= 1  # "Mrs" at the start of a sentence
                    last = i + 1
                    while last < len(doc) and _capitalised(doc[last]) and doc[last].lower_ not in lx.NOT_SUBJECTS:
                        last += 1
                    span = doc[first:last]
                    out.setdefault(" ".join(t.lemma_ for t in span), span.text)
            elif token.lower_ == "the":
                head = _noun_head(doc, i + 1)
                if head is not None:
                    heads[head] = heads.get(head, 0) + 1
        for head, count in heads.items():
            if count >= 2:
                out.setdefault(head, f"the {head}")
        names = [lemma for lemma in out if " " in lemma]
        # "Okafor" alone is part of "Mrs Okafor" when both occur.
        return [(shown, lemma) for lemma, shown in out.items() if not any(lemma in name.split() for name in names)]

    def subject(self, verb: int) -> str | None:
        """Who the verb at token ``verb`` is about: "person", "quantifier", "thing" or None."""
        return self.words.subject(self.doc, verb)


_SENTENCE_END = frozenset(".!?…:")
_QUOTES = frozenset("\"'“”‘’«»()[]—–-")
_STOP = frozenset(
    """of and or but in on at to from with by for as into onto over under was were is are be been had
    has have that which who when while then than so if not no nor it its""".split()
)


def _capitalised(token) -> bool:
    return token.is_title and token.is_alpha and len(token) > 1


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
        tables = lookup_tables()
        derived = lx.derive(phrases, tables.spellings, tables.words)
        # A form is one of the manifest's phrases or derived from some (or both: "hopeful").
        self.stems: dict[int, frozenset[str]] = {}
        ordered = sorted(phrases)
        for phrase, doc in zip(ordered, nlp.pipe(ordered)):
            self.stems[strings.add(phrase)] = frozenset([phrase]) | derived.get(phrase, frozenset())
            self.by_lower.add(phrase, [nlp.make_doc(phrase)])
            if all(t.lemma_ == t.lower_.replace("’", "'") for t in doc):
                self.by_lemma.add(phrase, [doc])
        # Derived forms match as written; their inflections are rare ("fearlessnesses").
        for form in sorted(set(derived) - phrases):
            self.stems[strings.add(form)] = derived[form]
            self.by_lower.add(form, [nlp.make_doc(form)])
        # Plurals the lookup table lacks ("sadnesses"), as forms of their singular's stems.
        lemma_of = nlp.get_pipe(_LEMMATIZER).lookups.get_table("lemma_lookup")
        for form, singular in sorted(lx.plurals([*phrases, *derived], tables.nouns).items()):
            key = strings.add(form)
            if key not in self.stems and form not in lemma_of:
                self.stems[key] = self.stems[strings.add(singular)]
                self.by_lower.add(form, [nlp.make_doc(form)])
        forms = [*phrases, *derived]
        self.adverbs = lx.adverbs(forms)

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
        add("with", ["with"])
        self.words = _Words(tables.adjectives, tables.nouns, forms)

    def analyze(self, doc: Doc, offsets: list[int] | None = None) -> Analysis:
        """The emotion words and labels of ``doc``; ``offsets`` maps its characters back to the
        body it was folded from (``fold_whitespace``), so spans point into the original text."""
        place = (lambda i: i) if offsets is None else offsets.__getitem__
        found: dict[tuple[int, int], tuple[str, frozenset[str]]] = {}
        for key, start, end in [*self.by_lower(doc), *self.by_lemma(doc)]:
            start, end = _compound(doc, start, end)
            phrase, stems = self.nlp.vocab.strings[key], self.stems[key]
            if (start, end) in found:
                known, known_stems = found[(start, end)]
                phrase, stems = max(known, phrase, key=len), known_stems | stems
            found[(start, end)] = (phrase, stems)
        emotions = []
        for (start, end), (phrase, stems) in sorted(found.items()):
            span = doc[start:end]
            emotions.append(EmotionSpan(start, end, place(span.start_char), place(span.end_char), phrase, stems))
        labels = self._labels(doc, emotions, place) if emotions else []
        return Analysis(doc, emotions, labels, self.words, offsets=offsets)

    def _labels(self, doc: Doc, emotions: list[EmotionSpan], place) -> list[LabelSpan]:
        longest: dict[int, EmotionSpan] = {}
        for span in emotions:
            if span.phrase in self.adverbs:
                continue  # "looked wistfully at": an adverb after a trigger modifies something else
            if span.start not in longest or span.end > longest[span.start].end:
                longest[span.start] = span
        triggers = [(self.kind_of[k], s, e) for k, s, e in self.triggers(doc)]
        triggers += [(self.kind_of[k], s, e) for k, s, e in self.contracted_be(doc)]
        labels: dict[int, LabelSpan] = {}

        def keep(label: LabelSpan) -> None:
            start = label.emotion.start
            if start not in labels or label.start_char < labels[start].start_char:
                labels[start] = label

        for kind, start, end in triggers:
            subject = self.words.subject(doc, start) if kind in ("feel", "copula") else None
            if kind == "copula" and subject not in ("person", "quantifier"):
                continue
            if kind == "feel" and subject == "thing":
                continue  # "the evening felt calmer": the air, not a person
            allowed = lx.INTENSIFIERS if kind in ("feel", "copula", "copula-contracted", "make") else _NOUN_SKIP
            position = _skip(doc, end, allowed)
            emotion = longest.get(position)
            if emotion is None and allowed is _NOUN_SKIP:
                emotion = longest.get(_skip(doc, end, allowed, self.words.modifiers))
            if emotion is None and kind.startswith("copula") and position < len(doc) and doc[position].lower_ == "in":
                # "was in mourning", "were in despair": a state named by its noun
                emotion = longest.get(_skip(doc, position + 1, _NOUN_SKIP, self.words.modifiers))
                if emotion is not None and not self.words.names_an_emotion_noun(doc, emotion):
                    continue
            if emotion is None:
                continue
            if kind.startswith("copula") and _physical(doc, emotion, start, subject):
                continue
            if kind in ("noun-of", "fill") and self.words.not_an_emotion_noun(doc, emotion):
                continue
            if kind == "with" and (emotion.phrase in lx.WITH_IDIOMS or not self.words.names_an_emotion_noun(doc, emotion)):
                continue  # "stamped the forms with grim satisfaction", not "with ease"
            keep(LabelSpan(place(doc[start].idx), emotion.end_char, emotion))
        for verb, emotion in self.words.causatives(doc, longest):
            keep(LabelSpan(place(doc[verb].idx), emotion.end_char, emotion))
        for emotion in longest.values():
            start = self.words.moving_subject(doc, emotion)
            if start is not None:
                keep(LabelSpan(place(doc[start].idx), emotion.end_char, emotion))
        return sorted(labels.values(), key=lambda lab: lab.start_char)


_NOUN_SKIP = lx.INTENSIFIERS | lx.NOUN_MODIFIERS
_DETERMINERS = frozenset(("the", "a", "an", *lx.POSSESSIVES))
_MAX_SKIP = 4


def _skip(doc: Doc, position: int, allowed: frozenset[str], adjectives: frozenset[str] = frozenset()) -> int:
    """The position after the intensifiers (and, for noun frames, modifiers) from ``position``.

    ``adjectives`` are also skipped (for emotion nouns: "with grim satisfaction").
    """
    skipped = 0
    while position < len(doc) and skipped < _MAX_SKIP:
        word = doc[position].lower_
        if word in allowed or word in adjectives:
            position += 1
        elif position + 1 < len(doc) and (word, doc[position + 1].lower_) in lx.INTENSIFIER_PHRASES:
            position += 2
        else:
            break
        skipped += 1
    return position


def _attached_hyphen(doc: Doc, i: int) -> bool:
    """Whether ``doc[i]`` is a hyphen joining the words on both sides: "rage-filled"."""
    return (
        0 < i < len(doc) - 1
        and doc[i].text == "-"
        and not doc[i - 1].whitespace_
        and not doc[i].whitespace_
        and doc[i - 1].is_alpha
        and doc[i + 1].is_alpha
    )


def _compound(doc: Doc, start: int, end: int) -> tuple[int, int]:
    """The token range of the hyphenated compound around a match: "rage" in "rage-filled"."""
    while _attached_hyphen(doc, end):
        end += 2
    while _attached_hyphen(doc, start - 1):
        start -= 2
    return start, end


def _physical(doc: Doc, emotion: EmotionSpan, verb: int, subject: str | None) -> bool:
    """ "were stuck in traffic", "was badly hurt", "nobody was hurt": a physical sense, not a label."""
    if doc[emotion.start : emotion.end].text.lower() not in lx.PHYSICAL_SENSES:
        return False
    following = doc[emotion.end].lower_ if emotion.end < len(doc) else ""
    before = {t.lower_ for t in doc[verb + 1 : emotion.start]}
    if following == "by":
        return False  # "hurt by what he said": the cause of a feeling
    return subject == "quantifier" or following in lx.PLACE_WORDS or bool(before & lx.PHYSICAL_DEGREE)


@dataclass(frozen=True)
class LookupTables:
    """Word lists from spacy-lookups-data: spelling variants, and WordNet's words by class."""

    spellings: dict[str, frozenset[str]]
    words: frozenset[str]
    adjectives: frozenset[str]
    nouns: frozenset[str]


@functools.lru_cache(maxsize=1)
def lookup_tables() -> LookupTables:
    """spaCy's English spelling table (British -> American) and its lemma index, read once."""
    import spacy_lookups_data
    from spacy.util import load_language_data

    index = load_language_data(spacy_lookups_data.en["lemma_index"])  # finds the .json.gz
    return LookupTables(
        spellings=lx.spelling_groups(load_language_data(spacy_lookups_data.en["lexeme_norm"])),
        words=frozenset().union(*index.values()),
        adjectives=frozenset(index["adj"]),
        nouns=frozenset(index["noun"]),
    )


class _Words:
    """Heuristics on a word's role that need its word class: subjects, objects, attributive use."""

    def __init__(self, adjectives: frozenset[str], nouns: frozenset[str], emotions: Iterable[str]) -> None:
        self.adjectives = adjectives
        self.nouns = nouns
        # Words that can only colour a noun ("grim", "quiet"), and are no emotion themselves.
        self.modifiers = frozenset(adjectives - nouns - set(emotions))

    def is_noun(self, token) -> bool:
        """A lowercase common noun: a noun that is not an inflected verb ("sat" is, as "SAT").

        The lookup lemmatizer has no part of speech, so "evening" comes out as "even":
        a word in -ing that is a noun itself counts.
        """
        lemma, lower = token.lemma_, token.lower_
        if not token.is_alpha or not token.is_lower or lower in lx.FUNCTION_WORDS:
            return False
        if lower in self.nouns:
            return lemma == lower or lemma in self.nouns or lower.endswith("ing")
        return lemma in self.nouns and lower in (lemma + "s", lemma + "es")

    def subject(self, doc: Doc, verb: int) -> str | None:
        """Who the verb at ``verb`` is about: "person", "quantifier" ("nobody"), "thing", or None.

        Walks back over auxiliaries and adverbs to the subject's head word: a pronoun, a name
        (a capitalised word that is not a day or month), a noun for a person or a group of
        people ("her mother", "the crowd"), a relative pronoun after one ("the boy who
        was"), or another noun or "it" (a thing). None when no subject precedes the verb.
        """
        j = verb - 1
        while j >= 0 and verb - j <= 5 and (doc[j].lower_ in lx.AUXILIARIES or doc[j].lower_.endswith("ly")):
            j -= 1
        if j < 0:
            return None
        token = doc[j]
        if token.lower_ in ("who", "that") and j > 0:
            j -= 1
            token = doc[j]
        lower = token.lower_
        if lower in ("'s", "’s") and j > 0:
            return "person" if doc[j - 1].is_title else None
        if lower in lx.QUANTIFIER_SUBJECTS or (lower == "one" and j > 0 and doc[j - 1].lower_ in ("no", "every", "any")):
            return "quantifier"
        if lower in lx.PERSONAL_PRONOUNS:
            return "person"
        if lower in lx.THING_PRONOUNS:
            return "thing"
        if token.is_title and token.is_alpha:
            if lower in lx.NOT_SUBJECTS:
                return None
            return "thing" if lower in lx.DAYS_AND_MONTHS else "person"
        if is_person_noun(token):
            return "person"
        if not self.is_noun(token):
            return None
        # "the crowd at the gate was": the head comes before the prepositional phrase.
        k = j - 1 if j > 0 and doc[j - 1].lower_ in _DETERMINERS else j
        if k > 1 and doc[k - 1].lower_ in lx.SUBJECT_PREPOSITIONS and is_person_noun(doc[k - 2]):
            return "person"
        return "thing"

    def not_an_emotion_noun(self, doc: Doc, emotion: EmotionSpan) -> bool:
        """In "full of ___" / "a wave of ___": a substance, a thing or people, not an emotion.

        "full of bitter greens", "filled with calm blue light" (an adjective before a noun),
        "full of hate mail" (the first word of a compound noun), "a wave of patients" (the
        plural of an adjective is a noun for people or things), "a wave of content" (a word
        whose noun sense is not the emotion).
        """
        phrase, surface = emotion.phrase, doc[emotion.start : emotion.end].text.lower()
        if phrase in lx.NOUN_HOMOGRAPHS:
            return True
        if phrase in self.adjectives and surface in (phrase + "s", phrase + "es"):
            return True
        following = doc[emotion.end] if emotion.end < len(doc) else None
        if following is None or not self.is_noun(following):
            return False
        if phrase in self.adjectives:
            return True
        compound_head = following.lower_ == following.lemma_ and following.lower_ not in lx.UNINFLECTED_PASTS
        return compound_head and following.lower_ not in lx.MOTION_VERBS

    def names_an_emotion_noun(self, doc: Doc, emotion: EmotionSpan) -> bool:
        """An emotion noun in a phrase of manner or state ("with grim satisfaction", "in mourning")."""
        if doc[emotion.start].is_title and not _sentence_start(doc, emotion.start):
            return False  # a name: "with Joy"
        phrase = emotion.phrase
        if phrase not in self.nouns and phrase not in lx.EXTRA_EMOTION_WORDS:
            return False
        return not self.not_an_emotion_noun(doc, emotion)

    def moving_subject(self, doc: Doc, emotion: EmotionSpan) -> int | None:
        """Where a label starts when an emotion noun moves or grips someone: "Fear gripped her".

        The emotion (after at most three modifiers, "a cold", "her") starts a clause and is
        the subject of a verb of motion or grip whose object is a person or a part of one
        ("gripped her", "rose in her chest", "washed over Tomas"), or it is a possessed
        noun, whatever its verb ("her anger boiled over", "his fear of heights meant").
        A capitalised word inside a sentence is a name ("Hope").
        """
        start = emotion.start
        while start > 0 and emotion.start - start < 3 and doc[start - 1].lower_ in _NOUN_SKIP:
            start -= 1
        owner = self._possessor(doc, start)
        if owner is not None:
            start = owner
        if start > 0 and not _clause_boundary(doc[start - 1]):
            return None
        if doc[emotion.start].is_title and not _sentence_start(doc, start):
            return None
        possessed = owner is not None or any(t.lower_ in lx.POSSESSIVES for t in doc[start : emotion.start])
        if possessed and self.names_an_emotion_noun(doc, emotion):
            return start  # "Her jealousy was a small hard thing", "his anger at the council lasted"
        k = emotion.end
        while k < len(doc) and k - emotion.end < 3 and (doc[k].lower_ in lx.AUXILIARIES or doc[k].lower_.endswith("ly")):
            k += 1
        if k >= len(doc) or (doc[k].lemma_ not in lx.MOTION_VERBS and doc[k].lower_ not in lx.MOTION_VERBS):
            return None
        return start if self._person_object(doc, k + 1) else None

    def causatives(self, doc: Doc, emotions: dict[int, EmotionSpan]) -> Iterator[tuple[int, EmotionSpan]]:
        """ "left the whole street stunned", "made the children happy", "left Mara shaken": a causative
        whose object is a person, a group or a name (pronoun objects are trigger phrases)."""
        for verb, token in enumerate(doc):
            if token.lemma_ not in lx.MAKE_VERBS:
                continue
            k = verb + 1
            while k < len(doc) and k - verb <= 3 and (doc[k].lower_ in _DETERMINERS or doc[k].lower_ in self.adjectives):
                k += 1
            if k >= len(doc):
                continue
            obj = doc[k]
            named = obj.is_title and obj.is_alpha and obj.lower_ not in lx.NOT_SUBJECTS and obj.lower_ not in lx.DAYS_AND_MONTHS
            if not (named or is_person_noun(obj)):
                continue
            emotion = emotions.get(_skip(doc, k + 1, lx.INTENSIFIERS))
            if emotion is not None:
                yield verb, emotion

    def _possessor(self, doc: Doc, start: int) -> int | None:
        """Where a person's possessive before ``start`` begins: "Mara's", "Mrs Okafor's", "the old man's"."""
        if start < 2 or doc[start - 1].lower_ not in ("'s", "’s", "'", "’"):
            return None
        owner = start - 2
        token = doc[owner]
        if token.is_title and token.is_alpha and token.lower_ not in lx.NOT_SUBJECTS and token.lower_ not in lx.DAYS_AND_MONTHS:
            while owner > 0 and doc[owner - 1].is_title and doc[owner - 1].is_alpha and not _sentence_start(doc, owner):
                owner -= 1  # "Mrs Okafor's"
            if _sentence_start(doc, owner) and doc[owner].lower_ in lx.NOT_SUBJECTS:
                return None
            return owner
        if not is_person_noun(token):
            return None
        while owner > 0 and start - owner < 5 and (doc[owner - 1].lower_ in _DETERMINERS or doc[owner - 1].lower_ in self.adjectives):
            owner -= 1  # "the old man's"
        return owner

    def _person_object(self, doc: Doc, k: int) -> bool:
        """A person after a motion verb: "her", "in her chest", "up on her", "the village" (not "her coat")."""
        start = k
        while k < len(doc) and doc[k].lower_ in lx.MOTION_PARTICLES and k - start < 2:
            k += 1
        if k >= len(doc):
            return False
        word = doc[k].lower_
        following = doc[k + 1] if k + 1 < len(doc) else None
        if word in ("me", "him", "us", "them", "you"):
            return True
        if word in lx.POSSESSIVES:
            return following is None or following.lower_ in lx.BODY_WORDS or not self.is_noun(following)
        if word in ("the", "a", "an") and following is not None:
            return following.lemma_ in lx.PERSON_NOUNS or following.lower_ in lx.COMMUNITIES
        return doc[k].is_title and doc[k].is_alpha and word not in lx.NOT_SUBJECTS


def is_person_noun(token) -> bool:
    """A noun for a person or for people: "nurse", "caretaker", "florist", "the village"."""
    lower = token.lower_
    if token.lemma_ in lx.PERSON_NOUNS or lower in lx.COMMUNITIES:
        return True
    return token.is_alpha and lower.endswith(lx.PERSON_ENDINGS) and lower not in lx.NOT_PERSON_ENDINGS


def _clause_boundary(token) -> bool:
    return (
        token.text in _QUOTES
        or token.text[-1] in _SENTENCE_END
        or token.text in (",", ";")
        or token.lower_ in lx.CLAUSE_CONJUNCTIONS
    )


@functools.lru_cache(maxsize=4)
def matchers(phrases: frozenset[str]) -> Matchers:
    """The matchers for one vocabulary (a manifest's lexicon); built once per process."""
    return Matchers(language(), phrases)


_WHITESPACE_RUN = re.compile(r"\s{2,}|[^\S ]")


def fold_whitespace(body: str) -> tuple[str, list[int] | None]:
    """``body`` with every run of whitespace made one space, and where each character came from.

    A hard line wrap ("she felt\nnervous") or a double space would otherwise be a token of its
    own between the words of a construction. The map has one entry per character of the folded
    text plus its end; None when nothing was folded.
    """
    if not _WHITESPACE_RUN.search(body):
        return body, None
    parts: list[str] = []
    offsets: list[int] = []
    position = 0
    for match in _WHITESPACE_RUN.finditer(body):
        parts.append(body[position : match.start()])
        offsets.extend(range(position, match.start()))
        parts.append(" ")
        offsets.append(match.start())
        position = match.end()
    parts.append(body[position:])
    offsets.extend(range(position, len(body) + 1))
    return "".join(parts), offsets


def analyze_stream(bodies: Iterable[str], lexicon: Lexicon, batch_size: int = 128) -> Iterator[Analysis]:
    """Tokenize, lemmatize and match every body, in order, one Doc alive at a time.

    Whitespace is folded first (``fold_whitespace``); spans still index the body as given.
    """
    m = matchers(lexicon.phrases)
    folded = (fold_whitespace(body) for body in bodies)
    pending: deque[list[int] | None] = deque()

    def texts() -> Iterator[str]:
        for text, offsets in folded:
            pending.append(offsets)
            yield text

    for doc in m.nlp.pipe(texts(), batch_size=batch_size):
        yield m.analyze(doc, pending.popleft())


def anchor_lemmas(anchor: str) -> list[str]:
    """The lemmas an anchor is matched by, without a leading article: "the back rows" -> back, row."""
    lemmas = [t.lemma_ for t in language()(anchor) if not t.is_space]
    while len(lemmas) > 1 and lemmas[0] in ("the", "a", "an"):
        lemmas = lemmas[1:]
    return lemmas
